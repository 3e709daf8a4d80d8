// Per-queue depth, consumers and replication state, deduplicated cluster-wide. Depth comes fresh
// from every node's plugin; type, policy and membership from the queue metadata cache. Membership
// is intersected with the nodes running now, so a stopped node shows as a missing replica at once
// even while the metadata is a few seconds old.
import type { Collector } from '../collector.ts';
import type { MetricRegistry } from '../metrics/registry.ts';
import { expectedMirrors, type QueueMetadata } from '../queue-metadata.ts';
import type { QueueSettings } from '../settings.ts';
import type { QueueStatValues } from '../../rabbitmq/prometheus-plugin.ts';

export const QUEUE_LABELS = ['cluster', 'vhost', 'queue', 'type', 'node', 'policy', 'durable', 'self'] as const;
const CLUSTER = ['cluster'] as const;

interface QueueRow {
  meta: QueueMetadata;
  stats: QueueStatValues | undefined;
}

export const queuesCollector: Collector = {
  name: 'queues',
  async collect(ctx) {
    const { data, registry, clusterLabel } = ctx;
    const settings = data.resources.settings.queues;
    const [metadata, stats, nodes] = await Promise.all([data.queueMetadata(), data.queueStats(), data.nodes()]);
    const running = new Set(nodes.filter((n) => n.running).map((n) => n.name));
    const clusterNodes = nodes.map((n) => n.name);
    const nodesRead = new Set(stats.nodesRead);
    const servedFromCache = metadata.fetchedAt < ctx.now;

    const rows: QueueRow[] = [];
    let excluded = 0;
    for (const meta of metadata.queues) {
      if (!selected(meta, settings)) {
        excluded++;
        continue;
      }
      const queueStats = stats.byQueue.get(meta.key);
      // Cached metadata may list a queue deleted since: its leader answered and did not report it.
      if (!queueStats && servedFromCache && nodesRead.has(meta.node)) continue;
      rows.push({ meta, stats: queueStats });
    }

    const kept = applyCap(rows, settings.maxQueues);
    writeQueueFamilies(registry, clusterLabel, kept, settings.details === 'full', ctx.now);
    writeReplication(registry, clusterLabel, kept, running, clusterNodes);

    registry.gauge('warren_queues_exported', 'Queues with series in this scrape.', CLUSTER).set([clusterLabel], kept.length);
    registry.gauge('warren_queues_excluded', 'Queues left out by the include/exclude filters.', CLUSTER).set([clusterLabel], excluded);
    registry.gauge('warren_queues_omitted', 'Queues left out by max_queues (the deepest are kept).', CLUSTER).set([clusterLabel], rows.length - kept.length);
    writeReplicationSummary(registry, clusterLabel, rows, running, clusterNodes);
    const age = registry.gauge('warren_queue_metadata_age_seconds', 'Age of the queue metadata (type, policy, members) used by this scrape.', CLUSTER);
    age.set([clusterLabel], Math.max(0, (ctx.now - metadata.fetchedAt) / 1000));
    const missing = registry.gauge('warren_queue_stats_node_up', 'Whether a running node\'s plugin answered: 0 means its queues have no depth this scrape.', ['cluster', 'node']);
    for (const node of stats.nodesRead) missing.set([clusterLabel, node], 1);
    for (const failure of stats.failures) missing.set([clusterLabel, failure.node], 0);
    if (stats.failures.length > 0) {
      throw new Error(`plugin unreadable on ${stats.failures.map((f) => `${f.node} (${f.error})`).join(', ')}`);
    }
  },
};

function fullMatch(pattern: RegExp, value: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(value);
}

function selected(meta: QueueMetadata, settings: QueueSettings): boolean {
  return (
    fullMatch(settings.includeVhosts, meta.vhost) &&
    !(settings.excludeVhosts && fullMatch(settings.excludeVhosts, meta.vhost)) &&
    fullMatch(settings.include, meta.name) &&
    !(settings.exclude && fullMatch(settings.exclude, meta.name))
  );
}

/** The `max` deepest queues; queues without a known depth sort last. */
function applyCap(rows: QueueRow[], max: number): QueueRow[] {
  if (max <= 0 || rows.length <= max) return rows;
  const depth = (row: QueueRow) => row.stats?.get('messages') ?? -1;
  return [...rows].sort((a, b) => depth(b) - depth(a)).slice(0, max);
}

function labelsOf(cluster: string, meta: QueueMetadata): string[] {
  return [cluster, meta.vhost, meta.name, meta.type, meta.node, meta.policy, String(meta.durable), '1'];
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

function writeQueueFamilies(registry: MetricRegistry, cluster: string, rows: QueueRow[], details: boolean, now: number): void {
  const specs = details ? [...BASIC_STATS, ...DETAIL_STATS] : BASIC_STATS;
  const families = specs.map(([source, name, help]) => [source, registry.gauge(name, help, QUEUE_LABELS)] as const);
  const headTimestamp = details ? registry.gauge('rabbitmq_queue_head_message_timestamp', 'Timestamp property of the oldest message, seconds since the epoch (when publishers set it).', QUEUE_LABELS) : undefined;
  const headAge = details ? registry.gauge('warren_queue_head_message_age_seconds', 'Age of the oldest message by its timestamp property (when publishers set it).', QUEUE_LABELS) : undefined;
  const state = registry.gauge('rabbitmq_queue_state', 'Queue state (running, down, minority, ...); always 1.', [...QUEUE_LABELS, 'state']);
  for (const { meta, stats } of rows) {
    const labels = labelsOf(cluster, meta);
    state.set([...labels, normaliseState(meta.state)], 1);
    if (!stats) continue;
    for (const [source, family] of families) {
      const value = stats.get(source);
      if (value !== undefined) family.set(labels, value);
    }
    const timestamp = stats.get('head_message_timestamp');
    if (timestamp !== undefined && timestamp > 0 && headTimestamp && headAge) {
      const seconds = timestamp > 1e11 ? timestamp / 1000 : timestamp; // ms on some versions, s on others
      headTimestamp.set(labels, seconds);
      headAge.set(labels, Math.max(0, now / 1000 - seconds));
    }
  }
}

/** `columns=` answers report the running state as "live". */
function normaliseState(state: string): string {
  return state === 'live' || state === '' ? 'running' : state;
}

interface Replication {
  kind: 'mirrored' | 'quorum';
  members: number;
  online: number;
  /** Mirrored: expected mirrors per policy; quorum: members - 1. */
  expectedReplicas: number;
  synchronisedReplicas: number;
  leaderPresent: boolean;
  healthy: boolean;
}

export function replicationOf(meta: QueueMetadata, running: ReadonlySet<string>, clusterNodes: readonly string[]): Replication | undefined {
  const leaderPresent = meta.node !== '' && running.has(meta.node);
  if (meta.members !== undefined) {
    const online = (meta.online ?? []).filter((node) => running.has(node)).length;
    const members = meta.members.length;
    return { kind: 'quorum', members, online, expectedReplicas: Math.max(0, members - 1), synchronisedReplicas: Math.max(0, online - (leaderPresent ? 1 : 0)), leaderPresent, healthy: leaderPresent && online >= members };
  }
  if (meta.mirroring !== undefined || (meta.mirrors?.length ?? 0) > 0) {
    const expected = meta.mirroring ? expectedMirrors(meta.mirroring, clusterNodes) : (meta.mirrors?.length ?? 0);
    const synchronised = (meta.synchronisedMirrors ?? []).filter((node) => running.has(node)).length;
    const present = (meta.mirrors ?? []).filter((node) => running.has(node)).length;
    return { kind: 'mirrored', members: present + 1, online: present + (leaderPresent ? 1 : 0), expectedReplicas: expected, synchronisedReplicas: synchronised, leaderPresent, healthy: leaderPresent && synchronised >= expected };
  }
  return undefined;
}

function writeReplication(registry: MetricRegistry, cluster: string, rows: QueueRow[], running: ReadonlySet<string>, clusterNodes: readonly string[]): void {
  // Families without samples are not rendered, so a cluster without mirrored queues shows none.
  const f = {
    slaves: registry.gauge('rabbitmq_queue_slaves_nodes_len', 'Mirrors of a classic mirrored queue (kbudde name).', QUEUE_LABELS),
    syncedLen: registry.gauge('rabbitmq_queue_synchronised_slave_nodes_len', 'Synchronised mirrors of a classic mirrored queue (kbudde name).', QUEUE_LABELS),
    memberLen: registry.gauge('rabbitmq_queue_member_nodes_len', 'Members of a quorum queue or stream (kbudde name).', QUEUE_LABELS),
    onlineLen: registry.gauge('rabbitmq_queue_online_nodes_len', 'Members of a quorum queue or stream on running nodes (kbudde name).', QUEUE_LABELS),
    expected: registry.gauge('warren_queue_mirrors_expected', 'Mirrors a classic mirrored queue should have under its policy in this cluster.', QUEUE_LABELS),
    synced: registry.gauge('warren_queue_mirrors_synchronised', 'Synchronised mirrors on running nodes.', QUEUE_LABELS),
    unsynced: registry.gauge('warren_queue_mirrors_unsynchronised', 'Mirrors the policy asks for that are missing or not synchronised.', QUEUE_LABELS),
    members: registry.gauge('warren_queue_members', 'Replicas of a quorum queue or stream, leader included.', QUEUE_LABELS),
    online: registry.gauge('warren_queue_members_online', 'Replicas of a quorum queue or stream on running nodes.', QUEUE_LABELS),
    leader: registry.gauge('warren_queue_leader_present', 'Whether the queue\'s leader (or home node) is running: 1 yes.', QUEUE_LABELS),
    under: registry.gauge('warren_queue_under_replicated', 'Whether the queue lacks a replica or its leader: 1 under-replicated (quorum, stream) or unsynchronised (mirrored).', QUEUE_LABELS),
  };
  for (const { meta } of rows) {
    const replication = replicationOf(meta, running, clusterNodes);
    if (!replication) continue;
    const labels = labelsOf(cluster, meta);
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

function writeReplicationSummary(registry: MetricRegistry, cluster: string, rows: QueueRow[], running: ReadonlySet<string>, clusterNodes: readonly string[]): void {
  const counts = { quorum: { total: 0, unhealthy: 0 }, mirrored: { total: 0, unhealthy: 0 } };
  for (const { meta } of rows) {
    const replication = replicationOf(meta, running, clusterNodes);
    if (!replication) continue;
    counts[replication.kind].total++;
    if (!replication.healthy) counts[replication.kind].unhealthy++;
  }
  const total = registry.gauge('warren_queues_replicated', 'Replicated queues by kind (quorum: quorum queues and streams; mirrored: classic mirrored).', ['cluster', 'kind']);
  const unhealthy = registry.gauge('warren_queues_replication_unhealthy', 'Replicated queues that are under-replicated, unsynchronised or leaderless.', ['cluster', 'kind']);
  for (const kind of ['quorum', 'mirrored'] as const) {
    total.set([cluster, kind], counts[kind].total);
    unhealthy.set([cluster, kind], counts[kind].unhealthy);
  }
}

