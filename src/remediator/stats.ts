// The remediator's counters since the process started. They are read into a fresh registry on
// every scrape (metrics.ts); durable totals live in the audit trail, not here.
import type { WebhookAlert } from './alert-payload.ts';

/** Buckets for action durations: sub-second notifications up to half-hour verifications. */
export const DURATION_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800] as const;

export interface HistogramData {
  /** Cumulative counts per upper bound, in DURATION_BUCKETS order. */
  buckets: number[];
  sum: number;
  count: number;
}

export class RemediationStats {
  readonly alertsReceived = new Map<string, number>();
  deduplicated = 0;
  alreadyResolved = 0;
  unrouted = 0;
  cancelledByResolve = 0;
  /** Finished actions forgotten past audit_retention. */
  actionsPruned = 0;
  readonly actionsFinished = new Map<string, number>();
  readonly skips = new Map<string, number>();
  readonly escalations = new Map<string, number>();
  readonly durations = new Map<string, HistogramData>();

  delivery(alerts: readonly WebhookAlert[], result: { duplicates: number; alreadyResolved: number; unrouted: number; cancelled: readonly number[] }): void {
    for (const alert of alerts) increment(this.alertsReceived, alert.status);
    this.deduplicated += result.duplicates;
    this.alreadyResolved += result.alreadyResolved;
    this.unrouted += result.unrouted;
    this.cancelledByResolve += result.cancelled.length;
  }

  /** `seconds` only for actions that ran (succeeded or failed). */
  actionFinished(strategy: string | undefined, result: string, seconds: number | undefined): void {
    increment(this.actionsFinished, `${strategy ?? 'none'}\u0000${result}`);
    if (seconds === undefined || strategy === undefined) return;
    let histogram = this.durations.get(strategy);
    if (!histogram) {
      histogram = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.durations.set(strategy, histogram);
    }
    DURATION_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) histogram.buckets[i] = (histogram.buckets[i] as number) + 1;
    });
    histogram.sum += seconds;
    histogram.count++;
  }

  skipped(reason: string): void {
    increment(this.skips, reason);
  }

  escalated(reason: string): void {
    increment(this.escalations, reason);
  }
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
