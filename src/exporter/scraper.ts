// One scrape of one cluster: a fresh registry, every collector run concurrently against shared
// per-scrape data, each timed and its success recorded. A broker that is down or slow yields
// `rabbitmq_up 0` and failed collectors, never an exception: the HTTP answer stays 200.
import { untilAborted } from '../abort.ts';
import { describeError } from '../errors.ts';
import type { Collector, ScrapeCache, ScrapeContext } from './collector.ts';
import { MetricRegistry } from '../metrics/registry.ts';
import { ScrapeData, type ClusterResources } from './scrape-data.ts';

export interface ScrapeResult {
  /**
   * The exposition text, UTF-8, in chunks rendered as they are taken (MetricRegistry.chunks); each
   * call renders anew, so callers sharing one scrape each write their own.
   */
  body: () => Iterable<Buffer>;
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
  readonly #cache: ScrapeCache = { labels: new WeakMap(), labelBlocks: new WeakMap() };
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
    // A joining caller gets the running scrape, bounded by its first caller's (clamped) deadline.
    return this.#inFlight;
  }

  async #run(timeoutMs: number): Promise<ScrapeResult> {
    const started = performance.now();
    const registry = new MetricRegistry({ labelBlocks: this.#cache.labelBlocks });
    const signal = AbortSignal.timeout(timeoutMs);
    const cluster = this.resources.cluster;
    const now = this.#now();
    const data = new ScrapeData(this.resources, signal, now);
    const ctx: ScrapeContext = { cluster, clusterLabel: cluster.name, registry, data, signal, now, cache: this.#cache };

    const families = registerScrapeFamilies(registry);
    const failures: ScrapeResult['failures'] = [];
    await Promise.all(
      this.#collectors.map(async (collector) => {
        const collectorStarted = performance.now();
        try {
          await untilAborted(collector.collect(ctx), signal);
          families.collectorSuccess.set([cluster.name, collector.name], 1);
        } catch (error) {
          families.collectorSuccess.set([cluster.name, collector.name], 0);
          failures.push({ collector: collector.name, error: signal.aborted ? `scrape deadline of ${timeoutMs} ms passed` : describeError(error) });
        }
        families.collectorDuration.set([cluster.name, collector.name], (performance.now() - collectorStarted) / 1000);
      }),
    );
    // `up` means the management API answered this scrape (kbudde's meaning).
    const up = await data.overview().then(
      () => 1,
      () => 0,
    );
    families.up.set([cluster.name], up);
    const durationSeconds = (performance.now() - started) / 1000;
    families.scrapeDuration.set([cluster.name], durationSeconds);
    const body = () => registry.chunks();
    // Background work this scrape found due starts now, so it does not slow the scrape itself.
    this.resources.queueMetadata.afterScrape();
    return { body, failures, durationSeconds };
  }
}

/** The scraper's own families, also listed in docs/metrics.md (see metrics/catalogue.ts). */
export function registerScrapeFamilies(registry: MetricRegistry) {
  return {
    collectorSuccess: registry.gauge('warren_scrape_collector_success', 'Whether a collector succeeded in this scrape: 1 yes.', ['cluster', 'collector']),
    collectorDuration: registry.gauge('warren_scrape_collector_duration_seconds', 'How long a collector took in this scrape.', ['cluster', 'collector']),
    up: registry.gauge('rabbitmq_up', 'Whether the cluster\'s management API answered this scrape: 1 yes.', ['cluster']),
    scrapeDuration: registry.gauge('warren_scrape_duration_seconds', 'How long the whole scrape took.', ['cluster']),
  };
}
