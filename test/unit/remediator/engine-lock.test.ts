// One engine per state file: a second waits for the first to let go (however the first ends) and
// refuses to start once its wait is over. Across real processes, since that is where it matters.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWarrenError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/logging.ts';
import { engineLockFileFor, holdEngineLock } from '../../../src/remediator/engine-lock.ts';
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
  const script = `import(${JSON.stringify(module)}).then(({ holdEngineLock }) => { globalThis.lock = holdEngineLock(${JSON.stringify(stateFile)}, { warn() {}, info() {} }, 0); process.stdout.write('held\\n'); setInterval(() => {}, 1000); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  expect(line.toString()).toBe('held\n');
  return child;
}

describe('holdEngineLock', () => {
  it('refuses a second engine once its wait is over, naming the file, and lets it in after a release', () => {
    const stateFile = join(dir, 'state.db');
    const first = holdEngineLock(stateFile, silentLogger, 0);
    let refused: unknown;
    try {
      holdEngineLock(stateFile, silentLogger, 300);
    } catch (error) {
      refused = error;
    }
    expect(isWarrenError(refused, 'STATE_UNAVAILABLE')).toBe(true);
    expect((refused as Error).message).toMatch(/state\.db is in use by another remediation engine .* stayed held for 0 s/);
    first?.release();
    const second = holdEngineLock(stateFile, silentLogger, 0);
    expect(second?.file).toBe(engineLockFileFor(stateFile));
    second?.release();
  });

  it('leaves the state file itself readable by others while held (sqlite3, backups)', () => {
    const stateFile = join(dir, 'state.db');
    const lock = holdEngineLock(stateFile, silentLogger, 0);
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
      expect(() => holdEngineLock(stateFile, silentLogger, 200)).toThrow(/in use by another remediation engine/);
      const lines: string[] = [];
      const logger = createLogger('info', new Writable({ write: (chunk, _encoding, done) => done(void lines.push(String(chunk))) }));
      // The wait below blocks this thread (SQLite's busy handler), so the kill comes from a timer in another process.
      spawn('sh', ['-c', `sleep 1; kill -9 ${holder.pid}`], { stdio: 'ignore' });
      const lock = holdEngineLock(stateFile, logger, 20_000);
      expect(holder.signalCode ?? (await exited)[1]).toBe('SIGKILL');
      expect(lines.join('')).toMatch(/another engine holds the state file .*waiting for it/);
      expect(lines.join('')).toMatch(/the other engine let go of the state file/);
      lock?.release();
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
