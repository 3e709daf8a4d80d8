// One engine per state file: a second waits for the first to let go (however the first ends), stops
// waiting when told to, and refuses to start once its wait is over. Across real processes, since
// that is where it matters.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWarrenError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/logging.ts';
import { acquireEngineLock, engineLockFileFor } from '../../../src/remediator/engine-lock.ts';
import { RemediationStore } from '../../../src/remediator/store.ts';
import { silentLogger } from './support.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-engine-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A child process that takes the lock, says so on stdout, and keeps it until it dies. */
async function holderProcess(stateFile: string) {
  const module = new URL('../../../src/remediator/engine-lock.ts', import.meta.url).href;
  const script = `import(${JSON.stringify(module)}).then(async ({ acquireEngineLock }) => { globalThis.lock = await acquireEngineLock(${JSON.stringify(stateFile)}, { warn() {}, info() {} }, { waitMs: 0 }); process.stdout.write('held\\n'); setInterval(() => {}, 1000); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  expect(line.toString()).toBe('held\n');
  return child;
}

function capturingLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger('info', new Writable({ write: (chunk, _encoding, done) => done(void lines.push(String(chunk))) })) };
}

describe('acquireEngineLock', () => {
  it('refuses a second engine once its wait is over, naming the file, and lets it in after a release', async () => {
    const stateFile = join(dir, 'state.db');
    const first = await acquireEngineLock(stateFile, silentLogger, { waitMs: 0 });
    const refused = await acquireEngineLock(stateFile, silentLogger, { waitMs: 300 }).then(() => undefined, (error: unknown) => error);
    expect(isWarrenError(refused, 'STATE_UNAVAILABLE')).toBe(true);
    expect((refused as Error).message).toMatch(/state\.db is in use by another remediation engine .* stayed held for 0 s/);
    first?.release();
    const second = await acquireEngineLock(stateFile, silentLogger, { waitMs: 0 });
    expect(second?.file).toBe(engineLockFileFor(stateFile));
    second?.release();
  });

  it('stops waiting at once when its signal aborts (a stop during startup)', async () => {
    const stateFile = join(dir, 'state.db');
    const first = await acquireEngineLock(stateFile, silentLogger, { waitMs: 0 });
    const stop = new AbortController();
    const started = performance.now();
    setTimeout(() => stop.abort(new Error('stopping')), 100);
    await expect(acquireEngineLock(stateFile, silentLogger, { waitMs: 20_000, signal: stop.signal })).rejects.toThrow('stopping');
    expect(performance.now() - started).toBeLessThan(5_000);
    first?.release();
  });

  it('leaves the state file itself readable by others while held (sqlite3, backups)', async () => {
    const stateFile = join(dir, 'state.db');
    const lock = await acquireEngineLock(stateFile, silentLogger, { waitMs: 0 });
    const store = new RemediationStore(stateFile);
    store.setSetting('k', 'v');
    const reader = new RemediationStore(stateFile);
    expect(reader.getSetting('k')).toBe('v');
    reader.close();
    store.close();
    lock?.release();
  });

  it('waits for an engine in another process, logs that it waits, and starts once that process is killed', async () => {
    const stateFile = join(dir, 'state.db');
    const holder = await holderProcess(stateFile);
    const exited = once(holder, 'exit');
    try {
      await expect(acquireEngineLock(stateFile, silentLogger, { waitMs: 200 })).rejects.toThrow(/in use by another remediation engine/);
      const { lines, logger } = capturingLogger();
      let killedAt = Number.POSITIVE_INFINITY;
      setTimeout(() => {
        killedAt = performance.now();
        holder.kill('SIGKILL');
      }, 1_000);
      const lock = await acquireEngineLock(stateFile, logger, { waitMs: 20_000 });
      expect(performance.now()).toBeGreaterThanOrEqual(killedAt);
      expect((await exited)[1]).toBe('SIGKILL');
      expect(lines.join('')).toMatch(/another engine holds the state file .*waiting for it/);
      expect(lines.join('')).toMatch(/the other engine let go of the state file/);
      lock?.release();
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
