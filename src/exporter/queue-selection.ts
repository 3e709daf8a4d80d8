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

export function selectQueues(
  metadata: QueueMetadataSnapshot,
  stats: { byQueue: ReadonlyMap<string, QueueStatValues>; nodesRead: readonly string[] },
  settings: QueueSettings,
  scrapeStartedAt: number,
): QueueSelection {
  const nodesRead = new Set(stats.nodesRead);
  const servedFromCache = metadata.fetchedAt < scrapeStartedAt;
  const queues: SelectedQueue[] = [];
  let excluded = 0;
  for (const meta of metadata.queues) {
    if (!passesFilters(meta, settings)) {
      excluded++;
      continue;
    }
    const queueStats = stats.byQueue.get(meta.key);
    // Cached metadata may list a queue deleted since: its leader answered and did not report it.
    if (!queueStats && servedFromCache && nodesRead.has(meta.node)) continue;
    queues.push({ meta, stats: queueStats });
  }
  return { queues, excluded };
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
