// Group commit for the webhook: deliveries that arrive in the same turn of the event loop are
// written to the inbox in one durable transaction, so a burst costs one disk flush instead of one
// per request, and the acknowledgement latency stays flat when Alertmanager (or several) send at once.
import type { WebhookPayload } from './alert-payload.ts';

/** Deliveries per transaction at most; a larger backlog is written in several. */
const MAX_BATCH = 64;

/** Persists deliveries' JSON texts in one durable transaction; resolves with their inbox ids. */
export type PersistDeliveries = (payloadJsons: string[]) => Promise<number[]>;

interface Waiting {
  json: string;
  resolve: (deliveryId: number) => void;
  reject: (error: unknown) => void;
}

export class IntakeQueue {
  readonly #persist: PersistDeliveries;
  #waiting: Waiting[] = [];
  #scheduled = false;

  constructor(persist: PersistDeliveries) {
    this.#persist = persist;
  }

  /** Resolves with the delivery's inbox id once it is persisted; rejects when it could not be. */
  submit(payload: WebhookPayload): Promise<number> {
    // Serialised here, in the thread that validated it: a text crosses to the engine's thread cheaply.
    const json = JSON.stringify(payload);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ json, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After this turn's I/O callbacks: every request whose body arrived in this turn joins the batch.
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#waiting.splice(0, MAX_BATCH);
    if (this.#waiting.length > 0) this.#schedule();
    if (batch.length === 0) return;
    let persisted: Promise<number[]>;
    try {
      persisted = this.#persist(batch.map((w) => w.json));
    } catch (error) {
      persisted = Promise.reject(error);
    }
    persisted.then(
      (ids) => batch.forEach((waiting, i) => waiting.resolve(ids[i] as number)),
      (error: unknown) => batch.forEach((waiting) => waiting.reject(error)),
    );
  }
}
