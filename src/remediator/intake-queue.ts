// Group commit for the webhook: deliveries that arrive in the same turn of the event loop are
// written to the inbox in one durable transaction, so a burst costs one disk flush instead of one
// per request, and the acknowledgement latency stays flat when Alertmanager (or several) send at once.
import type { WebhookPayload } from './alert-payload.ts';
import type { RemediationEngine } from './engine.ts';

/** Deliveries per transaction at most; a larger backlog is written in several. */
const MAX_BATCH = 64;

interface Waiting {
  payload: WebhookPayload;
  resolve: (deliveryId: number) => void;
  reject: (error: unknown) => void;
}

export class IntakeQueue {
  readonly #engine: Pick<RemediationEngine, 'accept'>;
  #waiting: Waiting[] = [];
  #scheduled = false;

  constructor(engine: Pick<RemediationEngine, 'accept'>) {
    this.#engine = engine;
  }

  /** Resolves with the delivery's inbox id once it is persisted; rejects when it could not be. */
  submit(payload: WebhookPayload): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ payload, resolve, reject });
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
    try {
      const ids = this.#engine.accept(batch.map((w) => w.payload));
      batch.forEach((waiting, i) => waiting.resolve(ids[i] as number));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
