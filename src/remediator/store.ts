// The remediator's durable state in SQLite (node:sqlite, WAL): actions with their steps and
// outcomes, deduplication keys per firing episode, cooldowns, breaker state and the pause switch.
// Everything that must survive a restart lives here; the process keeps only locks and counters.
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { WarrenError } from '../errors.ts';
import { StatementCache, inTransaction, openDatabase, syncLogToDisk } from './sqlite.ts';
import type { RemediationMode } from './settings.ts';

/** Where an action is in its life. Final states never change again. */
export type ActionState =
  | 'pending' // persisted, waiting for the worker (or for a lock, or for resume)
  | 'awaiting_approval' // planned in approve mode; waits for POST /api/v1/actions/{id}/approve
  | 'approved' // approved, waiting for the worker
  | 'running'
  | 'succeeded' // a strategy's verification passed (or the cluster was already healthy)
  | 'failed' // every strategy of the chain ran and none verified
  | 'blocked' // a safety precheck refused; nothing was changed
  | 'planned' // dry-run: prechecked and planned, never executed
  | 'skipped' // a guard stopped it (cooldown, breaker, maintenance, silence, missing label)
  | 'cancelled' // the alert resolved, or someone rejected it, before it started
  | 'expired' // nobody approved it in time
  | 'interrupted'; // warren stopped while it ran; it is reported, never re-run blindly

export const FINAL_STATES: readonly ActionState[] = ['succeeded', 'failed', 'blocked', 'planned', 'skipped', 'cancelled', 'expired', 'interrupted'];
export const ACTION_STATES: readonly ActionState[] = ['pending', 'awaiting_approval', 'approved', 'running', ...FINAL_STATES];

export type StepPhase = 'precheck' | 'observe' | 'plan' | 'execute' | 'verify' | 'notify' | 'guard';
export type StepStatus = 'ok' | 'failed' | 'planned' | 'skipped';

export interface StepRecord {
  seq: number;
  strategy: string;
  phase: StepPhase;
  /** What the step does, in words. */
  description: string;
  /** The exact API call (`POST /api/queues/%2F/q/actions {"action":"sync"}`) or argv, when there is one. */
  command?: string | undefined;
  status: StepStatus;
  startedAt: string;
  finishedAt?: string | undefined;
  detail?: unknown;
}

export interface ChainStep {
  strategy: string;
  params: Record<string, string>;
  executeTimeoutMs: number;
  verifyTimeoutMs: number;
}

export interface StoredAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  startsAt: string;
  endsAt?: string | undefined;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  generatorURL?: string | undefined;
}

export interface ActionRecord {
  id: number;
  createdAt: string;
  updatedAt: string;
  state: ActionState;
  /** Why it is in a final state other than succeeded, or why it waits: `cooldown`, `breaker_open`, ... */
  reason?: string | undefined;
  mode: RemediationMode;
  rule: string;
  cluster: string;
  /** The lock keys it needs, e.g. `queue:prod/%2F/orders`. The first is the primary target. */
  targets: string[];
  chain: ChainStep[];
  alert: StoredAlert;
  receiver: string;
  /** Index in `chain` of the strategy that ran last. */
  strategyIndex?: number | undefined;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  durationMs?: number | undefined;
  before?: unknown;
  after?: unknown;
  error?: string | undefined;
  approvedBy?: string | undefined;
  steps: StepRecord[];
}

/** What intake records; the rest of an ActionRecord is filled in as the action runs. */
export type NewAction = Pick<ActionRecord, 'reason' | 'mode' | 'rule' | 'cluster' | 'targets' | 'chain' | 'alert' | 'receiver'> & { state: 'pending' | 'skipped' };

export interface ActionFilter {
  state?: ActionState | undefined;
  rule?: string | undefined;
  strategy?: string | undefined;
  alertname?: string | undefined;
  fingerprint?: string | undefined;
  target?: string | undefined;
  /** ISO instants, on createdAt. */
  since?: string | undefined;
  until?: string | undefined;
  /** Only ids below this one: pages backwards through the trail. */
  beforeId?: number | undefined;
  limit?: number | undefined;
}

/** Where routing resumes in the inbox: deliveries below `id` are routed, and `routed` alerts of `id`. */
export interface InboxPosition {
  id: number;
  routed: number;
  /**
   * With `routed` > 0: when the delivery half routed was received. A power loss can undo the
   * inbox's last rows after the state recorded routing into them (the engine routes rows before
   * their flush is done) and give their ids to new deliveries; a new delivery with the same id is
   * then routed from its first alert.
   */
  receivedAt?: string | undefined;
}

export interface BreakerRecord {
  rule: string;
  target: string;
  openedAt: string;
  openUntil: string;
  attempts: number;
}

/** 2: episode keys and the actions' episode index lead with startsAt instead of the fingerprint. */
const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  status TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  deliveries INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS episodes_last_seen ON episodes(last_seen);
CREATE TABLE IF NOT EXISTS actions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT,
  mode TEXT NOT NULL,
  rule TEXT NOT NULL,
  cluster TEXT NOT NULL,
  targets TEXT NOT NULL,
  primary_target TEXT NOT NULL,
  chain TEXT NOT NULL,
  first_strategy TEXT NOT NULL,
  alert TEXT NOT NULL,
  alertname TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  receiver TEXT NOT NULL,
  strategy_index INTEGER,
  started_at TEXT,
  finished_at TEXT,
  duration_ms REAL,
  before_state TEXT,
  after_state TEXT,
  error TEXT,
  approved_by TEXT
);
CREATE INDEX IF NOT EXISTS actions_state ON actions(state);
-- The alert's episode, for cancelling on resolve; time first, for the same reason as episode keys.
CREATE INDEX IF NOT EXISTS actions_episode ON actions(starts_at, fingerprint);
CREATE TABLE IF NOT EXISTS steps (
  action_id INTEGER NOT NULL REFERENCES actions(id),
  seq INTEGER NOT NULL,
  strategy TEXT NOT NULL,
  phase TEXT NOT NULL,
  description TEXT NOT NULL,
  command TEXT,
  status TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  detail TEXT,
  PRIMARY KEY (action_id, seq)
);
CREATE TABLE IF NOT EXISTS cooldowns (rule TEXT NOT NULL, target TEXT NOT NULL, until TEXT NOT NULL, PRIMARY KEY (rule, target));
CREATE TABLE IF NOT EXISTS attempts (rule TEXT NOT NULL, target TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_key ON attempts(rule, target, at);
CREATE TABLE IF NOT EXISTS breakers (rule TEXT NOT NULL, target TEXT NOT NULL, opened_at TEXT NOT NULL, open_until TEXT NOT NULL, attempts INTEGER NOT NULL, PRIMARY KEY (rule, target));
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

type Row = Record<string, SQLInputValue>;

export class RemediationStore {
  readonly #db: DatabaseSync;
  readonly #statements: StatementCache;
  readonly file: string;
  #deferred: (() => void)[] = [];

  constructor(file: string) {
    this.file = file;
    try {
      // WAL: readers never block the writer. NORMAL survives a process crash, and the engine's many
      // bookkeeping writes here skip the flush. What must survive a power loss is flushed on purpose
      // (syncToDisk): the routing position before the inbox may forget what it covers, and an
      // action's start before its strategy changes anything.
      // temp_store MEMORY: the statement journals of routing's savepoints stay off the disk.
      this.#db = openDatabase(file, 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;');
      this.#statements = new StatementCache(this.#db);
      // The version is read before anything is created: a file this warren does not understand is
      // refused untouched.
      const hasMeta = this.#db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get() !== undefined;
      const version = hasMeta ? (this.#db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined) : undefined;
      if (version && Number(version.value) !== 1 && Number(version.value) !== SCHEMA_VERSION) {
        throw new WarrenError('STATE_UNAVAILABLE', `${file}: state schema version ${version.value}, this warren understands ${SCHEMA_VERSION}`);
      }
      this.#db.exec(SCHEMA);
      if (version && Number(version.value) === 1) this.#migrateFromVersion1();
      this.#statements.get(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
    } catch (error) {
      if (error instanceof WarrenError) throw error;
      throw new WarrenError('STATE_UNAVAILABLE', `cannot open remediation state ${file}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Version 1 led episode keys and the actions' episode index with the fingerprint (see SCHEMA_VERSION). */
  #migrateFromVersion1(): void {
    this.transaction(() => {
      // `fingerprint|startsAt|status` becomes `startsAt|fingerprint|status` (no part can hold a `|`:
      // fingerprints are hex, startsAt a validated time, status firing or resolved).
      const rekey = this.#db.prepare('UPDATE episodes SET key = ? WHERE rowid = ?');
      for (const row of this.#db.prepare('SELECT rowid, key FROM episodes').all() as { rowid: number; key: string }[]) {
        const [fingerprint, startsAt, status] = row.key.split('|');
        rekey.run(`${startsAt}|${fingerprint}|${status}`, row.rowid);
      }
      this.#db.exec('DROP INDEX IF EXISTS actions_fingerprint');
      this.#db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(SCHEMA_VERSION));
    });
  }

  /** Commits what was deferred, then closes the file. */
  close(): void {
    if (this.#db.isOpen) {
      try {
        this.flush();
      } finally {
        this.#statements.clear();
        this.#db.close();
      }
    }
  }

  /**
   * Runs `work` in one transaction (all or nothing), which first applies the deferred writes. If it
   * fails, they stay queued for the next one.
   */
  transaction<T>(work: () => T): T {
    const deferred = this.#deferred;
    this.#deferred = [];
    try {
      return inTransaction(this.#db, () => {
        this.#apply(deferred);
        return work();
      });
    } catch (error) {
      this.#deferred = deferred.concat(this.#deferred);
      throw error;
    }
  }

  /**
   * Queues a write that may wait for the next commit: the notes a running action leaves (step
   * outcomes, read-only steps, progress), never a change of an action's state. Any later write
   * commits them with itself, in order, so an action costs a few commits instead of one per note:
   * each commit rewrites every page it touched, and under an alert storm those writes compete with
   * the inbox's flush. A crash can lose such notes.
   */
  defer(write: () => void): void {
    if (this.#db.isTransaction) write();
    else this.#deferred.push(write);
  }

  /** Commits the deferred writes now. */
  flush(): void {
    if (this.#deferred.length > 0) this.transaction(() => undefined);
  }

  /** Commits the deferred writes and flushes the log: everything committed so far survives a power loss. */
  syncToDisk(): void {
    this.flush();
    try {
      syncLogToDisk(this.file);
    } catch (error) {
      throw new WarrenError('STATE_UNAVAILABLE', `cannot flush the remediation state ${this.file} to disk: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Told about a deferred write that failed; it is dropped rather than block every later commit. */
  onDeferredError: ((error: unknown) => void) | undefined;

  #apply(writes: readonly (() => void)[]): void {
    for (const write of writes) {
      try {
        write();
      } catch (error) {
        // SQLite ended the transaction itself (disk full, I/O error): nothing more may run in it.
        if (!this.#db.isTransaction) throw error;
        this.onDeferredError?.(error);
      }
    }
  }

  /** Whether a transaction is open (SQLite ends one by itself on a disk-full or I/O error). */
  get inTransaction(): boolean {
    return this.#db.isTransaction;
  }

  /** A write outside a transaction takes the deferred writes along; inside one they are already applied. */
  #write<T>(work: () => T): T {
    return this.#deferred.length === 0 || this.#db.isTransaction ? work() : this.transaction(work);
  }

  /** Where routing resumes in the inbox (inbox.ts): the delivery id, and how many of its alerts are routed. */
  inboxPosition(): InboxPosition {
    const row = this.#statements.get(`SELECT value FROM meta WHERE key = 'inbox_position'`).get() as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as InboxPosition) : { id: 0, routed: 0 };
  }

  setInboxPosition(position: InboxPosition): void {
    return this.#write(() => {
      this.#statements.get(`INSERT INTO meta (key, value) VALUES ('inbox_position', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(JSON.stringify(position));
    });
  }

  /** Deliveries an older warren kept in this file's own inbox table, oldest first. */
  legacyInbox(): { payload: string }[] {
    const table = this.#db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inbox'`).get();
    if (!table) return [];
    return this.#db.prepare('SELECT payload FROM inbox ORDER BY id').all().map((row) => ({ payload: String(row.payload) }));
  }

  dropLegacyInbox(): void {
    this.#db.exec('DROP TABLE IF EXISTS inbox');
  }

  /**
   * Runs `work` inside the current transaction so that, if it throws, only its own writes are
   * undone (SQLite savepoint); the error is rethrown.
   */
  savepoint<T>(work: () => T): T {
    this.#db.exec('SAVEPOINT part');
    try {
      const result = work();
      this.#db.exec('RELEASE part');
      return result;
    } catch (error) {
      // Unless SQLite has already ended the whole transaction (disk full, I/O error).
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK TO part; RELEASE part');
      throw error;
    }
  }

  /**
   * Records one delivery of a firing episode. True the first time the key is seen, false for a
   * duplicate (whose delivery count goes up).
   */
  recordEpisode(key: string, alert: { fingerprint: string; startsAt: string; status: string }, now: string): boolean {
    return this.#write(() => {
      const inserted = this
        .#statements.get('INSERT OR IGNORE INTO episodes (key, fingerprint, starts_at, status, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)')
        .run(key, alert.fingerprint, alert.startsAt, alert.status, now, now);
      if (inserted.changes > 0) return true;
      this.#statements.get('UPDATE episodes SET deliveries = deliveries + 1, last_seen = ? WHERE key = ?').run(now, key);
      return false;
    });
  }

  hasEpisode(key: string): boolean {
    return this.#statements.get('SELECT 1 FROM episodes WHERE key = ?').get(key) !== undefined;
  }

  /**
   * Forgets episodes not delivered since `before`; returns how many. By last delivery, so an alert
   * that keeps firing (and is repeated every repeat_interval) is never forgotten while it fires.
   */
  pruneEpisodes(before: string): number {
    return this.#write(() => {
      return Number(this.#statements.get('DELETE FROM episodes WHERE last_seen < ?').run(before).changes);
    });
  }

  /**
   * Forgets actions in a final state that finished before `before`, with their steps, oldest first
   * and at most `limit`; returns how many. Actions are created in id order, so the ones created
   * before `before` are a prefix of the table, found by binary search on the id: no index on time
   * (one would cost every action another write). Actions not finished (pending, awaiting approval,
   * running) are kept however old.
   */
  pruneActions(before: string, limit: number): number {
    const createdAt = (atLeastId: number) => this.#statements.get('SELECT id, created_at FROM actions WHERE id >= ? ORDER BY id LIMIT 1').get(atLeastId) as { id: number; created_at: string } | undefined;
    const first = createdAt(0);
    if (!first) return 0;
    let high = Number((this.#statements.get('SELECT MAX(id) AS id FROM actions').get() as { id: number }).id);
    // The last id created before `before`: created_at grows with the id. Where the clock stepped
    // back, actions created before the step wait until the line has passed the step: late, never
    // wrong. An oldest action dated after the line (a clock that ran ahead) would hide every other:
    // then the whole table is the range (the finished_at condition alone decides).
    let low = String(first.created_at) < before ? Number(first.id) : high;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      const row = createdAt(middle);
      // No row in [middle, row.id): the line is at row.id or before middle.
      if (row && Number(row.id) <= high && String(row.created_at) < before) low = Number(row.id);
      else high = middle - 1;
    }
    const finalStates = FINAL_STATES.map(() => '?').join(', ');
    const ids = (
      this.#statements
        .get(`SELECT id FROM actions WHERE id <= ? AND state IN (${finalStates}) AND finished_at < ? ORDER BY id LIMIT ?`)
        .all(low, ...FINAL_STATES, before, limit) as { id: number }[]
    ).map((row) => Number(row.id));
    if (ids.length === 0) return 0;
    const work = () => {
      const deleteSteps = this.#statements.get('DELETE FROM steps WHERE action_id = ?');
      const deleteAction = this.#statements.get('DELETE FROM actions WHERE id = ?');
      for (const id of ids) {
        deleteSteps.run(id);
        deleteAction.run(id);
      }
      return ids.length;
    };
    return this.#db.isTransaction ? work() : this.transaction(work);
  }

  insertAction(action: NewAction, now: string): number {
    return this.#write(() => {
      const result = this
        .#statements.get(
          `INSERT INTO actions (created_at, updated_at, state, reason, mode, rule, cluster, targets, primary_target, chain, first_strategy, alert, alertname, fingerprint, starts_at, receiver, finished_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          now,
          now,
          action.state,
          action.reason ?? null,
          action.mode,
          action.rule,
          action.cluster,
          JSON.stringify(action.targets),
          action.targets[0] ?? '',
          JSON.stringify(action.chain),
          action.chain[0]?.strategy ?? '',
          JSON.stringify(action.alert),
          action.alert.labels.alertname ?? '',
          action.alert.fingerprint,
          action.alert.startsAt,
          action.receiver,
          action.state === 'skipped' ? now : null,
        );
      return Number(result.lastInsertRowid);
    });
  }

  getAction(id: number): ActionRecord | undefined {
    const row = this.#statements.get('SELECT * FROM actions WHERE id = ?').get(id) as Row | undefined;
    return row && this.#toAction(row, true);
  }

  /** Newest first. Steps are included. */
  listActions(filter: ActionFilter = {}): ActionRecord[] {
    const where: string[] = [];
    const args: SQLInputValue[] = [];
    const add = (clause: string, value: SQLInputValue | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      args.push(value);
    };
    add('state = ?', filter.state);
    add('rule = ?', filter.rule);
    add(`EXISTS (SELECT 1 FROM json_each(actions.chain) WHERE json_extract(value, '$.strategy') = ?)`, filter.strategy);
    add('alertname = ?', filter.alertname);
    add('fingerprint = ?', filter.fingerprint);
    add('primary_target = ?', filter.target);
    add('created_at >= ?', filter.since);
    add('created_at < ?', filter.until);
    add('id < ?', filter.beforeId);
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    // LIMIT as a parameter: the statement cache then holds one entry per filter combination.
    const sql = `SELECT * FROM actions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.#statements.get(sql).all(...args, limit) as Row[]).map((row) => this.#toAction(row, true));
  }

  /** Actions in the given states, oldest first, without steps; a page of `limit` after `afterId`. */
  actionsInStates(states: readonly ActionState[], page: { afterId?: number; limit?: number } = {}): ActionRecord[] {
    const limit = page.limit ?? -1;
    // One index range per state, each already in id order, merged here: `state IN (...) ORDER BY id`
    // sorts every matching row first (a temporary B-tree on disk), which during a storm is the whole
    // backlog, on every worker pass.
    const select = this.#statements.get('SELECT * FROM actions WHERE state = ? AND id > ? ORDER BY id LIMIT ?');
    const rows = states.flatMap((state) => select.all(state, page.afterId ?? 0, limit) as Row[]);
    if (states.length > 1) rows.sort((a, b) => Number(a.id) - Number(b.id));
    return (limit >= 0 ? rows.slice(0, limit) : rows).map((row) => this.#toAction(row, false));
  }

  countByState(): Map<ActionState, number> {
    const rows = this.#statements.get('SELECT state, COUNT(*) AS n FROM actions GROUP BY state').all() as { state: ActionState; n: number }[];
    return new Map(rows.map((row) => [row.state, Number(row.n)]));
  }

  /** Moves an action from one of `from` to `to`; false when it was in none of them (a lost race). */
  transition(id: number, from: readonly ActionState[], to: ActionState, now: string, fields: Partial<Pick<ActionRecord, 'reason' | 'error' | 'approvedBy'>> = {}): boolean {
    return this.#write(() => {
      const marks = from.map(() => '?').join(',');
      const final = FINAL_STATES.includes(to);
      const result = this
        .#statements.get(
          `UPDATE actions SET state = ?, updated_at = ?, reason = COALESCE(?, reason), error = COALESCE(?, error), approved_by = COALESCE(?, approved_by),
             finished_at = CASE WHEN ? THEN COALESCE(finished_at, ?) ELSE finished_at END
           WHERE id = ? AND state IN (${marks})`,
        )
        .run(to, now, fields.reason ?? null, fields.error ?? null, fields.approvedBy ?? null, final ? 1 : 0, now, id, ...from);
      return result.changes > 0;
    });
  }

  markStarted(id: number, now: string): boolean {
    return this.#write(() => {
      const result = this
        .#statements.get(`UPDATE actions SET state = 'running', updated_at = ?, started_at = COALESCE(started_at, ?) WHERE id = ? AND state IN ('pending', 'approved')`)
        .run(now, now, id);
      return result.changes > 0;
    });
  }

  updateRunning(id: number, now: string, fields: { strategyIndex?: number; before?: unknown; after?: unknown }): void {
    return this.#write(() => {
      this
        .#statements.get(
          `UPDATE actions SET updated_at = ?, strategy_index = COALESCE(?, strategy_index),
             before_state = COALESCE(?, before_state), after_state = COALESCE(?, after_state) WHERE id = ?`,
        )
        .run(now, fields.strategyIndex ?? null, json(fields.before), json(fields.after), id);
    });
  }

  finish(id: number, state: ActionState, now: string, fields: { reason?: string | undefined; error?: string | undefined; durationMs?: number | undefined }): void {
    return this.#write(() => {
      this
        .#statements.get(`UPDATE actions SET state = ?, updated_at = ?, finished_at = ?, reason = COALESCE(?, reason), error = COALESCE(?, error), duration_ms = ? WHERE id = ?`)
        .run(state, now, now, fields.reason ?? null, fields.error ?? null, fields.durationMs ?? null, id);
    });
  }

  /** The highest step number an action has, 0 when it has none. */
  lastStepSeq(actionId: number): number {
    const row = this.#statements.get('SELECT COALESCE(MAX(seq), 0) AS seq FROM steps WHERE action_id = ?').get(actionId) as { seq: number };
    return Number(row.seq);
  }

  appendStep(actionId: number, step: StepRecord): void {
    this.#write(() => {
      this
        .#statements.get('INSERT INTO steps (action_id, seq, strategy, phase, description, command, status, started_at, finished_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(actionId, step.seq, step.strategy, step.phase, step.description, step.command ?? null, step.status, step.startedAt, step.finishedAt ?? null, json(step.detail));
    });
  }

  finishStep(actionId: number, seq: number, status: StepStatus, now: string, detail?: unknown): void {
    return this.#write(() => {
      this.#statements.get('UPDATE steps SET status = ?, finished_at = ?, detail = COALESCE(?, detail) WHERE action_id = ? AND seq = ?').run(status, now, json(detail), actionId, seq);
    });
  }

  /** Pending, awaiting-approval and approved actions of one firing episode: what a resolve cancels. */
  cancellableFor(fingerprint: string, startsAt: string): { id: number; strategy: string }[] {
    const rows = this
      .#statements.get(`SELECT id, first_strategy FROM actions WHERE fingerprint = ? AND starts_at = ? AND state IN ('pending', 'awaiting_approval', 'approved')`)
      .all(fingerprint, startsAt) as { id: number; first_strategy: string }[];
    return rows.map((row) => ({ id: Number(row.id), strategy: String(row.first_strategy) }));
  }

  /** The rule and state of every action of one firing episode. */
  episodeActions(fingerprint: string, startsAt: string): { rule: string; state: ActionState }[] {
    const rows = this.#statements.get(`SELECT rule, state FROM actions WHERE starts_at = ? AND fingerprint = ?`).all(startsAt, fingerprint) as { rule: string; state: ActionState }[];
    return rows.map((row) => ({ rule: String(row.rule), state: row.state }));
  }

  cooldownUntil(rule: string, target: string): string | undefined {
    const row = this.#statements.get('SELECT until FROM cooldowns WHERE rule = ? AND target = ?').get(rule, target) as { until: string } | undefined;
    return row?.until;
  }

  setCooldown(rule: string, target: string, until: string): void {
    return this.#write(() => {
      this.#statements.get('INSERT INTO cooldowns (rule, target, until) VALUES (?, ?, ?) ON CONFLICT (rule, target) DO UPDATE SET until = excluded.until').run(rule, target, until);
    });
  }

  recordAttempt(rule: string, target: string, at: string): void {
    return this.#write(() => {
      this.#statements.get('INSERT INTO attempts (rule, target, at) VALUES (?, ?, ?)').run(rule, target, at);
    });
  }

  attemptsSince(rule: string, target: string, since: string): number {
    const row = this.#statements.get('SELECT COUNT(*) AS n FROM attempts WHERE rule = ? AND target = ? AND at >= ?').get(rule, target, since) as { n: number };
    return Number(row.n);
  }

  pruneAttempts(before: string): void {
    return this.#write(() => {
      this.#statements.get('DELETE FROM attempts WHERE at < ?').run(before);
    });
  }

  breaker(rule: string, target: string): BreakerRecord | undefined {
    const row = this.#statements.get('SELECT * FROM breakers WHERE rule = ? AND target = ?').get(rule, target) as Row | undefined;
    return row && toBreaker(row);
  }

  openBreaker(record: BreakerRecord): void {
    return this.#write(() => {
      this
        .#statements.get(
          `INSERT INTO breakers (rule, target, opened_at, open_until, attempts) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (rule, target) DO UPDATE SET opened_at = excluded.opened_at, open_until = excluded.open_until, attempts = excluded.attempts`,
        )
        .run(record.rule, record.target, record.openedAt, record.openUntil, record.attempts);
    });
  }

  closeBreaker(rule: string, target: string): boolean {
    return this.#write(() => {
      return this.#statements.get('DELETE FROM breakers WHERE rule = ? AND target = ?').run(rule, target).changes > 0;
    });
  }

  /** Breakers still open at `now`. */
  openBreakers(now: string): BreakerRecord[] {
    return (this.#statements.get('SELECT * FROM breakers WHERE open_until > ? ORDER BY opened_at').all(now) as Row[]).map(toBreaker);
  }

  getSetting(key: string): string | undefined {
    const row = this.#statements.get('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setSetting(key: string, value: string): void {
    return this.#write(() => {
      this.#statements.get('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
    });
  }

  #toAction(row: Row, withSteps: boolean): ActionRecord {
    const id = Number(row.id);
    return {
      id,
      createdAt: String(row.created_at),
      updatedAt: String(row.updated_at),
      state: row.state as ActionState,
      reason: optionalString(row.reason),
      mode: row.mode as RemediationMode,
      rule: String(row.rule),
      cluster: String(row.cluster),
      targets: JSON.parse(String(row.targets)) as string[],
      chain: JSON.parse(String(row.chain)) as ChainStep[],
      alert: JSON.parse(String(row.alert)) as StoredAlert,
      receiver: String(row.receiver),
      strategyIndex: row.strategy_index === null ? undefined : Number(row.strategy_index),
      startedAt: optionalString(row.started_at),
      finishedAt: optionalString(row.finished_at),
      durationMs: row.duration_ms === null ? undefined : Number(row.duration_ms),
      before: parseJson(row.before_state),
      after: parseJson(row.after_state),
      error: optionalString(row.error),
      approvedBy: optionalString(row.approved_by),
      steps: withSteps ? this.#steps(id) : [],
    };
  }

  #steps(actionId: number): StepRecord[] {
    const rows = this.#statements.get('SELECT * FROM steps WHERE action_id = ? ORDER BY seq').all(actionId) as Row[];
    return rows.map((row) => ({
      seq: Number(row.seq),
      strategy: String(row.strategy),
      phase: row.phase as StepPhase,
      description: String(row.description),
      command: optionalString(row.command),
      status: row.status as StepStatus,
      startedAt: String(row.started_at),
      finishedAt: optionalString(row.finished_at),
      detail: parseJson(row.detail),
    }));
  }
}

function toBreaker(row: Row): BreakerRecord {
  return { rule: String(row.rule), target: String(row.target), openedAt: String(row.opened_at), openUntil: String(row.open_until), attempts: Number(row.attempts) };
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function parseJson(value: SQLInputValue | undefined): unknown {
  return value === null || value === undefined ? undefined : (JSON.parse(String(value)) as unknown);
}

function optionalString(value: SQLInputValue | undefined): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}
