// The collector interface: like node_exporter, one file per collector under collectors/, each
// turning already-fetched (or lazily fetched, shared) data into metric families of a fresh
// per-scrape registry. The scraper times each collector and records its success.
import type { ClusterConfig } from '../config/types.ts';
import type { LabelBlockCache, MetricRegistry } from '../metrics/registry.ts';
import type { ScrapeData } from './scrape-data.ts';

export interface ScrapeContext {
  readonly cluster: ClusterConfig;
  /** Value of the `cluster` label: the configured cluster name. */
  readonly clusterLabel: string;
  readonly registry: MetricRegistry;
  /** Broker data for this scrape, fetched once and shared by every collector that asks. */
  readonly data: ScrapeData;
  /** Fires at the scrape deadline (from X-Prometheus-Scrape-Timeout-Seconds). */
  readonly signal: AbortSignal;
  /** Wall clock at scrape start, milliseconds. */
  readonly now: number;
  /** Lives as long as the scraper; absent in one-off contexts (the catalogue, tests). */
  readonly cache?: ScrapeCache | undefined;
}

/**
 * What collectors may keep between scrapes. At 10,000 queues, building each queue's label values
 * and `{...}` block anew every scrape made garbage collection the largest cost of a scrape; objects
 * that are replaced whenever their labels can change (a QueueMetadata snapshot entry) key them.
 */
export interface ScrapeCache {
  readonly labels: WeakMap<object, string[][]>;
  readonly labelBlocks: LabelBlockCache;
}

export interface Collector {
  /** Value of the `collector` label, e.g. `queues`. */
  readonly name: string;
  /**
   * Adds this collector's families to `ctx.registry`. Throwing marks the collector failed for this
   * scrape; whatever it added before throwing is still exposed.
   */
  collect(ctx: ScrapeContext): Promise<void>;
}
