// The remediator as `warren remediator` runs it: the engine in a worker thread that loads the
// configuration itself, reached only through its client. Same HTTP contract as webhook.test.ts;
// here what matters is that every call crosses the thread and the state lands in the state file.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.ts';
import { isWarrenError } from '../../../src/errors.ts';
import { createRemediatorApp, type RemediatorApp } from '../../../src/remediator/app.ts';
import { Inbox, inboxFileFor } from '../../../src/remediator/inbox.ts';
import { RemediationStore } from '../../../src/remediator/store.ts';
import { alert, payload, silentLogger } from './support.ts';

const TOKEN = 'thread-test-token';
let dir: string;
const apps: RemediatorApp[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-engine-thread-'));
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close(0);
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(stateFile: string): string {
  const file = join(dir, 'warren.yml');
  writeFileSync(
    file,
    `clusters:
  local:
    nodes:
      - { name: rabbit1@localhost, management_url: "http://127.0.0.1:15672" }
remediation:
  mode: enforce
  state_file: ${JSON.stringify(stateFile)}
  auth: { bearer_token_env: HOOK_TOKEN }
  default_rules: false
  rules:
    - { name: everything, matchers: ['alertname=~".+"'], strategies: [{ strategy: notify_only }] }
`,
  );
  return file;
}

function threadedApp(file: string, overrides: { mode?: string } = {}): RemediatorApp {
  const env = { HOOK_TOKEN: TOKEN };
  const app = createRemediatorApp({ config: loadConfigFile(file, { env }), logger: silentLogger, engineThread: { source: { explicit: file, env, cwd: dir }, overrides } });
  apps.push(app);
  return app;
}

const auth = { authorization: `Bearer ${TOKEN}` };

/** The nice value of every thread of this process, the main thread first (Linux /proc). */
function threadNiceValues(): number[] {
  const tasks = readdirSync('/proc/self/task').sort((a, b) => Number(a) - Number(b));
  // Field 19 of stat; the command name (field 2) may hold spaces, so count from its closing parenthesis.
  return tasks.map((task) => Number(readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]));
}

describe('the engine in a worker thread', () => {
  it('acknowledges, routes and acts on deliveries, and serves the API and metrics across the thread', async () => {
    const stateFile = join(dir, 'state.db');
    const app = threadedApp(writeConfig(stateFile), { mode: 'dry_run' });
    await app.start();
    // The engine's thread, and only it, yields the CPU to the acknowledgement path (Linux: nice is per thread).
    const base = getPriority();
    const nices = threadNiceValues();
    expect(nices[0]).toBe(base);
    if (base < 19) expect(nices.filter((nice) => nice === Math.min(19, base + 10))).toHaveLength(1);
    const body = JSON.stringify(payload([alert({ alertname: 'One', queue: 'a' }), alert({ alertname: 'Two', queue: 'b' })]));
    const answer = await request(app.handle).post('/api/v1/alerts').set(auth).set('content-type', 'application/json').send(body);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'accepted', delivery: 1, alerts: 2 });
    await app.engine.idle();

    const listed = await request(app.handle).get('/api/v1/actions').set(auth);
    expect(listed.body.actions.map((a: { alert: { labels: { alertname: string } }; state: string }) => [a.alert.labels.alertname, a.state])).toEqual([
      ['Two', 'planned'],
      ['One', 'planned'],
    ]);
    const one = await request(app.handle).get(`/api/v1/actions/${listed.body.actions[1].id}`).set(auth);
    expect(one.body.steps.map((s: { phase: string }) => s.phase)).toContain('plan');
    expect((await request(app.handle).post('/api/v1/actions/1/approve').set(auth)).status).toBe(409);
    expect((await request(app.handle).post('/api/v1/pause').set(auth)).body).toEqual({ paused: true });
    expect((await request(app.handle).get('/api/v1/status').set(auth)).body).toMatchObject({ mode: 'dry_run', paused: true, inbox: 0, actions: { planned: 2 } });
    const metrics = await request(app.handle).get('/metrics');
    expect(metrics.text).toContain('warren_remediation_webhook_requests_total{code="200"} 1');
    expect(metrics.text).toContain('warren_remediation_actions_total{strategy="notify_only",result="planned"} 2');
    expect(metrics.text).toContain('warren_remediation_paused 1');
    await app.close(0);

    // Everything was written by the worker's own connection to the state file.
    const store = new RemediationStore(stateFile);
    try {
      expect(store.listActions().map((a) => a.state)).toEqual(['planned', 'planned']);
      expect(store.getSetting('paused')).toBe('true');
    } finally {
      store.close();
    }
  });

  it('rejects start with the engine error when the state file cannot be opened; what arrives meanwhile waits in the inbox', async () => {
    const blocked = join(dir, 'is-a-directory.db');
    mkdirSync(blocked);
    const app = threadedApp(writeConfig(blocked));
    const started = await app.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isWarrenError(started, 'STATE_UNAVAILABLE')).toBe(true);
    expect(String((started as Error).message)).toContain('is-a-directory.db');
    expect(await app.failed).toBeInstanceOf(Error);
    // The inbox is a file of its own: the delivery is durably there for the next start to route.
    const answer = await request(app.handle).post('/api/v1/alerts').set(auth).set('content-type', 'application/json').send(JSON.stringify(payload([alert({ alertname: 'Later' })])));
    expect(answer.status).toBe(200);
    await app.close(0);
    const inbox = new Inbox(inboxFileFor(blocked));
    try {
      expect(JSON.parse(inbox.next(0)?.payload ?? '{}').alerts[0].labels.alertname).toBe('Later');
    } finally {
      inbox.close();
    }
  });

  it('refuses injected dependencies, which cannot cross into the thread', () => {
    const file = writeConfig(join(dir, 'x.db'));
    expect(() =>
      createRemediatorApp({ config: loadConfigFile(file, { env: { HOOK_TOKEN: TOKEN } }), logger: silentLogger, engineThread: { source: { explicit: file, env: { HOOK_TOKEN: TOKEN }, cwd: dir }, overrides: {} }, store: new RemediationStore(':memory:') }),
    ).toThrow(/inject them only into an engine in this thread/);
  });
});
