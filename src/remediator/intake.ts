// Intake of webhook deliveries: the body is parsed and validated here, and what is valid is committed
// to the inbox with group commit: deliveries that arrive in the same turn of the event loop share
// one transaction, and those committed while a disk flush runs share the next flush, so a burst
// costs one flush instead of one per request, and a slow flush delays the deliveries waiting for it
// a little rather than queueing each behind the last. `warren remediator` runs this in the HTTP
// thread: the commit is a write to the operating system, and the flush runs on libuv's thread pool,
// so a request is answered without handing it to another thread and back (measured:
// docs/benchmarks.md).
import { MAX_NESTING, parseWebhookPayload, tooDeep, type PayloadProblem } from './alert-payload.ts';

/** Deliveries per transaction at most; a larger backlog is written in several. */
const MAX_BATCH = 64;

export type IntakeOutcome =
  | { ok: true; delivery: number; alerts: number }
  /** Malformed: a 400, which Alertmanager does not retry. */
  | { ok: false; error: string; problems?: PayloadProblem[] | undefined };

interface Waiting {
  json: string;
  alerts: number;
  resolve: (outcome: IntakeOutcome) => void;
  reject: (error: unknown) => void;
}

export class Intake {
  readonly #persist: (payloadJsons: string[]) => number[];
  readonly #onPersisted: () => void;
  readonly #acknowledgeable: () => Promise<void>;
  #waiting: Waiting[] = [];
  #scheduled = false;
  /** A batch is committed and waits until it may be acknowledged. */
  #awaitingFlush = false;

  /**
   * `persist` commits deliveries' JSON texts in one transaction and returns their inbox ids (it
   * throws when nothing could be written); `onPersisted` tells the engine; `acknowledgeable`
   * resolves when what was committed may be acknowledged (rejects when it could not be flushed).
   */
  constructor(persist: (payloadJsons: string[]) => number[], onPersisted: () => void = () => undefined, acknowledgeable: () => Promise<void> = () => Promise.resolve()) {
    this.#persist = persist;
    this.#onPersisted = onPersisted;
    this.#acknowledgeable = acknowledgeable;
  }

  /** Resolves once the delivery may be acknowledged (or is found malformed); rejects when it could not be persisted. */
  accept(body: string): Promise<IntakeOutcome> {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      return Promise.resolve({ ok: false, error: `body is not JSON: ${(error as Error).message}` });
    }
    const deep = tooDeep(json);
    if (deep !== undefined) return Promise.resolve({ ok: false, error: `body nests deeper than ${MAX_NESTING} levels (at ${deep || '(body)'})` });
    const parsed = parseWebhookPayload(json);
    if (!parsed.ok) return Promise.resolve({ ok: false, error: 'not an Alertmanager webhook payload (version 4)', problems: parsed.problems });
    const payloadJson = JSON.stringify(parsed.payload);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ json: payloadJson, alerts: parsed.payload.alerts.length, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#awaitingFlush) return;
    this.#scheduled = true;
    // After this turn's I/O callbacks: every delivery that arrived in this turn joins the batch.
    setImmediate(() => this.#commit());
  }

  #commit(): void {
    this.#scheduled = false;
    // Everything waiting, in transactions of at most MAX_BATCH, then one wait for all of them.
    const committed: { batch: Waiting[]; ids: number[] }[] = [];
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, MAX_BATCH);
      try {
        committed.push({ batch, ids: this.#persist(batch.map((w) => w.json)) });
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
    if (committed.length === 0) return;
    // Deliveries that arrive meanwhile wait, and are committed together once the flush is done: one
    // transaction and one flush for all of them, and no write to the log while it is being flushed.
    this.#awaitingFlush = true;
    Promise.resolve()
      .then(() => {
        this.#onPersisted();
        return this.#acknowledgeable();
      })
      .then(
        () => {
          for (const { batch, ids } of committed) batch.forEach((waiting, i) => waiting.resolve({ ok: true, delivery: ids[i] as number, alerts: waiting.alerts }));
        },
        (error: unknown) => {
          for (const { batch } of committed) for (const waiting of batch) waiting.reject(error);
        },
      )
      .finally(() => {
        this.#awaitingFlush = false;
        if (this.#waiting.length > 0) this.#schedule();
      });
  }
}
