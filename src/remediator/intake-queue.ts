// Group commit for the webhook: deliveries that arrive in the same turn of the event loop are
// written in one durable transaction, so a burst costs one disk flush instead of one per request,
// and the acknowledgement latency stays flat when Alertmanager (or several) send at once.
import type { WebhookPayload } from './alert-payload.ts';
import type { IntakeResult, RemediationEngine } from './engine.ts';

/** Deliveries per transaction at most; a larger backlog is written in several. */
const MAX_BATCH = 64;

interface Waiting {
  payload: WebhookPayload;
  resolve: (result: IntakeResult) => void;
  reject: (error: unknown) => void;
}

export class IntakeQueue {
  readonly #engine: Pick<RemediationEngine, 'receiveBatch'>;
  #waiting: Waiting[] = [];
  #scheduled = false;

  constructor(engine: Pick<RemediationEngine, 'receiveBatch'>) {
    this.#engine = engine;
  }

  /** Resolves once the delivery is persisted; rejects when it could not be. */
  submit(payload: WebhookPayload): Promise<IntakeResult> {
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
      const outcomes = this.#engine.receiveBatch(batch.map((w) => w.payload));
      batch.forEach((waiting, i) => {
        const outcome = outcomes[i];
        if (outcome?.ok) waiting.resolve(outcome.result);
        else waiting.reject(outcome ? outcome.error : new Error('no intake outcome'));
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
