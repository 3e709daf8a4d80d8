// The broker data one scrape works from. Each source is fetched at most once per scrape, on first
// request, and shared by every collector that needs it (the health score reads what the node and
// queue collectors read, not a second copy).
import type { ClusterConfig } from '../config/types.ts';
import { describeError } from '../errors.ts';
import type { AmqpProbeResult } from '../rabbitmq/amqp-probe.ts';
import { ManagementUnavailableError, nodesFirstHand, type ManagementClient } from '../rabbitmq/management/client.ts';
import type { Overview, RabbitNode } from '../rabbitmq/management/schemas.ts';
import { QUEUE_FAMILIES, type NodeQueueStats, type PrometheusPluginClient, type QueueStatValues } from '../rabbitmq/prometheus-plugin.ts';
import type { HealthCheckRound, HealthCheckScheduler } from './health-check-scheduler.ts';
import type { AmqpProbeScheduler, ProbeRound } from './probe-scheduler.ts';
import type { QueueCounterPoller, QueueCounterSnapshot } from './queue-counters.ts';
import type { QueueMetadataCache, QueueMetadataSnapshot } from './queue-metadata.ts';
import { selectQueues, type QueueSelection } from './queue-selection.ts';
import type { ExporterSettings } from './settings.ts';

/** Long-lived per-cluster resources: connection pools, caches. Built once by the exporter app. */
export interface ClusterResources {
  cluster: ClusterConfig;
  settings: ExporterSettings;
  management: ManagementClient;
  /** One per node that has a prometheus_url. */
  plugins: readonly PrometheusPluginClient[];
  queueMetadata: QueueMetadataCache;
  /** The health-check endpoints, run every exporter.health_checks.interval. */
  healthChecks: HealthCheckScheduler;
  /** Present when the AMQP probe is enabled. */
  probes?: AmqpProbeScheduler | undefined;
  /** Present when per-queue counters are enabled. */
  queueCounters?: QueueCounterPoller | undefined;
}

export interface QueueStats {
  /** Per-queue values keyed by queueKey(vhost, name), over the nodes read. */
  byQueue: QueueStatsByNode;
  /** Nodes whose plugin was read. */
  nodesRead: string[];
  /** Running nodes whose plugin could not be read: their queues have no depth this scrape. */
  failures: { node: string; error: string }[];
}

export interface ProbeOutcome extends AmqpProbeResult {
  /** `load_balancer` or the node name the probe connected to. */
  target: string;
}

export class ScrapeData {
  readonly resources: ClusterResources;
  readonly signal: AbortSignal;
  readonly #memo = new Map<string, Promise<unknown>>();

  /** Wall clock at scrape start, milliseconds. */
  readonly startedAt: number;

  constructor(resources: ClusterResources, signal: AbortSignal, startedAt: number) {
    this.resources = resources;
    this.signal = signal;
    this.startedAt = startedAt;
  }

  overview(): Promise<Overview> {
    return this.#once('overview', async () => (await this.resources.management.overview(this.signal)).data);
  }

  /**
   * The cluster's nodes, each configured node as it reports itself (nodesFirstHand): during a
   * partition the list alone, from whichever node answered, shows the other side as not running.
   */
  nodes(): Promise<RabbitNode[]> {
    return this.#once('nodes', async () => nodesFirstHand(this.resources.management, this.resources.cluster.nodes.map((node) => node.name), this.signal));
  }

  queueMetadata(): Promise<QueueMetadataSnapshot> {
    return this.#once('queueMetadata', () => this.resources.queueMetadata.get(this.signal));
  }

  /** The queues this scrape reports (filtered, deleted ones dropped), with their plugin stats. */
  selectedQueues(): Promise<QueueSelection> {
    return this.#once('selectedQueues', async () => {
      // Without plugin stats the selection is still made, so replication state is still reported.
      const noStats = { byQueue: new QueueStatsByNode(), nodesRead: [] };
      const [metadata, stats] = await Promise.all([this.queueMetadata(), this.queueStats().catch(() => noStats)]);
      return selectQueues(metadata, stats, this.resources.settings.queues, this.startedAt);
    });
  }

  /**
   * Depth and consumers from every running node's plugin, read in parallel. The reads start
   * together with /api/nodes rather than after it (at 10,000 queues the nodes' answer took
   * 10-90 ms); a node that turns out not to be running has its read aborted and ignored.
   */
  queueStats(): Promise<QueueStats> {
    return this.#once('queueStats', async () => {
      const families = this.resources.settings.queues.details === 'full' ? [QUEUE_FAMILIES.coarse, QUEUE_FAMILIES.details] : [QUEUE_FAMILIES.coarse, QUEUE_FAMILIES.consumers];
      const reads = this.resources.plugins.map((plugin) => {
        const ignored = new AbortController();
        const result = plugin.queueStats(families, AbortSignal.any([this.signal, ignored.signal])).then(
          (value) => ({ ok: true as const, value }),
          (reason: unknown) => ({ ok: false as const, reason }),
        );
        return { plugin, ignored, result };
      });
      let running: Set<string>;
      try {
        running = new Set((await this.nodes()).filter((n) => n.running).map((n) => n.name));
      } catch (error) {
        for (const read of reads) read.ignored.abort();
        throw error;
      }
      const readable = reads.filter((read) => {
        if (running.has(read.plugin.node)) return true;
        read.ignored.abort();
        return false;
      });
      const stats: QueueStats = { byQueue: new QueueStatsByNode(), nodesRead: [], failures: [] };
      for (const { plugin, result } of readable) {
        const outcome = await result;
        if (outcome.ok) {
          stats.nodesRead.push(plugin.node);
          stats.byQueue.add(plugin.node, outcome.value);
        } else {
          stats.failures.push({ node: plugin.node, error: describeError(outcome.reason) });
        }
      }
      return stats;
    });
  }

  /**
   * The latest round of the health-check endpoints, run on their own schedule
   * (health-check-scheduler.ts), checked against this scrape's nodes: a result from before its node
   * was seen not running, or before no node answered, is reported failing (`stale`), not passing.
   */
  healthChecks(): Promise<HealthCheckRound> {
    return this.#once('healthChecks', async () => {
      const scheduler = this.resources.healthChecks;
      const [round, nodes] = await Promise.all([scheduler.latest(this.signal), this.nodes().then((list) => ({ list }), (error: unknown) => ({ error }))]);
      if ('list' in nodes) {
        const running = new Set(nodes.list.filter((node) => node.running).map((node) => node.name));
        for (const node of this.resources.cluster.nodes) if (!running.has(node.name)) scheduler.sawNotRunning(node.name, this.startedAt);
      } else if (nodes.error instanceof ManagementUnavailableError) {
        // Every node was tried and none answered; other failures (this scrape's deadline) prove nothing.
        scheduler.sawNotRunning('', this.startedAt);
      }
      return { ...round, checks: scheduler.checksOf(round) };
    });
  }

  /** The latest complete background pass of per-queue counters; undefined before the first or when disabled. */
  queueCounters(): Promise<QueueCounterSnapshot | undefined> {
    return Promise.resolve(this.resources.queueCounters?.latest());
  }

  /** The latest AMQP round trips (load balancer and each node), run on their own schedule. */
  amqpProbes(): Promise<ProbeRound> {
    return this.#once('amqpProbes', async () => {
      const probes = this.resources.probes;
      if (!probes) return { outcomes: [], finishedAt: 0 };
      return probes.latest(this.signal);
    });
  }

  #once<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    let promise = this.#memo.get(key) as Promise<T> | undefined;
    if (!promise) {
      promise = fetch();
      promise.catch(() => undefined); // every caller handles it; don't report it unhandled
      this.#memo.set(key, promise);
    }
    return promise;
  }
}

/**
 * Per-queue values of every node read, looked up where they are rather than copied into one map
 * (at 10,000 queues the copy was a 10,000-entry map built and dropped every scrape). A queue is
 * reported by one node only, its leader's; should two report it (a leader moving mid-scrape), the
 * node the metadata names as leader wins.
 */
export class QueueStatsByNode {
  readonly #byNode = new Map<string, NodeQueueStats>();

  add(node: string, stats: NodeQueueStats): void {
    this.#byNode.set(node, stats);
  }

  /** The queue's values; `leader` (the metadata's node for it) is looked in first. */
  get(key: string, leader?: string): QueueStatValues | undefined {
    const first = leader === undefined ? undefined : this.#byNode.get(leader);
    const found = first?.get(key);
    if (found) return found;
    for (const stats of this.#byNode.values()) {
      if (stats === first) continue;
      const values = stats.get(key);
      if (values) return values;
    }
    return undefined;
  }
}
