// Per-queue depth, consumers and replication state, deduplicated cluster-wide. Depth comes fresh
// from every node's plugin; type, policy and membership from the queue metadata cache. Membership
// is intersected with the nodes running now, so a stopped node shows as a missing replica at once
// even while the metadata is a few seconds old.
//
// A node whose plugin cannot be read (stopped, drained by `rabbitmq-upgrade drain`, which suspends
// its listeners, or unreachable) costs only the depth of the queues it leads: they are still
// exported with their state, and warren_queue_stats_node_up/_unavailable say which node and why.
// The collector fails only when it has no queue view at all: the metadata or the node list cannot
// be read, or not one node's plugin answered.
import type { ClusterConfig } from '../../config/types.ts';
import { WarrenError } from '../../errors.ts';
import type { RabbitNode } from '../../rabbitmq/management/schemas.ts';
import type { Collector, ScrapeCache } from '../collector.ts';
import type { MetricRegistry } from '../../metrics/registry.ts';
import { queueAvailability, type QueueAvailability } from '../queue-availability.ts';
import { QUEUE_COUNTERS, type QueueCounterValues } from '../queue-counters.ts';
import type { SelectedQueue } from '../queue-selection.ts';
import { REPLICATION_KINDS, replicationOf, type Replication, type ReplicationKind } from '../replication.ts';
import type { QueueStats } from '../scrape-data.ts';

export const QUEUE_LABELS = ['cluster', 'vhost', 'queue', 'type', 'node', 'policy', 'durable', 'self'] as const;
const QUEUE_STATE_LABELS = [...QUEUE_LABELS, 'state'] as const;
const CLUSTER = ['cluster'] as const;

interface QueueRow extends SelectedQueue {
  /** Computed once per queue, read by the per-queue series and the cluster summary. */
  replication: Replication | undefined;
  /** Whether a running node can serve the queue now; gives the `state` label. */
  availability: QueueAvailability;
  /** Label values, built once and passed to every family: the registry renders them once too. */
  labelSets?: string[][];
}

export const queuesCollector: Collector = {
  name: 'queues',
  async collect(ctx) {
    const { data, registry, clusterLabel } = ctx;
    const settings = data.resources.settings.queues;
    // Every family is registered before the data is read, so docs/metrics.md can list them all.
    const families = registerFamilies(registry, settings.details === 'full', settings.counters.enabled);
    const [metadata, stats, nodes, selection, counters] = await Promise.all([data.queueMetadata(), data.queueStats(), data.nodes(), data.selectedQueues(), settings.counters.enabled ? data.queueCounters() : undefined]);
    const running = new Set(nodes.filter((n) => n.running).map((n) => n.name));
    const clusterNodes = nodes.map((n) => n.name);
    // Own rows: the selection is shared with the health score and stays untouched.
    const rows: QueueRow[] = selection.queues.map((queue) => ({ ...queue, replication: replicationOf(queue.meta, running, clusterNodes), availability: queueAvailability(queue.meta, running) }));
    const excluded = selection.excluded;

    const kept = applyCap(rows, settings.maxQueues);
    writeQueueSeries(families.perQueue, clusterLabel, kept, ctx.now, ctx.cache);
    writeReplication(families.replication, clusterLabel, kept, ctx.cache);
    if (families.counters && counters) {
      writeCounters(families.counters.perQueue, clusterLabel, kept, counters.byQueue, ctx.cache);
      families.counters.age.set([clusterLabel], Math.max(0, (ctx.now - counters.finishedAt) / 1000));
    }

    families.exported.set([clusterLabel], kept.length);
    // Over every selected queue, like the replication counts: max_queues keeps the deepest, and a down queue has no depth.
    families.unavailable.set([clusterLabel], rows.filter((row) => !row.availability.available).length);
    families.excluded.set([clusterLabel], excluded);
    families.omitted.set([clusterLabel], rows.length - kept.length);
    writeReplicationSummary(families.summary, clusterLabel, rows);
    families.metadataAge.set([clusterLabel], Math.max(0, (ctx.now - metadata.fetchedAt) / 1000));
    const statsNodes = queueStatsNodes(ctx.cluster, nodes, stats);
    for (const { node, unavailable } of statsNodes) {
      families.statsNodeUp.set([clusterLabel, node], unavailable ? 0 : 1);
      if (unavailable) families.statsNodeUnavailable.set([clusterLabel, node, unavailable], 1);
    }
    if (stats.nodesRead.length === 0 && stats.failures.length > 0) {
      const why = statsNodes.filter((n) => n.error !== undefined).map((n) => `${n.node} (${n.unavailable}: ${n.error})`);
      throw new WarrenError('MANAGEMENT_UNAVAILABLE', `no node's prometheus plugin answered, so no queue has a depth: ${why.join(', ')}`);
    }
  },
};

/** Why a node's queue depth is missing from this scrape. */
type StatsUnavailableReason = 'maintenance' | 'not_running' | 'unreachable';

interface QueueStatsNode {
  node: string;
  /** Undefined: the plugin was read. */
  unavailable?: StatsUnavailableReason | undefined;
  error?: string | undefined;
}

/**
 * Every node with a prometheus_url, read or not. A running node whose plugin failed is in
 * maintenance when the management API says it is being drained (4.x reports `being_drained`;
 * 3.10 does not, so there a drained node reads as unreachable).
 */
function queueStatsNodes(cluster: Pick<ClusterConfig, 'nodes'>, nodes: readonly RabbitNode[], stats: Pick<QueueStats, 'nodesRead' | 'failures'>): QueueStatsNode[] {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const result = new Map<string, QueueStatsNode>();
  for (const node of cluster.nodes) if (node.prometheusUrl) result.set(node.name, { node: node.name, unavailable: 'not_running' });
  for (const node of stats.nodesRead) result.set(node, { node });
  for (const { node, error } of stats.failures) {
    result.set(node, { node, unavailable: byName.get(node)?.being_drained === true ? 'maintenance' : 'unreachable', error });
  }
  return [...result.values()];
}

/** The `max` deepest queues; queues without a known depth sort last. */
function applyCap(rows: QueueRow[], max: number): QueueRow[] {
  if (max <= 0 || rows.length <= max) return rows;
  const depth = (row: QueueRow) => row.stats?.get('messages') ?? -1;
  return [...rows].sort((a, b) => depth(b) - depth(a)).slice(0, max);
}

/**
 * The queue's label values (and, second, with its state), reused across scrapes while its metadata
 * entry lives; the state set is rebuilt when the state changes (its node stopped or came back).
 */
function labelSets(cluster: string, row: QueueRow, cache: ScrapeCache | undefined): string[][] {
  const { meta } = row;
  const { state } = row.availability;
  let sets = row.labelSets ?? cache?.labels.get(meta);
  if (!sets || sets[0]?.[0] !== cluster) {
    const labels = [cluster, meta.vhost, meta.name, meta.type, meta.node, meta.policy, String(meta.durable), '1'];
    sets = [labels, [...labels, state]];
    cache?.labels.set(meta, sets);
  } else if (sets[1]?.[QUEUE_LABELS.length] !== state) {
    const labels = sets[0] as string[];
    sets = [labels, [...labels, state]];
    cache?.labels.set(meta, sets);
  }
  row.labelSets = sets;
  return sets;
}

function labelsOf(cluster: string, row: QueueRow, cache: ScrapeCache | undefined): string[] {
  return labelSets(cluster, row, cache)[0] as string[];
}

/** Plugin metric (without the rabbitmq_detailed_queue_ prefix) -> exported family. */
const BASIC_STATS: [string, string, string][] = [
  ['messages_ready', 'rabbitmq_queue_messages_ready', 'Messages ready for delivery.'],
  ['messages_unacked', 'rabbitmq_queue_messages_unacknowledged', 'Messages delivered and not yet acknowledged.'],
  ['messages', 'rabbitmq_queue_messages', 'Messages in the queue: ready plus unacknowledged.'],
  ['consumers', 'rabbitmq_queue_consumers', 'Consumers of the queue.'],
];
const DETAIL_STATS: [string, string, string][] = [
  ['consumer_utilisation', 'rabbitmq_queue_consumer_utilisation', 'Fraction of time the queue could deliver to consumers immediately (0-1).'],
  ['messages_bytes', 'rabbitmq_queue_message_bytes', 'Bytes of message bodies in the queue.'],
  ['messages_ready_bytes', 'rabbitmq_queue_message_bytes_ready', 'Bytes of ready message bodies.'],
  ['messages_unacked_bytes', 'rabbitmq_queue_message_bytes_unacknowledged', 'Bytes of unacknowledged message bodies.'],
  ['process_memory_bytes', 'rabbitmq_queue_memory', 'Memory of the queue process, bytes.'],
  ['messages_persistent', 'rabbitmq_queue_messages_persistent', 'Persistent messages in the queue.'],
];

type QueueFamilies = ReturnType<typeof registerFamilies>;

/** Every family of the collector; the detail families only with `details: full`. */
function registerFamilies(registry: MetricRegistry, details: boolean, counters: boolean) {
  const perQueue = (name: string, help: string) => registry.gauge(name, help, QUEUE_LABELS);
  const perCluster = (name: string, help: string) => registry.gauge(name, help, CLUSTER);
  const perKind = (name: string, help: string) => registry.gauge(name, help, ['cluster', 'kind']);
  return {
    perQueue: {
      stats: (details ? [...BASIC_STATS, ...DETAIL_STATS] : BASIC_STATS).map(([source, name, help]) => ({ source, family: perQueue(name, help) })),
      head: details
        ? {
            timestamp: perQueue('rabbitmq_queue_head_message_timestamp', 'Timestamp property of the oldest message, seconds since the epoch (when publishers set it).'),
            age: perQueue('warren_queue_head_message_age_seconds', 'Age of the oldest message by its timestamp property (when publishers set it).'),
          }
        : undefined,
      state: registry.gauge('rabbitmq_queue_state', 'Queue state as RabbitMQ reports it (running, idle, flow, ...), or down when no running node can serve the queue (its node is stopped; a quorum queue or stream without a majority); always 1.', QUEUE_STATE_LABELS),
    },
    replication: {
      slaves: perQueue('rabbitmq_queue_slaves_nodes_len', 'Mirrors of a classic mirrored queue (kbudde name).'),
      syncedLen: perQueue('rabbitmq_queue_synchronised_slave_nodes_len', 'Synchronised mirrors of a classic mirrored queue (kbudde name).'),
      memberLen: perQueue('rabbitmq_queue_member_nodes_len', 'Members of a quorum queue or stream (kbudde name).'),
      onlineLen: perQueue('rabbitmq_queue_online_nodes_len', 'Members of a quorum queue or stream on running nodes (kbudde name).'),
      expected: perQueue('warren_queue_mirrors_expected', 'Mirrors a classic mirrored queue should have under its policy in this cluster.'),
      synced: perQueue('warren_queue_mirrors_synchronised', 'Synchronised mirrors on running nodes.'),
      unsynced: perQueue('warren_queue_mirrors_unsynchronised', 'Mirrors the policy asks for that are missing or not synchronised.'),
      members: perQueue('warren_queue_members', 'Replicas of a quorum queue or stream, leader included.'),
      online: perQueue('warren_queue_members_online', 'Replicas of a quorum queue or stream on running nodes.'),
      leader: perQueue('warren_queue_leader_present', 'Whether the queue\'s leader (or home node) is running: 1 yes.'),
      under: perQueue('warren_queue_under_replicated', 'Whether the queue lacks a replica or its leader: 1 under-replicated (quorum, stream) or unsynchronised (mirrored).'),
    },
    exported: perCluster('warren_queues_exported', 'Queues with series in this scrape, including those without depth and those that are down.'),
    unavailable: perCluster('warren_queues_unavailable', 'Queues (after the include/exclude filters) that no running node can serve now: state down. RabbitMQ\'s own count, rabbitmq_queues, leaves out a classic queue whose node is stopped; warren exports it.'),
    excluded: perCluster('warren_queues_excluded', 'Queues left out by the include/exclude filters.'),
    omitted: perCluster('warren_queues_omitted', 'Queues left out by max_queues (the deepest are kept).'),
    summary: {
      replicated: perKind('warren_queues_replicated', 'Replicated queues by kind: quorum (quorum queues), stream (streams), mirrored (classic mirrored, 3.x).'),
      unhealthy: perKind('warren_queues_replication_unhealthy', 'Replicated queues that are under-replicated, unsynchronised or leaderless.'),
    },
    metadataAge: perCluster('warren_queue_metadata_age_seconds', 'Age of the queue metadata (type, policy, members) used by this scrape.'),
    counters: counters
      ? {
          perQueue: QUEUE_COUNTERS.map(([field, name, help]) => ({ field, family: registry.counter(name, `${help} Opt-in: exporter.queues.counters.`, QUEUE_LABELS) })),
          age: perCluster('warren_queue_counters_age_seconds', 'Age of the per-queue counters (read in the background every exporter.queues.counters.interval).'),
        }
      : undefined,
    statsNodeUp: registry.gauge('warren_queue_stats_node_up', 'Whether the node\'s rabbitmq_prometheus plugin was read in this scrape (every node with a prometheus_url): 0 means the queues it leads have no depth this scrape.', ['cluster', 'node']),
    statsNodeUnavailable: registry.gauge(
      'warren_queue_stats_node_unavailable',
      'Why a node\'s queue depth is missing from this scrape, always 1: reason maintenance (being drained: its listeners are suspended), not_running, or unreachable (running, but its plugin did not answer).',
      ['cluster', 'node', 'reason'],
    ),
  };
}

function writeQueueSeries(f: QueueFamilies['perQueue'], cluster: string, rows: QueueRow[], now: number, cache: ScrapeCache | undefined): void {
  for (const row of rows) {
    const { stats } = row;
    const [labels, stateLabels] = labelSets(cluster, row, cache) as [string[], string[]];
    f.state.set(stateLabels, 1);
    if (!stats) continue;
    for (const { source, family } of f.stats) {
      const value = stats.get(source);
      if (value !== undefined) family.set(labels, value);
    }
    const timestamp = stats.get('head_message_timestamp');
    if (timestamp !== undefined && timestamp > 0 && f.head) {
      const seconds = timestamp > 1e11 ? timestamp / 1000 : timestamp; // ms on some versions, s on others
      f.head.timestamp.set(labels, seconds);
      f.head.age.set(labels, Math.max(0, now / 1000 - seconds));
    }
  }
}

/** A queue the management API reports no message_stats for has seen no traffic: its counters are 0. */
function writeCounters(f: NonNullable<QueueFamilies['counters']>['perQueue'], cluster: string, rows: QueueRow[], byQueue: ReadonlyMap<string, QueueCounterValues>, cache: ScrapeCache | undefined): void {
  for (const row of rows) {
    const values = byQueue.get(row.meta.key);
    const labels = labelsOf(cluster, row, cache);
    for (const { field, family } of f) family.set(labels, values?.[field] ?? 0);
  }
}

function writeReplication(f: QueueFamilies['replication'], cluster: string, rows: QueueRow[], cache: ScrapeCache | undefined): void {
  // Families without samples are not rendered, so a cluster without mirrored queues shows none.
  for (const row of rows) {
    const { meta, replication } = row;
    if (!replication) continue;
    const labels = labelsOf(cluster, row, cache);
    if (replication.kind === 'mirrored') {
      f.slaves.set(labels, meta.mirrors?.length ?? 0);
      f.syncedLen.set(labels, meta.synchronisedMirrors?.length ?? 0);
      f.expected.set(labels, replication.expectedReplicas);
      f.synced.set(labels, replication.synchronisedReplicas);
      f.unsynced.set(labels, Math.max(0, replication.expectedReplicas - replication.synchronisedReplicas));
    } else {
      f.memberLen.set(labels, replication.members);
      f.onlineLen.set(labels, replication.online);
      f.members.set(labels, replication.members);
      f.online.set(labels, replication.online);
    }
    f.leader.set(labels, replication.leaderPresent ? 1 : 0);
    f.under.set(labels, replication.healthy ? 0 : 1);
  }
}

function writeReplicationSummary(f: QueueFamilies['summary'], cluster: string, rows: QueueRow[]): void {
  const counts = Object.fromEntries(REPLICATION_KINDS.map((kind) => [kind, { total: 0, unhealthy: 0 }])) as Record<ReplicationKind, { total: number; unhealthy: number }>;
  for (const { replication } of rows) {
    if (!replication) continue;
    counts[replication.kind].total++;
    if (!replication.healthy) counts[replication.kind].unhealthy++;
  }
  for (const kind of REPLICATION_KINDS) {
    f.replicated.set([cluster, kind], counts[kind].total);
    f.unhealthy.set([cluster, kind], counts[kind].unhealthy);
  }
}
