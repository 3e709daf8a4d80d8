// Which queues a scrape reports: the metadata's queues that pass the include/exclude filters, less
// those the cache still lists but that were deleted since. The queues collector and the health
// score both read this one selection, so their replication counts cannot disagree.
import type { QueueStatValues } from '../rabbitmq/prometheus-plugin.ts';
import type { QueueMetadata, QueueMetadataSnapshot } from './queue-metadata.ts';
import type { QueueSettings } from './settings.ts';

export interface SelectedQueue {
  meta: QueueMetadata;
  /** Depth and consumers from the plugin; undefined when the leader's node could not be read. */
  stats: QueueStatValues | undefined;
}

export interface QueueSelection {
  queues: SelectedQueue[];
  /** Queues left out by the include/exclude filters. */
  excluded: number;
}

/** Per-queue stats by queue key; `leader` is where they are most likely found. */
export interface QueueStatsLookup {
  get(key: string, leader?: string): QueueStatValues | undefined;
}

export function selectQueues(
  metadata: QueueMetadataSnapshot,
  stats: { byQueue: QueueStatsLookup; nodesRead: readonly string[] },
  settings: QueueSettings,
  scrapeStartedAt: number,
): QueueSelection {
  const nodesRead = new Set(stats.nodesRead);
  const servedFromCache = metadata.fetchedAt < scrapeStartedAt;
  const { passing, excluded } = filtered(metadata, settings);
  const queues: SelectedQueue[] = [];
  for (const meta of passing) {
    const queueStats = stats.byQueue.get(meta.key, meta.node);
    // Cached metadata may list a queue deleted since: its leader answered and did not report it.
    if (!queueStats && servedFromCache && nodesRead.has(meta.node)) continue;
    queues.push({ meta, stats: queueStats });
  }
  return { queues, excluded };
}

/** Filter results per metadata snapshot: they change only with it, and scrapes reuse a snapshot for up to metadata_max_age. */
const filterCache = new WeakMap<QueueMetadataSnapshot, { settings: QueueSettings; passing: QueueMetadata[]; excluded: number }>();

function filtered(metadata: QueueMetadataSnapshot, settings: QueueSettings): { passing: readonly QueueMetadata[]; excluded: number } {
  const cached = filterCache.get(metadata);
  if (cached?.settings === settings) return cached;
  const passing = metadata.queues.filter((meta) => passesFilters(meta, settings));
  const result = { settings, passing, excluded: metadata.queues.length - passing.length };
  filterCache.set(metadata, result);
  return result;
}

/** The patterns are anchored (`^(?:...)$`) by the config loader. */
function passesFilters(meta: QueueMetadata, settings: QueueSettings): boolean {
  return (
    settings.includeVhosts.test(meta.vhost) &&
    !settings.excludeVhosts?.test(meta.vhost) &&
    settings.include.test(meta.name) &&
    !settings.exclude?.test(meta.name)
  );
}
