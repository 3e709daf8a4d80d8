// The remediator against the real stack: sync_queue repairing a real unsynchronised mirrored queue,
// the real Alertmanager delivering a real alert over its authenticated webhook, and a real
// `warren remediator` process killed with an action in flight.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfigText } from '../../src/config/load.ts';
import { LOCAL_HOST, LOCAL_NODES, LOCAL_PORTS, localRemediatorTokenFile, localStackDir } from '../../src/config/local-stack.ts';
import type { WarrenConfig } from '../../src/config/types.ts';
import { listen, type RunningServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logging.ts';
import { ManagementClient } from '../../src/rabbitmq/management/client.ts';
import { createRemediatorApp, type RemediatorApp } from '../../src/remediator/app.ts';
import type { ActionRecord } from '../../src/remediator/store.ts';
import { blackHole, brokerFacts, REPO_ROOT, waitFor } from './support.ts';
import { local } from '../unit/remediator/support.ts';

const VHOST = 'warren-remediator-test';
const TOKEN_FILE = localRemediatorTokenFile(localStackDir(process.env, REPO_ROOT));
const logLines: string[] = [];
const logger = createLogger('info', { write: (line: string) => logLines.push(line) } as unknown as NodeJS.WritableStream);

/** warren.yml for the local stack with the given `remediation` section (indented two spaces). */
function configText(remediation: string): string {
  const nodes = LOCAL_NODES.map((node) => `      - { name: ${node.name}, management_url: "http://${LOCAL_HOST}:${node.managementPort}", prometheus_url: "http://${LOCAL_HOST}:${node.prometheusPort}" }`).join('\n');
  return `
clusters:
  local:
    management: { username: guest, password: guest }
    cli: { bin_dir: /usr/lib/rabbitmq/bin }
    nodes:
${nodes}
remediation:
${remediation}
`;
}

const config = (remediation: string, env: NodeJS.ProcessEnv = {}): WarrenConfig => parseConfigText(configText(remediation), join(REPO_ROOT, 'remediator-test.yml'), { env });

const SYNC_RULES = `
  default_rules: false
  verify_interval: 500ms
  rules:
    - name: sync-mirrors
      matchers: ['fault="mirror_unsynchronised"']
      strategies:
        - { strategy: sync_queue, params: { vhost: '{{ $labels.vhost }}', queue: '{{ $labels.queue }}' }, verify_timeout: 60s }
        - { strategy: notify_only }
`;

const base = config(`  mode: dry_run\n${SYNC_RULES}`);
const facts = await brokerFacts();
const api = new ManagementClient(base.clusters.get('local')!);
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-remediator-it-'));
  await api.request(`/api/vhosts/${encodeURIComponent(VHOST)}`, { method: 'DELETE', schema: z.unknown(), answerStatuses: [404] }).catch(() => undefined);
  await api.request(`/api/vhosts/${encodeURIComponent(VHOST)}`, { method: 'PUT', body: {}, schema: z.unknown() });
  await api.request(`/api/permissions/${encodeURIComponent(VHOST)}/guest`, { method: 'PUT', body: { configure: '.*', write: '.*', read: '.*' }, schema: z.unknown() });
});

afterAll(async () => {
  await api.request(`/api/vhosts/${encodeURIComponent(VHOST)}`, { method: 'DELETE', schema: z.unknown() }).catch(() => undefined);
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(app: RemediatorApp, port = 0): Promise<RunningServer> {
  const server = await listen(app.handle, { address: '127.0.0.1', port });
  await app.start();
  return server;
}

async function postAlerts(server: RunningServer, token: string | undefined, alerts: unknown[]): Promise<{ status: number; body: { delivery?: number; alerts?: number } }> {
  const response = await fetch(`${server.url}/api/v1/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ version: '4', status: 'firing', receiver: 'test', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: '', alerts }),
  });
  return { status: response.status, body: (await response.json()) as { delivery?: number } };
}

/** The id of the action created for an alert episode, once the accepted delivery has been routed. */
async function actionFor(baseUrl: string, fingerprint: string, token?: string, startsAt?: string): Promise<number> {
  let found: number | undefined;
  const routed = async () => {
    const response = await fetch(`${baseUrl}/api/v1/actions?fingerprint=${fingerprint}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const { actions } = (await response.json()) as { actions: ActionRecord[] };
    found = actions.find((a) => startsAt === undefined || a.alert.startsAt === new Date(startsAt).toISOString())?.id;
    return found !== undefined;
  };
  expect(await waitFor(routed, 10_000, 100)).toBe(true);
  return found as number;
}

async function getAction(baseUrl: string, id: number, token?: string): Promise<ActionRecord> {
  const response = await fetch(`${baseUrl}/api/v1/actions/${id}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return (await response.json()) as ActionRecord;
}

async function mirrorState(queue: string): Promise<{ mirrors: string[]; synchronised: string[] }> {
  const { data } = await api.queue(VHOST, queue);
  return { mirrors: data.slave_nodes ?? [], synchronised: data.synchronised_slave_nodes ?? [] };
}

/** A classic queue with 20 messages and, added afterwards, one mirror in manual sync mode: unsynchronised. */
async function unsynchronisedMirroredQueue(queue: string): Promise<void> {
  await api.request(`/api/queues/${encodeURIComponent(VHOST)}/${queue}`, { method: 'PUT', body: { durable: true }, schema: z.unknown() });
  for (let i = 0; i < 20; i++) {
    await api.request(`/api/exchanges/${encodeURIComponent(VHOST)}/amq.default/publish`, {
      method: 'POST',
      body: { properties: { delivery_mode: 2 }, routing_key: queue, payload: `m${i}`, payload_encoding: 'string' },
      schema: z.unknown(),
    });
  }
  await api.request(`/api/policies/${encodeURIComponent(VHOST)}/${queue}`, {
    method: 'PUT',
    body: { pattern: `^${queue}$`, 'apply-to': 'queues', definition: { 'ha-mode': 'exactly', 'ha-params': 2, 'ha-sync-mode': 'manual' } },
    schema: z.unknown(),
  });
  const unsynchronised = async () => {
    const state = await mirrorState(queue);
    return state.mirrors.length === 1 && state.synchronised.length === 0;
  };
  expect(await waitFor(unsynchronised, 30_000, 500)).toBe(true);
}

const firing = (labels: Record<string, string>, fingerprint: string, startsAt = new Date().toISOString()) => ({
  status: 'firing',
  labels,
  annotations: { summary: 'integration test' },
  startsAt,
  endsAt: '0001-01-01T00:00:00Z',
  fingerprint,
});

// Classic mirroring was removed in RabbitMQ 4.0; there the strategy's refusal is a unit test.
describe.runIf(facts.capabilities.classicMirroring)('sync_queue on a real mirrored queue', () => {
  it('dry-run plans the exact API call and changes nothing', async () => {
    const queue = 'dry-run-mirror';
    await unsynchronisedMirroredQueue(queue);
    const app = createRemediatorApp({ config: base, logger, settings: { ...base.remediation, stateFile: join(dir, 'dry.db') } });
    const server = await serve(app);
    try {
      const { status } = await postAlerts(server, undefined, [firing({ alertname: 'MirrorUnsynchronised', fault: 'mirror_unsynchronised', vhost: VHOST, queue }, '1111111111111111')]);
      expect(status).toBe(200);
      const id = await actionFor(server.url, '1111111111111111');
      expect(await waitFor(async () => (await getAction(server.url, id)).state === 'planned', 30_000, 200)).toBe(true);
      const action = await getAction(server.url, id);
      expect(action.steps.find((s) => s.phase === 'plan')?.command).toBe(`POST /api/queues/${encodeURIComponent(VHOST)}/${queue}/actions {"action":"sync"}`);
      expect(action.steps.find((s) => s.phase === 'precheck')?.status).toBe('ok');
      expect((await mirrorState(queue)).synchronised).toEqual([]);
    } finally {
      await server.close();
      await app.close();
    }
  });

  it('enforce synchronises the mirror, verifies it, and records before and after', async () => {
    const queue = 'enforce-mirror';
    await unsynchronisedMirroredQueue(queue);
    const token = 'integration-token';
    const enforcing = config(`  mode: enforce\n  auth: { bearer_token_env: TEST_TOKEN }\n${SYNC_RULES}`, { TEST_TOKEN: token });
    const app = createRemediatorApp({ config: enforcing, logger, settings: { ...enforcing.remediation, stateFile: join(dir, 'enforce.db') } });
    const server = await serve(app);
    try {
      const alert = firing({ alertname: 'MirrorUnsynchronised', fault: 'mirror_unsynchronised', vhost: VHOST, queue, cluster: 'local' }, '2222222222222222');
      expect((await postAlerts(server, undefined, [alert])).status).toBe(401);
      const { status } = await postAlerts(server, token, [alert]);
      expect(status).toBe(200);
      const id = await actionFor(server.url, '2222222222222222', token);
      // An HA peer's duplicate while the action runs changes nothing.
      expect((await postAlerts(server, token, [alert])).status).toBe(200);
      expect(await waitFor(async () => local(app).engine.stats.deduplicated === 1, 10_000, 100)).toBe(true);
      expect(await waitFor(async () => ['succeeded', 'failed', 'blocked'].includes((await getAction(server.url, id, token)).state), 90_000, 500)).toBe(true);
      const action = await getAction(server.url, id, token);
      expect(action.state, JSON.stringify(action.steps)).toBe('succeeded');
      expect(action.steps.map((s) => `${s.strategy}:${s.phase}:${s.status}`)).toEqual(['sync_queue:precheck:ok', 'sync_queue:plan:planned', 'sync_queue:execute:ok', 'sync_queue:verify:ok']);
      expect(action.before).toMatchObject({ unsynchronised: [expect.stringMatching(/@localhost$/)] });
      expect(action.after).toMatchObject({ unsynchronised: [] });
      const state = await mirrorState(queue);
      expect(state.synchronised).toEqual(state.mirrors);
      expect(state.mirrors).toHaveLength(1);

      // The next episode of the same fault on the same queue is within the cooldown.
      const later = firing(alert.labels, '2222222222222222', new Date(Date.now() + 1000).toISOString());
      await postAlerts(server, token, [later]);
      const next = await actionFor(server.url, '2222222222222222', token, later.startsAt);
      expect(await waitFor(async () => (await getAction(server.url, next, token)).state === 'skipped', 10_000, 200)).toBe(true);
      expect((await getAction(server.url, next, token)).reason).toMatch(/^cooldown/);

      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain('warren_remediation_actions_total{strategy="sync_queue",result="succeeded"} 1');
      expect(metrics).toContain('warren_remediation_skips_total{reason="cooldown"} 1');
      expect(metrics).not.toContain(token);
      expect(logLines.join('')).not.toContain(token);
    } finally {
      await server.close();
      await app.close();
    }
  });
});

describe('with the real Alertmanager', () => {
  it('routes a real alert to the authenticated webhook, which records and acts on it', async () => {
    const token = readFileSync(TOKEN_FILE, 'utf8').trim();
    const marker = `e2e_${Date.now()}`;
    const cfg = config(
      `  mode: enforce\n  auth: { bearer_token_file: ${TOKEN_FILE} }\n  default_rules: false\n  rules:\n    - { name: e2e, matchers: ['fault="${marker}"'], strategies: [{ strategy: notify_only }] }\n`,
    );
    const app = createRemediatorApp({ config: cfg, logger, settings: { ...cfg.remediation, stateFile: join(dir, 'am.db') } });
    const server = await serve(app, LOCAL_PORTS.remediator);
    const alertmanager = `http://${LOCAL_HOST}:${LOCAL_PORTS.alertmanager}`;
    const labels = { alertname: 'WarrenRemediatorE2E', fault: marker, cluster: 'local', severity: 'warning' };
    try {
      const sent = await fetch(`${alertmanager}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ labels, annotations: { summary: 'warren integration test' }, startsAt: new Date().toISOString() }]),
      });
      expect(sent.status).toBe(200);
      // group_wait is 10s in alerting/alertmanager.yml.
      const delivered = async () => local(app).store.listActions({ alertname: 'WarrenRemediatorE2E' }).some((a) => a.alert.labels.fault === marker && a.state === 'succeeded');
      expect(await waitFor(delivered, 90_000, 500)).toBe(true);
      const [action] = local(app).store.listActions({ alertname: 'WarrenRemediatorE2E' }).filter((a) => a.alert.labels.fault === marker);
      expect(action).toMatchObject({ rule: 'e2e', receiver: 'warren-remediator', cluster: 'local' });
      expect(action?.alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      // The engine may finish a notify_only action before the delivery's flush completes and its 200 is
      // counted (the action only needs the commit), so wait for the answer too.
      let metrics = '';
      const answered = async () => /^warren_remediation_webhook_requests_total\{code="200"\} [1-9]/m.test((metrics = await (await fetch(`${server.url}/metrics`)).text()));
      expect(await waitFor(answered, 10_000, 100)).toBe(true);
      expect(metrics).not.toContain('warren_remediation_webhook_requests_total{code="401"}');
      expect(token.length).toBeGreaterThan(20);
    } finally {
      // Resolve it in Alertmanager so the next run starts clean.
      await fetch(`${alertmanager}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ labels, startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: new Date().toISOString() }]),
      }).catch(() => undefined);
      await server.close();
      await app.close();
    }
  });
});

describe('silences in the real Alertmanager', () => {
  it('skips an alert an active silence covers, acts on one it does not, and refuses to act when it cannot ask', async () => {
    const alertmanager = `http://${LOCAL_HOST}:${LOCAL_PORTS.alertmanager}`;
    const marker = `silence_${Date.now()}`;
    const created = await fetch(`${alertmanager}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ name: 'fault', value: marker, isRegex: false, isEqual: true }, { name: 'queue', value: 'held-.*', isRegex: true, isEqual: true }],
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 10 * 60_000).toISOString(),
        createdBy: 'warren-integration-test',
        comment: 'operator is working on it',
      }),
    });
    expect(created.status).toBe(200);
    const { silenceID } = (await created.json()) as { silenceID: string };
    const rules = `  default_rules: false\n  rules:\n    - { name: silenced, matchers: ['fault="${marker}"'], strategies: [{ strategy: notify_only }] }\n`;
    const checking = config(`  mode: dry_run\n  alertmanager: { url: "${alertmanager}", check_silences: true }\n${rules}`);
    const app = createRemediatorApp({ config: checking, logger, settings: { ...checking.remediation, stateFile: join(dir, 'silences.db') } });
    const server = await serve(app);
    const hole = await blackHole();
    const unreachable = config(`  mode: dry_run\n  alertmanager: { url: "http://127.0.0.1:${hole.port}", check_silences: true, timeout: 1s }\n${rules}`);
    const blind = createRemediatorApp({ config: unreachable, logger, settings: { ...unreachable.remediation, stateFile: join(dir, 'blind.db') } });
    const blindServer = await serve(blind);
    try {
      await postAlerts(server, undefined, [
        firing({ alertname: 'Silenced', fault: marker, queue: 'held-orders' }, '4444444444444444'),
        firing({ alertname: 'Silenced', fault: marker, queue: 'other' }, '5555555555555555'),
      ]);
      const held = await actionFor(server.url, '4444444444444444');
      const free = await actionFor(server.url, '5555555555555555');
      const settled = async () => !['pending', 'running'].includes((await getAction(server.url, held)).state) && !['pending', 'running'].includes((await getAction(server.url, free)).state);
      expect(await waitFor(settled, 15_000, 200)).toBe(true);
      expect(await getAction(server.url, held)).toMatchObject({ state: 'skipped', reason: expect.stringContaining(`silenced: Alertmanager silence ${silenceID} by warren-integration-test`) });
      expect((await getAction(server.url, free)).state).toBe('planned');

      await postAlerts(blindServer, undefined, [firing({ alertname: 'Silenced', fault: marker, queue: 'x' }, '6666666666666666')]);
      const blindAction = await actionFor(blindServer.url, '6666666666666666');
      expect(await waitFor(async () => (await getAction(blindServer.url, blindAction)).state === 'skipped', 15_000, 200)).toBe(true);
      expect((await getAction(blindServer.url, blindAction)).reason).toMatch(/^silence_check_failed/);
    } finally {
      await fetch(`${alertmanager}/api/v2/silence/${silenceID}`, { method: 'DELETE' }).catch(() => undefined);
      await server.close();
      await app.close();
      await blindServer.close();
      await blind.close();
      await hole.close();
    }
  });
});

describe('a real remediator process', () => {
  it('killed with an action in flight reports it interrupted after the restart and never re-runs it', async () => {
    const hole = await blackHole(); // the escalation webhook hangs: notify_only stays in flight
    const port = 19420 + Math.floor(Math.random() * 500);
    const stateFile = join(dir, 'process.db');
    const file = join(dir, 'warren.yml');
    writeFileSync(
      file,
      configText(`  mode: enforce
  listen_address: 127.0.0.1:${port}
  state_file: ${stateFile}
  auth: { bearer_token_env: TEST_TOKEN }
  escalation_webhook: { url: "http://127.0.0.1:${hole.port}/hook", timeout: 60s }
  default_rules: false
  rules:
    - { name: notify, matchers: ['fault="process_test"'], strategies: [{ strategy: notify_only, execute_timeout: 2m }] }
`),
    );
    const token = 'process-token';
    const start = (): ChildProcess => spawn(join(REPO_ROOT, 'bin/warren.js'), ['remediator', '--config', file], { env: { ...process.env, TEST_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'] });
    const url = `http://127.0.0.1:${port}`;
    const up = async () => (await fetch(`${url}/-/ready`)).ok;
    let child = start();
    try {
      expect(await waitFor(up, 20_000, 200)).toBe(true);
      const response = await fetch(`${url}/api/v1/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ version: '4', status: 'firing', receiver: 'r', alerts: [firing({ alertname: 'ProcessTest', fault: 'process_test' }, '3333333333333333')] }),
      });
      expect(response.status).toBe(200);
      const id = await actionFor(url, '3333333333333333', token);
      expect(await waitFor(async () => (await getAction(url, id, token)).state === 'running', 10_000, 100)).toBe(true);
      // Only the remediator's own process is killed, as a crash would end it: its engine, a child
      // process, is orphaned and takes a few seconds to abort the action and stop.
      const [orphanedEngine] = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      expect(orphanedEngine).toBeGreaterThan(0);
      child.kill('SIGKILL');
      await once(child, 'exit');

      // Restarted at once, as a supervisor would: the new engine waits for the orphan to let go of
      // the state file, so it never reports as interrupted an action that still runs.
      child = start();
      const stderr: string[] = [];
      child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
      expect(await waitFor(up, 20_000, 200)).toBe(true);
      const action = await getAction(url, id, token);
      expect(stderr.join('')).toContain('another engine holds the state file');
      // Gone, or a zombie: its parent is dead, and whoever adopted it may not reap it at once.
      const state = (() => {
        try {
          return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${orphanedEngine}/stat`, 'utf8'))?.[1];
        } catch {
          return 'gone';
        }
      })();
      expect(['gone', 'Z', 'X']).toContain(state);
      expect(action.state).toBe('interrupted');
      expect(action.reason).toMatch(/not re-run/);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      // The orphaned engine recorded (and escalated) it before it let go; the new one only reads it.
      expect(metrics).toContain('warren_remediation_actions_by_state{state="interrupted"} 1');
      expect(metrics).not.toContain('result="interrupted"');
      // Alertmanager's retry of the same delivery after the restart is still a duplicate.
      const retry = await fetch(`${url}/api/v1/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ version: '4', status: 'firing', receiver: 'r', alerts: [firing({ alertname: 'ProcessTest', fault: 'process_test' }, '3333333333333333', action.alert.startsAt)] }),
      });
      expect(retry.status).toBe(200);
      const deduplicated = async () => (await (await fetch(`${url}/metrics`)).text()).includes('warren_remediation_alerts_deduplicated_total 1');
      expect(await waitFor(deduplicated, 10_000, 100)).toBe(true);
      // SIGTERM stops it although its escalation of the interrupted action is still unanswered.
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 15_000))]);
      expect(stopped, 'warren remediator did not exit after SIGTERM').toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit').catch(() => undefined);
      }
      await hole.close();
    }
  });
});
