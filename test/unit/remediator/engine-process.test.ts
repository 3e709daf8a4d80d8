// The remediator as `warren remediator` runs it: the inbox writer in a worker thread, the engine in
// a child process that loads the configuration itself, reached only through its client. Same HTTP
// contract as webhook.test.ts; here what matters is that every call crosses to the engine process,
// the state lands in the state file, and the engine process never outlives the remediator.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.ts';
import { isWarrenError } from '../../../src/errors.ts';
import { createRemediatorApp, type RemediatorApp } from '../../../src/remediator/app.ts';
import { Inbox, inboxFileFor } from '../../../src/remediator/inbox.ts';
import { RemediationStore } from '../../../src/remediator/store.ts';
import { parseExposition } from '../../support/exposition.ts';
import { alert, payload, silentLogger, waitFor } from './support.ts';

const TOKEN = 'engine-process-test-token';
let dir: string;
const apps: RemediatorApp[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-engine-process-'));
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close(0);
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(stateFile: string, extra = ''): string {
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
${extra}`,
  );
  return file;
}

function separateApp(file: string, overrides: { mode?: string } = {}): RemediatorApp {
  const env = { HOOK_TOKEN: TOKEN };
  const app = createRemediatorApp({ config: loadConfigFile(file, { env }), logger: silentLogger, separateEngine: { source: { explicit: file, env, cwd: dir }, overrides } });
  apps.push(app);
  return app;
}

const auth = { authorization: `Bearer ${TOKEN}` };

/** The nice value of every thread of a process (Linux /proc). */
function threadNiceValues(pid: number | 'self'): number[] {
  const tasks = readdirSync(`/proc/${pid}/task`);
  // Field 19 of stat; the command name (field 2) may hold spaces, so count from its closing parenthesis.
  return tasks.map((task) => Number(readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the engine in a process of its own', () => {
  it('acknowledges, routes and acts on deliveries, and serves the API and metrics across the process', async () => {
    const stateFile = join(dir, 'state.db');
    const app = separateApp(writeConfig(stateFile), { mode: 'dry_run' });
    await app.start();
    // Every thread of the engine process, and none of this one, yields the CPU to the acknowledgement path.
    const base = getPriority();
    const enginePid = app.enginePid!;
    expect(enginePid).toBeGreaterThan(0);
    expect(new Set(threadNiceValues('self'))).toEqual(new Set([base]));
    expect(new Set(threadNiceValues(enginePid))).toEqual(new Set([Math.min(19, base + 10)]));
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
    // Both processes report themselves: process_* the HTTP side, warren_remediation_engine_process_* the engine's.
    const samples = parseExposition(metrics.text);
    const sample = (name: string) => samples.find((entry) => entry.name === name)?.value ?? Number.NaN;
    const engineRss = sample('warren_remediation_engine_process_resident_memory_bytes');
    const measuredRss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${enginePid}/status`, 'utf8'))?.[1]) * 1024;
    expect(engineRss).toBeGreaterThan(measuredRss / 2);
    expect(engineRss).toBeLessThan(measuredRss * 2);
    expect(sample('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample('warren_remediation_engine_process_start_time_seconds')).toBeGreaterThanOrEqual(sample('process_start_time_seconds'));
    await app.close(0);
    expect(isRunning(enginePid)).toBe(false);

    // Everything was written by the engine process's own connection to the state file.
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
    const app = separateApp(writeConfig(blocked));
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

  it('refuses injected dependencies, which cannot cross into the engine process', () => {
    const file = writeConfig(join(dir, 'x.db'));
    expect(() =>
      createRemediatorApp({ config: loadConfigFile(file, { env: { HOOK_TOKEN: TOKEN } }), logger: silentLogger, separateEngine: { source: { explicit: file, env: { HOOK_TOKEN: TOKEN }, cwd: dir }, overrides: {} }, store: new RemediationStore(':memory:') }),
    ).toThrow(/inject them only into an engine in this thread/);
  });

  // Real processes start, stop and flush: on a loaded machine that takes longer than a unit test's 5 s.
  describe('warren remediator, as a process', { timeout: 30_000 }, () => {
    /** Starts the command in a process group of its own; resolves with it and its engine's pid once it listens. */
    /** `until`: the log line to wait for; `waiting` is an engine waiting for another's state file. */
    async function startCommand(extraConfig = '', until: 'listening' | 'waiting' = 'listening'): Promise<{ pid: number; enginePid: number; url: string; exited: Promise<number | string | null>; log: string[] }> {
      const file = writeConfig(join(dir, 'state.db'), extraConfig);
      const child = spawn(process.execPath, [join(import.meta.dirname, '../../../bin/warren.js'), 'remediator', '--config', file, '--listen', '127.0.0.1:0'], {
        env: { ...process.env, HOOK_TOKEN: TOKEN },
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      });
      const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
      const lines = createInterface({ input: child.stderr! });
      const log: string[] = [];
      const listening = await new Promise<{ enginePid?: number; url: string }>((resolve, reject) => {
        lines.on('line', (line) => {
          log.push(line);
          if (until === 'listening' && line.includes('"remediator listening"')) resolve(JSON.parse(line) as { enginePid?: number; url: string });
          if (until === 'waiting' && line.includes('another engine holds the state file')) resolve({ enginePid: -1, url: '' });
        });
        void exited.then((code) => reject(new Error(`warren remediator exited (${code}) before listening:\n${log.join('\n')}`)));
      });
      if (until === 'listening') expect(listening.enginePid).toBeGreaterThan(0);
      return { pid: child.pid!, enginePid: listening.enginePid!, url: listening.url, exited, log };
    }

    it('stops its engine process when it is killed with SIGKILL', async () => {
      const { pid, enginePid, exited } = await startCommand();
      expect(isRunning(enginePid)).toBe(true);
      process.kill(pid, 'SIGKILL');
      await exited;
      // No parent left to close it: the engine process notices its channel closed and ends by itself.
      expect(await waitFor(() => !isRunning(enginePid), 10_000)).toBe(true);
    });

    it('acknowledging after the write, a delivery is committed before its 200: it survives the process being killed at once', async () => {
      const { pid, enginePid, url, exited } = await startCommand('  acknowledge_after: write\n');
      const answer = await fetch(`${url}/api/v1/alerts`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(payload([alert({ alertname: 'Survives' })])),
      });
      expect(answer.status).toBe(200);
      process.kill(pid, 'SIGKILL');
      await exited;
      expect(await waitFor(() => !isRunning(enginePid), 10_000)).toBe(true);
      // In the inbox still, or already routed into the state file: either way the next start has it.
      const stateFile = join(dir, 'state.db');
      const inbox = new Inbox(inboxFileFor(stateFile));
      const store = new RemediationStore(stateFile);
      try {
        const inInbox = JSON.parse(inbox.next(0)?.payload ?? '{"alerts":[]}') as { alerts: { labels: { alertname: string } }[] };
        const routed = store.listActions().map((action) => action.alert.labels.alertname);
        expect([...inInbox.alerts.map((a) => a.labels.alertname), ...routed]).toContain('Survives');
      } finally {
        inbox.close();
        store.close();
      }
    });

    it.each(['write', 'flush'] as const)('acknowledging after the %s, a failed flush stops the remediator (fatal, exit 1) rather than acknowledge what may not be on disk', async (acknowledgeAfter) => {
      const { enginePid, url, exited, log } = await startCommand(`  acknowledge_after: ${acknowledgeAfter}\n`);
      const post = () =>
        fetch(`${url}/api/v1/alerts`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(payload([alert({ alertname: 'Flushed' })])) });
      expect((await post()).status).toBe(200);
      // The inbox's log vanishes under SQLite: the flush that follows the next commit finds it gone.
      rmSync(join(dir, 'state.inbox.db-wal'));
      const next = await post().catch(() => undefined); // cut off as the process stops, or answered
      if (acknowledgeAfter === 'flush' && next) expect(next.status).toBe(500); // never a 200 for what was not flushed
      expect(await exited).toBe(1);
      expect(await waitFor(() => !isRunning(enginePid), 10_000)).toBe(true);
      const fatal = log.map((line) => JSON.parse(line) as { level: number; err?: string }).filter((entry) => entry.level === 60);
      expect(fatal.some((entry) => /the inbox's log could not be flushed to disk: .*(ENOENT|removed while in use)/.test(entry.err ?? ''))).toBe(true);
    });

    it('a second remediator on the same state file waits for the first, and Ctrl-C ends that wait at once and cleanly', async () => {
      const first = await startCommand();
      const second = await startCommand('', 'waiting');
      const started = performance.now();
      process.kill(-second.pid, 'SIGINT');
      const exit = await second.exited;
      expect(exit, second.log.join('\n')).toBe(0);
      expect(performance.now() - started).toBeLessThan(5_000);
      const entries = second.log.map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(entries.filter((entry) => entry.level >= 50)).toEqual([]);
      // The first never noticed.
      expect((await fetch(`${first.url}/api/v1/status`, { headers: auth })).status).toBe(200);
      process.kill(-first.pid, 'SIGINT');
      expect(await first.exited).toBe(0);
    });

    it('shuts down in order on Ctrl-C to its process group: the engine process ignores the signal and is closed by its parent', async () => {
      const { pid, enginePid, exited, log } = await startCommand();
      process.kill(-pid, 'SIGINT');
      const exit = await exited;
      expect(exit, log.join('\n')).toBe(0);
      expect(await waitFor(() => !isRunning(enginePid), 10_000)).toBe(true);
      const entries = log.map((line) => JSON.parse(line) as { level: number; msg: string; signal?: string });
      expect(entries.find((entry) => entry.msg.startsWith('remediator stopping'))?.signal).toBe('SIGINT');
      // Nothing died on the way: no engine process that "stopped working", no error.
      expect(entries.filter((entry) => entry.level >= 50)).toEqual([]);
    });
  });
});
