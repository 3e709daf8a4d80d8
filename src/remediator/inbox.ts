// The inbox: webhook deliveries, validated and committed before Alertmanager gets its 200, waiting
// to be routed. A commit is written to SQLite's log, and the log is flushed to disk by a flush of
// our own on libuv's thread pool, so the thread that commits never waits for the disk: with
// `acknowledge_after: flush` (the default) the 200 waits for the first flush that starts after its
// commit (commits made while one flush runs share the next: group commit); with `write` it does not
// wait, and the flush follows within INBOX_FLUSH_INTERVAL_MS. It is a SQLite file of its own beside
// the state file, with one writer (the intake) and one reader (the engine), so that an
// acknowledgement waits for its own small commit only: not for the engine's transactions, its
// checkpoints, or the flush of everything the engine wrote. The engine records how far it has
// routed in the state file, together with what routing produced; rows before that point are deleted
// later by the writer, so deleting is never on its own on the acknowledgement's path and a lost
// delete costs nothing.
import { fstatSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { WarrenError, describeError } from '../errors.ts';
import type { AcknowledgeAfter } from './settings.ts';
import { StatementCache, inTransaction, openDatabase, syncLogToDisk } from './sqlite.ts';

export interface InboxDelivery {
  id: number;
  receivedAt: string;
  /** The validated webhook payload, as JSON. */
  payload: string;
}

/** How long routed rows may linger when no delivery arrives to delete them along with its insert. */
const FORGET_DELAY_MS = 1_000;
/**
 * Routed rows deleted per transaction at most: after the engine caught up with a long backlog, one
 * acknowledgement must not pay for deleting all of it (a delivery of 50 alerts is ~35 KB of pages).
 */
const FORGET_BATCH = 16;
/** With `acknowledge_after: write`: how long after its acknowledgement a delivery's commit is flushed to disk, at most (plus the flush itself). */
export const INBOX_FLUSH_INTERVAL_MS = 100;

/** The inbox file for a state file: `remediator.db` -> `remediator.inbox.db`. */
export function inboxFileFor(stateFile: string): string {
  if (stateFile === ':memory:') return ':memory:';
  const extension = extname(stateFile);
  const known = ['.db', '.sqlite', '.sqlite3'].includes(extension.toLowerCase());
  return known ? join(dirname(stateFile), `${basename(stateFile, extension)}.inbox${extension}`) : `${stateFile}.inbox`;
}

export class Inbox {
  readonly file: string;
  readonly #db: DatabaseSync;
  readonly #statements: StatementCache;
  /** Rows below this id are routed and may be deleted. */
  #forgetBelow = 0;
  #forgotten = 0;
  #forgetTimer: NodeJS.Timeout | undefined;
  readonly #acknowledgeAfter: AcknowledgeAfter;
  /** Commits made since the last flush started. */
  #unflushed = false;
  /** The flush under way, and the one queued behind it (it covers the commits made since the first started). */
  #flushing: Promise<void> | undefined;
  #nextFlush: Promise<void> | undefined;
  /** `write`: the timer of the background flush. */
  #flushTimer: NodeJS.Timeout | undefined;
  /** Set by a failed flush, for good: see #flushLog. */
  #flushError: WarrenError | undefined;
  #directoryFlushed = false;
  /** The log file, open for flushing once the first commit has created it. */
  #log: FileHandle | undefined;
  #closed = false;
  readonly #onFlushError: ((error: WarrenError) => void) | undefined;

  /**
   * `checkpoints: false` for the writer when another connection (the engine's) checkpoints: copying
   * the log into the file, and its flush, then never happen on the acknowledgement's path.
   * `acknowledgeAfter` (default `flush`) is for the writer: see AcknowledgeAfter.
   */
  constructor(file: string, options: { checkpoints?: boolean; acknowledgeAfter?: AcknowledgeAfter; onFlushError?: (error: WarrenError) => void } = {}) {
    this.file = file;
    this.#acknowledgeAfter = options.acknowledgeAfter ?? 'flush';
    this.#onFlushError = options.onFlushError;
    try {
      // NORMAL in WAL mode: a commit is written to the log, and flushed by a checkpoint or by our own flush.
      this.#db = openDatabase(file, 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
      this.#statements = new StatementCache(this.#db);
      if (options.checkpoints === false) this.#db.exec('PRAGMA wal_autocheckpoint = 0');
      this.#db.exec('CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, payload TEXT NOT NULL)');
    } catch (error) {
      throw new WarrenError('STATE_UNAVAILABLE', `cannot open the remediation inbox ${file}: ${(error as Error).message}`, { cause: error });
    }
  }


  /**
   * Commits deliveries in one transaction and returns their ids; `acknowledgeable()` says when they
   * may be acknowledged. Throws once a flush has failed (the caller answers 500, Alertmanager retries).
   */
  add(payloadJsons: readonly string[], now: string): number[] {
    if (this.#flushError !== undefined) throw this.#flushError;
    const insert = this.#statements.get('INSERT INTO inbox (received_at, payload) VALUES (?, ?)');
    const forgetBelow = this.#forgetBelow;
    let forgotten = this.#forgotten;
    const ids = inTransaction(this.#db, () => {
      forgotten = this.#deleteForgotten(forgetBelow);
      return payloadJsons.map((json) => Number(insert.run(now, json).lastInsertRowid));
    });
    this.#forgotten = forgotten;
    if (forgotten < this.#forgetBelow) this.#forgetLater(FORGET_DELAY_MS);
    if (this.file !== ':memory:') {
      this.#unflushed = true;
      if (this.#acknowledgeAfter === 'write') this.#flushSoon();
    }
    return ids;
  }

  /**
   * Resolves when the deliveries committed so far may be acknowledged: once they are flushed to disk
   * (`flush`), at once (`write`). Rejects when the flush fails.
   */
  acknowledgeable(): Promise<void> {
    return this.#acknowledgeAfter === 'flush' ? this.flushed() : Promise.resolve();
  }

  /** Resolves once every commit made so far is flushed to disk; rejects when the flush fails. */
  async flushed(): Promise<void> {
    if (this.#unflushed) await this.#flush();
    else if (this.#flushing) await this.#flushing;
    if (this.#flushError !== undefined) throw this.#flushError;
  }

  /** `write`: flushes the log within INBOX_FLUSH_INTERVAL_MS. */
  #flushSoon(): void {
    if (this.#flushTimer) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flush();
    }, INBOX_FLUSH_INTERVAL_MS);
  }

  /** A flush that starts now, or once the one under way has finished (one at a time: they would only queue in the kernel). */
  #flush(): Promise<void> {
    if (!this.#flushing) {
      this.#flushing = this.#flushLog().finally(() => {
        this.#flushing = undefined;
      });
      return this.#flushing;
    }
    this.#nextFlush ??= this.#flushing.then(() => {
      this.#nextFlush = undefined;
      return this.#flush();
    });
    return this.#nextFlush;
  }

  /**
   * Never rejects: a failure is kept in #flushError and reported to onFlushError. After `close()`
   * it does nothing more: close flushed what this flush had not reached, and a datasync already
   * under way still completes (FileHandle.close waits for it).
   */
  async #flushLog(): Promise<void> {
    this.#unflushed = false;
    if (this.#flushError !== undefined || this.#closed) return;
    try {
      // The log file is the one SQLite commits to; flushing it makes those commits durable (as a
      // checkpoint would). Kept open: SQLite keeps the same log while this connection is open, and
      // each trip through the thread pool is a wait on the acknowledgement's path.
      let log = this.#log;
      if (!log) {
        log = await open(`${this.file}-wal`, 'r');
        if (this.#closed) return void log.close().catch(() => undefined);
        this.#log = log;
      }
      await log.datasync();
      if (this.#closed) return;
      // A log removed under SQLite (by hand, a cleanup job) takes every later commit with it.
      if (fstatSync(log.fd).nlink === 0) throw new Error(`${this.file}-wal was removed while in use`);
      if (!this.#directoryFlushed) {
        // Once: the log's own entry in its directory, for a log created since the file was opened.
        const directory = await open(dirname(this.file), 'r');
        try {
          await directory.datasync();
        } finally {
          await directory.close();
        }
        this.#directoryFlushed = true;
      }
    } catch (error) {
      // After a failed flush the kernel may have dropped what it could not write, and a later flush
      // can succeed without it (and SQLite's log ends at the first frame missing): nothing committed
      // from here on could be promised, so nothing more is taken.
      this.#flushError = new WarrenError('STATE_UNAVAILABLE', `the inbox's log could not be flushed to disk: ${describeError(error)}`, { cause: error });
      this.#onFlushError?.(this.#flushError);
    } finally {
      if (this.#unflushed && this.#acknowledgeAfter === 'write' && !this.#closed) this.#flushSoon();
    }
  }

  /** The oldest delivery with an id of at least `fromId`. */
  next(fromId: number): InboxDelivery | undefined {
    const row = this.#statements.get('SELECT id, received_at, payload FROM inbox WHERE id >= ? ORDER BY id LIMIT 1').get(fromId) as { id: number; received_at: string; payload: string } | undefined;
    return row && { id: Number(row.id), receivedAt: String(row.received_at), payload: String(row.payload) };
  }

  /** The highest id ever given out (ids are never reused), 0 for a new inbox. */
  lastId(): number {
    const row = this.#statements.get(`SELECT seq FROM sqlite_sequence WHERE name = 'inbox'`).get() as { seq: number } | undefined;
    return row ? Number(row.seq) : 0;
  }

  /** Deliveries with an id of at least `fromId`. */
  countFrom(fromId: number): number {
    return Number((this.#statements.get('SELECT COUNT(*) AS n FROM inbox WHERE id >= ?').get(fromId) as { n: number }).n);
  }

  /**
   * Rows below `id` are routed: they go with the next inserts, FORGET_BATCH at a time, or after a
   * quiet second.
   */
  forgetBelow(id: number): void {
    if (id <= this.#forgetBelow) return;
    this.#forgetBelow = id;
    this.#forgetLater(FORGET_DELAY_MS);
  }

  #forgetLater(delayMs: number): void {
    if (this.#forgetTimer) return;
    this.#forgetTimer = setTimeout(() => {
      this.#forgetTimer = undefined;
      if (this.#forgotten >= this.#forgetBelow || !this.#db.isOpen) return;
      const forgetBelow = this.#forgetBelow;
      try {
        this.#forgotten = inTransaction(this.#db, () => this.#deleteForgotten(forgetBelow));
      } catch {
        // Harmless: the rows are past the engine's position, and the next insert deletes them.
        return;
      }
      // A long backlog goes in batches, each its own transaction, with the writer free in between.
      if (this.#forgotten < this.#forgetBelow) this.#forgetLater(0);
    }, delayMs);
    this.#forgetTimer.unref();
  }

  /**
   * Inside a transaction: deletes routed rows below `below`, at most FORGET_BATCH of them, and
   * returns how far it got; the caller records that as `#forgotten` once it has committed.
   */
  #deleteForgotten(below: number): number {
    if (this.#forgotten >= below) return this.#forgotten;
    const batchEnd = this.#statements.get(`SELECT id FROM inbox WHERE id < ? ORDER BY id LIMIT 1 OFFSET ${FORGET_BATCH}`).get(below) as { id: number } | undefined;
    const upTo = batchEnd === undefined ? below : Number(batchEnd.id);
    this.#statements.get('DELETE FROM inbox WHERE id < ?').run(upTo);
    return upTo;
  }

  /** Flushes the log to disk now: every delivery committed so far survives a power loss. */
  syncToDisk(): void {
    syncLogToDisk(this.file);
  }

  /** Copies the log into the file without waiting for (or blocking) the writer. */
  checkpoint(): void {
    this.#db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  }

  close(): void {
    if (this.#forgetTimer) clearTimeout(this.#forgetTimer);
    this.#forgetTimer = undefined;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#closed = true;
    // What was committed is flushed before the process goes (a flush under way finishes by itself).
    if (this.#unflushed && this.#flushError === undefined) {
      try {
        this.syncToDisk();
      } catch (error) {
        // Acknowledged deliveries (`write`) may be lost; those waiting for a flush are answered 500.
        // Closing goes on: SQLite's own close checkpoints what it can.
        this.#flushError = new WarrenError('STATE_UNAVAILABLE', `the inbox's log could not be flushed to disk on closing: ${describeError(error)}`, { cause: error });
        this.#onFlushError?.(this.#flushError);
      }
    }
    this.#unflushed = false;
    // After any flush under way (FileHandle.close waits for it).
    this.#log?.close().catch(() => undefined);
    this.#log = undefined;
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}
