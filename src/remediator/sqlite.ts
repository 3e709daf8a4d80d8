// What the remediator's two SQLite files (state and inbox) share: prepared statements kept per SQL
// text, since preparing costs more than running the small statements they use (a 50-alert delivery
// once spent about half its intake time in prepare), and all-or-nothing transactions.
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

/** How long a statement waits for a lock another connection holds before it fails as busy. */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens (creating its directory) a database file, or `:memory:`, and applies `pragmas`. The busy
 * timeout applies from the start: another process (an engine starting while an old one closes, a
 * backup) may hold a lock that switching a new file to WAL, or creating its table, needs.
 */
export function openDatabase(file: string, pragmas: string, busyTimeoutMs = BUSY_TIMEOUT_MS): DatabaseSync {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file, { timeout: busyTimeoutMs });
  try {
    db.exec(pragmas);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Flushes a WAL database's log, and its directory entry, to disk: every transaction committed so far
 * then survives a power loss (with synchronous=NORMAL a commit is only written, and SQLite flushes
 * the log at checkpoints). A log that does not exist yet holds nothing to flush.
 */
export function syncLogToDisk(databaseFile: string): void {
  if (databaseFile === ':memory:') return;
  let log: number;
  try {
    log = openSync(`${databaseFile}-wal`, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    fdatasyncSync(log);
  } finally {
    closeSync(log);
  }
  const directory = openSync(dirname(databaseFile), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

export class StatementCache {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Only for SQL whose text comes from a fixed set. */
  get(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  clear(): void {
    this.#statements.clear();
  }
}

/** Runs `work` in one write transaction: committed if it returns, rolled back if it (or the commit) throws. */
export function inTransaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    // SQLite ends a transaction by itself on a disk-full or I/O error; statements after that would
    // each have committed alone. Callers rethrow such errors, and this catches one that was not.
    if (!db.isTransaction) throw new Error('SQLite rolled the transaction back (disk full or I/O error); it was not committed');
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
