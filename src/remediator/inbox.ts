// The inbox: webhook deliveries, validated and committed to disk (synchronous=FULL) before
// Alertmanager gets its 200, waiting to be routed. It is a SQLite file of its own beside the state
// file, with one writer (the intake) and one reader (the engine), so that an acknowledgement waits
// for its own small disk flush only: not for the engine's transactions, its checkpoints, or the
// flush of everything the engine wrote. The engine records how far it has routed in the state file,
// together with what routing produced; rows before that point are deleted later by the writer, so
// deleting is never on the acknowledgement's path and a lost delete costs nothing.
import { basename, dirname, extname, join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { WarrenError } from '../errors.ts';
import { StatementCache, inTransaction, openDatabase } from './sqlite.ts';

export interface InboxDelivery {
  id: number;
  receivedAt: string;
  /** The validated webhook payload, as JSON. */
  payload: string;
}

/** How long routed rows may linger when no delivery arrives to delete them along with its insert. */
const FORGET_DELAY_MS = 1_000;

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

  /**
   * `checkpoints: false` for the writer when another connection (the engine's) checkpoints: copying
   * the log into the file, and its flush, then never happen on the acknowledgement's path.
   */
  constructor(file: string, options: { checkpoints?: boolean } = {}) {
    this.file = file;
    try {
      this.#db = openDatabase(file, 'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
      this.#statements = new StatementCache(this.#db);
      if (options.checkpoints === false) this.#db.exec('PRAGMA wal_autocheckpoint = 0');
      this.#db.exec('CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, payload TEXT NOT NULL)');
    } catch (error) {
      throw new WarrenError('STATE_UNAVAILABLE', `cannot open the remediation inbox ${file}: ${(error as Error).message}`, { cause: error });
    }
  }


  /** Persists deliveries in one durable transaction (one disk flush for all) and returns their ids. */
  add(payloadJsons: readonly string[], now: string): number[] {
    const insert = this.#statements.get('INSERT INTO inbox (received_at, payload) VALUES (?, ?)');
    const forgetBelow = this.#forgetBelow;
    const ids = inTransaction(this.#db, () => {
      this.#deleteForgotten(forgetBelow);
      return payloadJsons.map((json) => Number(insert.run(now, json).lastInsertRowid));
    });
    this.#forgotten = forgetBelow;
    return ids;
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

  /** Rows below `id` are routed: they go with the next insert, or after a quiet second. */
  forgetBelow(id: number): void {
    if (id <= this.#forgetBelow) return;
    this.#forgetBelow = id;
    if (this.#forgetTimer) return;
    this.#forgetTimer = setTimeout(() => {
      this.#forgetTimer = undefined;
      if (this.#forgotten >= this.#forgetBelow || !this.#db.isOpen) return;
      const forgetBelow = this.#forgetBelow;
      try {
        inTransaction(this.#db, () => this.#deleteForgotten(forgetBelow));
        this.#forgotten = forgetBelow;
      } catch {
        // Harmless: the rows are past the engine's position, and the next insert deletes them.
      }
    }, FORGET_DELAY_MS);
    this.#forgetTimer.unref();
  }

  /** Inside a transaction; the caller records `#forgotten` once it has committed. */
  #deleteForgotten(below: number): void {
    if (this.#forgotten >= below) return;
    this.#statements.get('DELETE FROM inbox WHERE id < ?').run(below);
  }

  /** Copies the log into the file without waiting for (or blocking) the writer. */
  checkpoint(): void {
    this.#db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  }

  close(): void {
    if (this.#forgetTimer) clearTimeout(this.#forgetTimer);
    this.#forgetTimer = undefined;
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}
