// Every metric family the exporter can expose, read from the code rather than maintained by hand.
// Each collector registers all of its families before it reads any data, so running the app's own
// collector list against empty data and reading back the registries yields the complete list.
// docs/metrics.md is rendered from it (scripts/generate-metrics-doc.ts); a unit test keeps it current.
import type { ClusterConfig } from '../../config/types.ts';
import { collectorsFor } from '../app.ts';
import type { ScrapeContext } from '../collector.ts';
import { QueueStatsByNode, type ClusterResources, type ScrapeData } from '../scrape-data.ts';
import { registerScrapeFamilies } from '../scraper.ts';
import { defaultExporterSettings, type ExporterSettings, type QueueSettings } from '../settings.ts';
import { MetricRegistry, type MetricDefinition } from '../../metrics/registry.ts';

/** The `source` of the families the scraper itself writes around the collectors. */
export const SCRAPER_SOURCE = 'scrape';

export interface CatalogueEntry extends MetricDefinition {
  /** The collector that writes the family (its `collector` label value), or `scrape` for the scraper's own. */
  source: string;
  /** Exported only with `exporter.queues.details: full`. */
  fullQueueDetailsOnly: boolean;
}

/**
 * What the broker answers while the catalogue is taken: `empty`, a cluster with nothing in it, or
 * `failing`, every read rejected. Both give the same list as long as every collector registers its
 * families before reading data, which the unit test checks; the documentation uses `empty`.
 */
export type CatalogueAnswers = 'empty' | 'failing';

/** Scraper families first, then each collector's in the app's collector order and registration order. */
export async function metricCatalogue(answers: CatalogueAnswers = 'empty'): Promise<CatalogueEntry[]> {
  const full = await definitionsFor(catalogueSettings('full'), answers);
  const basic = new Set((await definitionsFor(catalogueSettings('basic'), answers)).map((entry) => entry.name));
  return full.map((entry) => ({ ...entry, fullQueueDetailsOnly: !basic.has(entry.name) }));
}

/** Everything on: the AMQP probe, queue details as asked, and (below) a host sampler. */
function catalogueSettings(details: QueueSettings['details']): ExporterSettings {
  const defaults = defaultExporterSettings();
  return { ...defaults, amqpProbe: { ...defaults.amqpProbe, enabled: true }, queues: { ...defaults.queues, details, counters: { ...defaults.queues.counters, enabled: true } } };
}

async function definitionsFor(settings: ExporterSettings, answers: CatalogueAnswers): Promise<(MetricDefinition & { source: string })[]> {
  const scraperRegistry = new MetricRegistry();
  registerScrapeFamilies(scraperRegistry);
  const entries = definitionsOf(scraperRegistry, SCRAPER_SOURCE);
  // A sampler without a sample: the host collector registers its families, then throws.
  for (const collector of collectorsFor(settings, { latest: () => undefined }, true)) {
    const ctx = scrapeContext(settings, answers);
    await collector.collect(ctx).catch(() => undefined); // what was registered before a throw is all we need
    entries.push(...definitionsOf(ctx.registry, collector.name));
  }
  return entries;
}

function definitionsOf(registry: MetricRegistry, source: string): (MetricDefinition & { source: string })[] {
  return registry.families().map((family) => ({ source, ...family.definition }));
}

/** A scrape of a cluster with no nodes, no queues and no probe results, or of one that cannot be read. */
function scrapeContext(settings: ExporterSettings, answers: CatalogueAnswers): ScrapeContext {
  const signal = new AbortController().signal;
  const answer = <T>(empty: T) => (): Promise<T> => (answers === 'empty' ? Promise.resolve(empty) : Promise.reject(new Error('broker unreadable')));
  // Omit<ScrapeData, ...> makes a new ScrapeData source a compile error here until it has an answer.
  const data: Omit<ScrapeData, 'resources'> & { resources: Pick<ClusterResources, 'settings'> } = {
    resources: { settings },
    signal,
    startedAt: 0,
    overview: answer({}),
    nodes: answer([]),
    queueMetadata: answer({ queues: [], fetchedAt: 0, fetchMs: 0 }),
    queueStats: answer({ byQueue: new QueueStatsByNode(), nodesRead: [], failures: [] }),
    selectedQueues: answer({ queues: [], excluded: 0 }),
    healthChecks: answer({ checks: [], finishedAt: 0 }),
    amqpProbes: answer({ outcomes: [], finishedAt: 0 }),
    queueCounters: answer(undefined),
  };
  // Collectors read only the cluster's name and nodes.
  const cluster: Pick<ClusterConfig, 'name' | 'nodes'> = { name: 'catalogue', nodes: [] };
  return { cluster: cluster as ClusterConfig, clusterLabel: cluster.name, registry: new MetricRegistry(), data: data as ScrapeData, signal, now: 0 };
}
