// One engine per state file. Two engines on one file would each believe their own target locks, and
// the second would report the first's running actions interrupted while they still run: a
// supervisor restarting a killed remediator at once starts a new engine next to the old one, which
// is still finishing (or aborting) its actions for a few seconds.
import type { DatabaseSync } from 'node:sqlite';
import { WarrenError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { openDatabase } from './sqlite.ts';

/** How long a starting engine waits for the lock: an orphaned engine takes up to 15 s to stop. */
export const ENGINE_LOCK_WAIT_MS = 30_000;
/** How often a waiting engine tries again. */
const ENGINE_LOCK_POLL_MS = 250;

export interface EngineLock {
  readonly file: string;
  release(): void;
}

/** The lock file next to a state file (SQLite's own files are `-wal` and `-shm`). */
export function engineLockFileFor(stateFile: string): string {
  return `${stateFile}-lock`;
}

/**
 * Takes the state file's engine lock, waiting up to `waitMs` for another engine to let go of it
 * (logged once the wait begins); throws STATE_UNAVAILABLE after that, and the signal's reason when
 * `signal` aborts. It never blocks the event loop for long, so a stop request or the parent dying
 * is heard while it waits.
 *
 * The lock is a SQLite file held in locking_mode EXCLUSIVE: the connection keeps the write lock it
 * takes until it closes, and the kernel drops it when the process dies, however it dies. A separate
 * file, so that the state file itself stays readable (sqlite3, backups) while the engine runs.
 */
export async function acquireEngineLock(stateFile: string, logger: Logger, options: { waitMs?: number; signal?: AbortSignal } = {}): Promise<EngineLock | undefined> {
  if (stateFile === ':memory:') return undefined;
  const file = engineLockFileFor(stateFile);
  const waitMs = options.waitMs ?? ENGINE_LOCK_WAIT_MS;
  const deadline = Date.now() + waitMs;
  for (let waited = false; ; waited = true) {
    options.signal?.throwIfAborted();
    const db = tryLock(file);
    if (db) {
      if (waited) logger.info({ lockFile: file }, 'remediation: the other engine let go of the state file; starting');
      return { file, release: () => db.isOpen && db.close() };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new WarrenError(
        'STATE_UNAVAILABLE',
        `${stateFile} is in use by another remediation engine (another warren remediator with the same state_file, or one still stopping): its lock ${file} stayed held for ${Math.round(waitMs / 1000)} s`,
      );
    }
    if (!waited) logger.warn({ lockFile: file, waitS: Math.round(waitMs / 1000) }, 'remediation: another engine holds the state file (one still stopping?); waiting for it');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(ENGINE_LOCK_POLL_MS, remaining));
      options.signal?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}

/** The open lock database when the lock was taken, undefined when another connection holds it. */
function tryLock(file: string): DatabaseSync | undefined {
  let db: DatabaseSync | undefined;
  try {
    db = openDatabase(file, 'PRAGMA locking_mode = EXCLUSIVE;', 0);
    // The write lock this takes is kept after the commit, for as long as the connection is open.
    db.exec('BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS engine_lock (taken_at TEXT NOT NULL); DELETE FROM engine_lock; INSERT INTO engine_lock VALUES (datetime()); COMMIT');
    return db;
  } catch (error) {
    if (db?.isOpen) db.close();
    if (/database is locked|SQLITE_BUSY/i.test((error as Error).message)) return undefined;
    throw new WarrenError('STATE_UNAVAILABLE', `cannot take the engine lock ${file}: ${(error as Error).message}`, { cause: error });
  }
}
