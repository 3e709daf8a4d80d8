// One scrape of one cluster: a fresh registry, every collector run concurrently against shared
// per-scrape data, each timed and its success recorded. A broker that is down or slow yields
// `rabbitmq_up 0` and failed collectors, never an exception: the HTTP answer stays 200.
import { untilAborted } from '../abort.ts';
import { describeError } from '../errors.ts';
import type { Collector, ScrapeContext } from './collector.ts';
import { MetricRegistry } from './metrics/registry.ts';
import { ScrapeData, type ClusterResources } from './scrape-data.ts';

export interface ScrapeResult {
  body: string;
  /** Collectors that failed, with why: for logs. */
  failures: { collector: string; error: string }[];
  durationSeconds: number;
}

export interface ScraperDeps {
  now?: () => number;
}

export class ClusterScraper {
  readonly resources: ClusterResources;
  readonly #collectors: readonly Collector[];
  readonly #now: () => number;
  #inFlight: Promise<ScrapeResult> | undefined;

  constructor(resources: ClusterResources, collectors: readonly Collector[], deps: ScraperDeps = {}) {
    this.resources = resources;
    this.#collectors = collectors;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Scrapes within `timeoutMs`. Concurrent callers (an HA pair of Prometheus servers scraping at
   * the same moment) share one scrape and so put one load on the broker.
   */
  scrape(timeoutMs: number): Promise<ScrapeResult> {
    this.#inFlight ??= this.#run(timeoutMs).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #run(timeoutMs: number): Promise<ScrapeResult> {
    const started = performance.now();
    const registry = new MetricRegistry();
    const signal = AbortSignal.timeout(timeoutMs);
    const cluster = this.resources.cluster;
    const data = new ScrapeData(this.resources, signal);
    const ctx: ScrapeContext = { cluster, clusterLabel: cluster.name, registry, data, signal, now: this.#now() };

    const success = registry.gauge('warren_scrape_collector_success', 'Whether a collector succeeded in this scrape: 1 yes.', ['cluster', 'collector']);
    const duration = registry.gauge('warren_scrape_collector_duration_seconds', 'How long a collector took in this scrape.', ['cluster', 'collector']);
    const failures: ScrapeResult['failures'] = [];
    await Promise.all(
      this.#collectors.map(async (collector) => {
        const collectorStarted = performance.now();
        try {
          await untilAborted(collector.collect(ctx), signal);
          success.set([cluster.name, collector.name], 1);
        } catch (error) {
          success.set([cluster.name, collector.name], 0);
          failures.push({ collector: collector.name, error: signal.aborted ? `scrape deadline of ${timeoutMs} ms passed` : describeError(error) });
        }
        duration.set([cluster.name, collector.name], (performance.now() - collectorStarted) / 1000);
      }),
    );
    // `up` means the management API answered this scrape (kbudde's meaning).
    const up = await data.overview().then(
      () => 1,
      () => 0,
    );
    registry.gauge('rabbitmq_up', 'Whether the cluster\'s management API answered this scrape: 1 yes.', ['cluster']).set([cluster.name], up);
    const durationSeconds = (performance.now() - started) / 1000;
    registry.gauge('warren_scrape_duration_seconds', 'How long the whole scrape took.', ['cluster']).set([cluster.name], durationSeconds);
    return { body: registry.render(), failures, durationSeconds };
  }
}
