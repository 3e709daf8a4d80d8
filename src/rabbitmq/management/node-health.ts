// Per-node health as seen by the management client: consecutive failures, latency, last error.
// Selection strategies read it; the exporter and `warren status` report it.

export interface NodeHealthSnapshot {
  node: string;
  /** False after `unhealthyAfterFailures` consecutive failures, until a request succeeds again. */
  healthy: boolean;
  consecutiveFailures: number;
  requests: number;
  failures: number;
  /** Exponentially weighted moving average of successful request latency. */
  latencyMs?: number | undefined;
  lastError?: string | undefined;
  lastFailureAt?: number | undefined;
  lastSuccessAt?: number | undefined;
}

// Weight of the newest sample in the latency average: reacts within a handful of requests.
const LATENCY_EWMA_ALPHA = 0.3;

export class NodeHealth {
  readonly node: string;
  readonly weight: number;
  #consecutiveFailures = 0;
  #requests = 0;
  #failures = 0;
  #latencyMs: number | undefined;
  #lastError: string | undefined;
  #lastFailureAt: number | undefined;
  #lastSuccessAt: number | undefined;
  readonly #unhealthyAfterFailures: number;
  readonly #retryUnhealthyAfterMs: number;

  constructor(node: string, weight: number, policy: { unhealthyAfterFailures: number; retryUnhealthyAfterMs: number }) {
    this.node = node;
    this.weight = weight;
    this.#unhealthyAfterFailures = policy.unhealthyAfterFailures;
    this.#retryUnhealthyAfterMs = policy.retryUnhealthyAfterMs;
  }

  get healthy(): boolean {
    return this.#consecutiveFailures < this.#unhealthyAfterFailures;
  }

  get latencyMs(): number | undefined {
    return this.#latencyMs;
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** Failure ratio over the node's lifetime, used to break ties. */
  get failureRatio(): number {
    return this.#requests === 0 ? 0 : this.#failures / this.#requests;
  }

  /**
   * Whether normal selection may pick this node first. An unhealthy node is benched until
   * `retryUnhealthyAfterMs` has passed since its last failure, then gets one probing request.
   */
  eligible(now: number): boolean {
    return this.healthy || now - (this.#lastFailureAt ?? 0) >= this.#retryUnhealthyAfterMs;
  }

  recordSuccess(latencyMs: number, now: number): void {
    this.#requests++;
    this.#consecutiveFailures = 0;
    this.#lastSuccessAt = now;
    this.#latencyMs = this.#latencyMs === undefined ? latencyMs : LATENCY_EWMA_ALPHA * latencyMs + (1 - LATENCY_EWMA_ALPHA) * this.#latencyMs;
  }

  recordFailure(error: string, now: number): void {
    this.#requests++;
    this.#failures++;
    this.#consecutiveFailures++;
    this.#lastError = error;
    this.#lastFailureAt = now;
  }

  snapshot(): NodeHealthSnapshot {
    return {
      node: this.node,
      healthy: this.healthy,
      consecutiveFailures: this.#consecutiveFailures,
      requests: this.#requests,
      failures: this.#failures,
      latencyMs: this.#latencyMs,
      lastError: this.#lastError,
      lastFailureAt: this.#lastFailureAt,
      lastSuccessAt: this.#lastSuccessAt,
    };
  }
}
