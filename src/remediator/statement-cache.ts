// Prepared statements kept per SQL text, for the remediator's SQLite files: preparing costs more
// than running the small statements they use (a 50-alert delivery once spent about half its intake
// time in prepare). Only for SQL whose text comes from a fixed set.
import type { DatabaseSync, StatementSync } from 'node:sqlite';

export class StatementCache {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

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
