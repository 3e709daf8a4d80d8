// The broker data one scrape works from. Each source is fetched at most once per scrape, on first
// request, and shared by every collector that needs it (the health score reads what the node and
// queue collectors read, not a second copy).
import type { ClusterConfig } from '../config/types.ts';
import { describeError } from '../errors.ts';
import type { AmqpProbeResult } from '../rabbitmq/amqp-probe.ts';
import type { HealthCheckResult, ManagementClient } from '../rabbitmq/management/client.ts';
import type { Overview, RabbitNode } from '../rabbitmq/management/schemas.ts';
import { QUEUE_FAMILIES, type NodeQueueStats, type PrometheusPluginClient, type QueueStatValues } from '../rabbitmq/prometheus-plugin.ts';
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
  /** Present when the AMQP probe is enabled. */
  probes?: AmqpProbeScheduler | undefined;
  /** Present when per-queue counters are enabled. */
  queueCounters?: QueueCounterPoller | undefined;
}

export interface QueueStats {
  /** Per-queue values keyed by queueKey(vhost, name), merged over the nodes. */
  byQueue: Map<string, QueueStatValues>;
  /** Nodes whose plugin was read. */
  nodesRead: string[];
  /** Running nodes whose plugin could not be read: their queues have no depth this scrape. */
  failures: { node: string; error: string }[];
}

/** How far ahead the certificate-expiration check looks. */
const CERTIFICATE_WARNING_WEEKS = 4;

export interface NamedHealthCheck extends HealthCheckResult {
  /** The endpoint name, e.g. `alarms` or `node-is-quorum-critical`. */
  check: string;
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

  nodes(): Promise<RabbitNode[]> {
    return this.#once('nodes', async () => (await this.resources.management.nodes(this.signal)).data);
  }

  queueMetadata(): Promise<QueueMetadataSnapshot> {
    return this.#once('queueMetadata', () => this.resources.queueMetadata.get(this.signal));
  }

  /** The queues this scrape reports (filtered, deleted ones dropped), with their plugin stats. */
  selectedQueues(): Promise<QueueSelection> {
    return this.#once('selectedQueues', async () => {
      // Without plugin stats the selection is still made, so replication state is still reported.
      const noStats = { byQueue: new Map(), nodesRead: [] };
      const [metadata, stats] = await Promise.all([this.queueMetadata(), this.queueStats().catch(() => noStats)]);
      return selectQueues(metadata, stats, this.resources.settings.queues, this.startedAt);
    });
  }

  /** Depth and consumers from every running node's plugin, read in parallel. */
  queueStats(): Promise<QueueStats> {
    return this.#once('queueStats', async () => {
      const running = new Set((await this.nodes()).filter((n) => n.running).map((n) => n.name));
      const families = this.resources.settings.queues.details === 'full' ? [QUEUE_FAMILIES.coarse, QUEUE_FAMILIES.details] : [QUEUE_FAMILIES.coarse, QUEUE_FAMILIES.consumers];
      const readable = this.resources.plugins.filter((plugin) => running.has(plugin.node));
      const results = await Promise.allSettled(readable.map((plugin) => plugin.queueStats(families, this.signal)));
      const stats: QueueStats = { byQueue: new Map(), nodesRead: [], failures: [] };
      results.forEach((result, i) => {
        const node = (readable[i] as PrometheusPluginClient).node;
        if (result.status === 'fulfilled') {
          stats.nodesRead.push(node);
          mergeInto(stats.byQueue, result.value);
        } else {
          stats.failures.push({ node, error: describeError(result.reason) });
        }
      });
      return stats;
    });
  }

  /** Cluster-wide and per-node health check endpoints, as answered (a failing check is data). */
  healthChecks(): Promise<NamedHealthCheck[]> {
    return this.#once('healthChecks', async () => {
      const api = this.resources.management;
      const running = (await this.nodes()).filter((n) => n.running).map((n) => n.name);
      const configured = new Set(this.resources.cluster.nodes.map((n) => n.name));
      const checks: Promise<NamedHealthCheck>[] = [];
      // `endpoint` may carry arguments (certificate-expiration/4/weeks); the label is its name.
      const run = (endpoint: string, node?: string) => {
        const check = endpoint.split('/')[0] as string;
        checks.push(
          api.healthCheck(endpoint, { node, signal: this.signal }).then(
            // Cluster-wide checks get node "": the node that happened to answer would churn series.
            (result) => ({ ...result, node: node ?? '', check }),
            (error: unknown) => ({ ok: false, status: 'error', reason: describeError(error), node: node ?? '', check }),
          ),
        );
      };
      run('alarms');
      run('virtual-hosts');
      // Mirroring, and with it the mirror-sync check, exists on 3.x only.
      const version = (await this.overview().catch(() => undefined))?.rabbitmq_version;
      for (const node of running.filter((n) => configured.has(n))) {
        run('node-is-quorum-critical', node);
        if (version?.startsWith('3.')) run('node-is-mirror-sync-critical', node);
        // Fails when a TLS listener's certificate expires within four weeks; passes without TLS listeners.
        run(`certificate-expiration/${CERTIFICATE_WARNING_WEEKS}/weeks`, node);
      }
      return Promise.all(checks);
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

function mergeInto(target: Map<string, QueueStatValues>, source: NodeQueueStats): void {
  // A queue appears on one node only (its leader's); if a leader moved mid-scrape the newer read wins.
  for (const [key, values] of source) target.set(key, values);
}
