// The exporter's composition root: per-cluster resources and scrapers, and the HTTP routes
// /metrics (default cluster + host), /probe?target=CLUSTER (blackbox-style multi-target),
// /-/healthy, /-/ready.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterConfig, WarrenConfig } from '../config/types.ts';
import { basicAuthAccepts } from '../http/basic-auth.ts';
import { send, stream } from '../http/respond.ts';
import type { Logger } from '../logging.ts';
import { ManagementClient, tlsConnectOptions } from '../rabbitmq/management/client.ts';
import { PrometheusPluginClient } from '../rabbitmq/prometheus-plugin.ts';
import type { Collector } from './collector.ts';
import { amqpProbeCollector } from './collectors/amqp-probe.ts';
import { healthChecksCollector } from './collectors/health-checks.ts';
import { healthScoreCollector } from './collectors/health-score.ts';
import { hostCollector } from './collectors/host.ts';
import { processCollector } from './collectors/process.ts';
import { nodesCollector } from './collectors/nodes.ts';
import { overviewCollector } from './collectors/overview.ts';
import { queuesCollector } from './collectors/queues.ts';
import type { HostSampleSource, HostSampler } from './host-sampler.ts';
import { TEXT_CONTENT_TYPE } from '../metrics/registry.ts';
import { HealthCheckScheduler } from './health-check-scheduler.ts';
import { AmqpProbeScheduler } from './probe-scheduler.ts';
import { QueueCounterPoller } from './queue-counters.ts';
import { QueueMetadataCache } from './queue-metadata.ts';
import type { ClusterResources } from './scrape-data.ts';
import { ClusterScraper } from './scraper.ts';
import type { ExporterSettings } from './settings.ts';

export interface ExporterDeps {
  config: WarrenConfig;
  logger: Logger;
  /** Samples the host warren runs on; started and stopped by the caller. Absent: no host metrics. */
  hostSampler?: HostSampler | undefined;
  now?: () => number;
}

export interface ExporterApp {
  /** A node:http request listener. */
  handle: (request: IncomingMessage, response: ServerResponse) => void;
  close: () => Promise<void>;
}

/** Prometheus gives up at its timeout; answer a little before it with what is ready. */
const SCRAPE_TIMEOUT_MARGIN_MS = 500;

export function createExporterApp(deps: ExporterDeps): ExporterApp {
  const { config, logger } = deps;
  const settings = config.exporter;
  // One set of resources (connection pools, metadata cache, probe schedule) per cluster, whether
  // it is scraped through /metrics, /probe or both; created on first use.
  const resources = new Map<string, ClusterResources>();
  const scrapers = new Map<string, ClusterScraper>();

  function resourcesFor(cluster: ClusterConfig): ClusterResources {
    let found = resources.get(cluster.name);
    if (!found) {
      const management = new ManagementClient(cluster);
      const tls = tlsConnectOptions(cluster);
      const probes = settings.amqpProbe.enabled ? new AmqpProbeScheduler(cluster, settings.amqpProbe.intervalMs, deps.now) : undefined;
      probes?.start();
      const healthChecks = new HealthCheckScheduler(cluster, management, settings.healthChecks.intervalMs, deps.now);
      healthChecks.start();
      const { counters } = settings.queues;
      const queueCounters = counters.enabled ? new QueueCounterPoller(management, { intervalMs: counters.intervalMs, pageSize: counters.pageSize, logger, now: deps.now }) : undefined;
      queueCounters?.start();
      found = {
        cluster,
        settings,
        management,
        plugins: cluster.nodes.filter((n) => n.prometheusUrl).map((n) => new PrometheusPluginClient(n, cluster.management.timeoutMs, tls)),
        queueMetadata: new QueueMetadataCache(management, { maxAgeMs: settings.queues.metadataMaxAgeMs, refetchEveryScrapeBelowMs: settings.queues.metadataRefetchBelowMs, now: deps.now }),
        healthChecks,
        probes,
        queueCounters,
      };
      resources.set(cluster.name, found);
    }
    return found;
  }

  /** /metrics adds the host warren runs on and the exporter's own process; /probe reports the target cluster only. */
  function scraperFor(name: string, withHost: boolean): ClusterScraper {
    const key = `${name}\u0000${withHost}`;
    let scraper = scrapers.get(key);
    if (!scraper) {
      scraper = new ClusterScraper(resourcesFor(clusterNamed(config, name)), collectorsFor(settings, withHost ? deps.hostSampler : undefined, withHost), { now: deps.now });
      scrapers.set(key, scraper);
    }
    return scraper;
  }

  const defaultScraper = scraperFor(config.defaultCluster, true);

  async function serveScrape(scraper: ClusterScraper, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const result = await scraper.scrape(scrapeTimeoutMs(request, settings.defaultScrapeTimeoutMs));
    for (const failure of result.failures) logger.warn({ cluster: scraper.resources.cluster.name, ...failure }, 'collector failed');
    await stream(response, 200, TEXT_CONTENT_TYPE, result.body());
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return send(response, 405, 'text/plain', 'method not allowed\n');
    }
    const url = new URL(request.url ?? '/', 'http://exporter');
    if (url.pathname === '/-/healthy' || url.pathname === '/-/ready') return send(response, 200, 'text/plain', 'OK\n');
    if (settings.basicAuth && !basicAuthAccepts(request, settings.basicAuth)) {
      response.setHeader('www-authenticate', 'Basic realm="warren exporter"');
      return send(response, 401, 'text/plain', 'unauthorized\n');
    }
    switch (url.pathname) {
      case '/metrics':
        return serveScrape(defaultScraper, request, response);
      case '/probe': {
        const target = url.searchParams.get('target');
        if (!target) return send(response, 400, 'text/plain', 'missing ?target=CLUSTER\n');
        if (!config.clusters.has(target)) {
          return send(response, 400, 'text/plain', `unknown target ${JSON.stringify(target)}: configured clusters are ${[...config.clusters.keys()].join(', ')}\n`);
        }
        return serveScrape(scraperFor(target, false), request, response);
      }
      case '/':
        return send(response, 200, 'text/html; charset=utf-8', landingPage(config));
      default:
        return send(response, 404, 'text/plain', 'not found\n');
    }
  }

  return {
    handle(request, response) {
      route(request, response).catch((error: unknown) => {
        // Only a bug gets here: broker failures are metrics, not errors.
        logger.error({ err: error, url: request.url }, 'request failed');
        if (!response.headersSent) send(response, 500, 'text/plain', 'internal error\n');
        else response.destroy();
      });
    },
    async close() {
      const all = [...resources.values()];
      for (const { probes, healthChecks } of all) {
        probes?.stop();
        healthChecks.stop();
      }
      await Promise.all(all.map(({ queueCounters }) => queueCounters?.stop()));
      await Promise.all(all.flatMap(({ management, plugins }) => [management.close(), ...plugins.map((plugin) => plugin.close())]));
    },
  };
}

/**
 * The collectors of one cluster's scrapes, in the order docs/metrics.md lists them. Host metrics
 * need `sampler`; without it the health score covers the cluster only. `ownProcess` adds the
 * exporter's process metrics (on /metrics, not on /probe).
 */
export function collectorsFor(settings: ExporterSettings, sampler: HostSampleSource | undefined, ownProcess = false): Collector[] {
  const collectors: Collector[] = [overviewCollector, nodesCollector, queuesCollector, healthChecksCollector];
  if (settings.amqpProbe.enabled) collectors.push(amqpProbeCollector);
  if (sampler) collectors.push(hostCollector(sampler));
  collectors.push(healthScoreCollector(sampler));
  if (ownProcess) collectors.push(processCollector);
  return collectors;
}

function clusterNamed(config: WarrenConfig, name: string): ClusterConfig {
  const cluster = config.clusters.get(name);
  if (!cluster) throw new Error(`cluster ${name} is not configured`);
  return cluster;
}

/** Longest deadline honoured; Prometheus itself caps scrape_timeout at the scrape interval. */
const MAX_SCRAPE_TIMEOUT_MS = 300_000;

/**
 * The deadline Prometheus announces (X-Prometheus-Scrape-Timeout-Seconds), less a margin, in whole
 * milliseconds within [1, 300000]: the header is client input and timers take only that range.
 */
export function scrapeTimeoutMs(request: IncomingMessage, fallbackMs: number): number {
  const header = Number(request.headers['x-prometheus-scrape-timeout-seconds']);
  const announced = Number.isFinite(header) && header > 0 ? header * 1000 : fallbackMs;
  const withMargin = Math.max(announced - SCRAPE_TIMEOUT_MARGIN_MS, Math.min(announced, SCRAPE_TIMEOUT_MARGIN_MS));
  return Math.min(MAX_SCRAPE_TIMEOUT_MS, Math.max(1, Math.floor(withMargin)));
}

function landingPage(config: WarrenConfig): string {
  const probes = [...config.clusters.keys()].map((name) => `<li><a href="/probe?target=${encodeURIComponent(name)}">/probe?target=${escapeHtml(name)}</a></li>`).join('');
  return `<!doctype html><html><head><title>warren exporter</title></head><body><h1>warren exporter</h1>
<p>RabbitMQ cluster metrics. Default cluster: ${escapeHtml(config.defaultCluster)}.</p>
<ul><li><a href="/metrics">/metrics</a></li>${probes}<li><a href="/-/healthy">/-/healthy</a></li></ul></body></html>\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
