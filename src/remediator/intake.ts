// Intake of webhook deliveries: the body is parsed and validated here, and what is valid is written
// to the inbox with group commit: deliveries that arrive in the same turn of the event loop share
// one durable transaction, so a burst costs one disk flush instead of one per request, and a slow
// flush delays the deliveries waiting for it a little rather than queueing each behind the last.
// `warren remediator` runs this in the inbox writer's own thread, so neither the parsing (and its
// garbage) nor the flush holds up the HTTP thread.
import { parseWebhookPayload, type PayloadProblem } from './alert-payload.ts';

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
  #waiting: Waiting[] = [];
  #scheduled = false;

  /**
   * `persist` writes deliveries' JSON texts in one durable transaction and returns their inbox ids
   * (it throws when nothing could be written); `onPersisted` tells the engine.
   */
  constructor(persist: (payloadJsons: string[]) => number[], onPersisted: () => void = () => undefined) {
    this.#persist = persist;
    this.#onPersisted = onPersisted;
  }

  /** Resolves once the delivery is persisted (or found malformed); rejects when it could not be persisted. */
  accept(body: string): Promise<IntakeOutcome> {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      return Promise.resolve({ ok: false, error: `body is not JSON: ${(error as Error).message}` });
    }
    const parsed = parseWebhookPayload(json);
    if (!parsed.ok) return Promise.resolve({ ok: false, error: 'not an Alertmanager webhook payload (version 4)', problems: parsed.problems });
    const payloadJson = JSON.stringify(parsed.payload);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ json: payloadJson, alerts: parsed.payload.alerts.length, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After this turn's I/O callbacks: every delivery that arrived in this turn joins the batch.
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#waiting.splice(0, MAX_BATCH);
    if (this.#waiting.length > 0) this.#schedule();
    if (batch.length === 0) return;
    let ids: number[];
    try {
      ids = this.#persist(batch.map((w) => w.json));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, i) => waiting.resolve({ ok: true, delivery: ids[i] as number, alerts: waiting.alerts }));
    this.#onPersisted();
  }
}
