// Health scores, 0-100 (100 = healthy), for the host warren runs on and for the RabbitMQ cluster,
// with the component sub-scores they are made of and a status enum. The formulas are pure functions
// below and are specified in docs/health-scores.md. The collector reads only data other collectors
// read too (memoized per scrape) and the host sampler's latest sample, so it adds no broker load.
import type { RabbitNode } from '../../rabbitmq/management/schemas.ts';
import type { Collector, ScrapeContext } from '../collector.ts';
import { hostSampleForScrape, type HostSample, type HostSampleSource } from '../host-sampler.ts';
import type { MetricFamily } from '../../metrics/registry.ts';
import { queueAvailability } from '../queue-availability.ts';
import type { QueueMetadata } from '../queue-metadata.ts';
import { replicationOf } from '../replication.ts';
import type { ScrapeData } from '../scrape-data.ts';
import type { ExporterSettings, HealthScoreWeights } from '../settings.ts';

export type HealthStatus = 'healthy' | 'warning' | 'critical';
export const HEALTH_STATUSES: readonly HealthStatus[] = ['healthy', 'warning', 'critical'];

// ---------------------------------------------------------------------------------------------
// Host score

export interface HostScoreInputs {
  /** Use in percent, 0-100. */
  cpuPercent: number;
  memoryPercent: number;
  /** The fullest filesystem's use, percent. */
  diskPercent: number;
  load1: number;
}

export type HostComponent = 'cpu' | 'memory' | 'disk' | 'load';

export interface ScoreResult<Component extends string> {
  score: number;
  /** Each component's sub-score, 0-100 (100 = healthy). */
  components: Partial<Record<Component, number>>;
}

/**
 * The source design: base = 100 - 0.3 cpu% - 0.3 mem% - 0.2 disk%; loadScore = max(0, 100 - 10 load1);
 * score = 0.8 base + 0.2 loadScore, clamped to [0, 100].
 */
export function hostScore(inputs: HostScoreInputs): ScoreResult<HostComponent> {
  const cpu = clampPercent(inputs.cpuPercent);
  const memory = clampPercent(inputs.memoryPercent);
  const disk = clampPercent(inputs.diskPercent);
  const load = clampPercent(100 - 10 * Math.max(0, inputs.load1));
  const base = 100 - 0.3 * cpu - 0.3 * memory - 0.2 * disk;
  return {
    score: roundScore(clampPercent(0.8 * base + 0.2 * load)),
    components: { cpu: 100 - cpu, memory: 100 - memory, disk: 100 - disk, load },
  };
}

/** Warning once CPU, memory or disk use reaches `warningPercent`, critical at `criticalPercent`. Load is not considered. */
export function hostStatus(inputs: HostScoreInputs, thresholds: { warningPercent: number; criticalPercent: number }): HealthStatus {
  const worst = Math.max(inputs.cpuPercent, inputs.memoryPercent, inputs.diskPercent);
  if (worst >= thresholds.criticalPercent) return 'critical';
  if (worst >= thresholds.warningPercent) return 'warning';
  return 'healthy';
}

/** Score inputs from a host sample, or undefined when a part they need is missing from it. */
export function hostScoreInputs(sample: HostSample): HostScoreInputs | undefined {
  const { cpu, memory, filesystems, load } = sample;
  if (!cpu || !memory || !load || !filesystems || filesystems.length === 0) return undefined;
  return {
    cpuPercent: cpu.utilisationRatio * 100,
    memoryPercent: memory.usedRatio * 100,
    diskPercent: Math.max(...filesystems.map((fs) => fs.usedRatio)) * 100,
    load1: load.load1,
  };
}

// ---------------------------------------------------------------------------------------------
// Cluster score

export type ClusterComponent = keyof HealthScoreWeights;
export const CLUSTER_COMPONENTS: readonly ClusterComponent[] = ['nodes', 'alarms', 'partitions', 'replication', 'probe'];

export interface ClusterObservations {
  /** Node names from warren.yml; when empty, the nodes the API lists are taken as the expected ones. */
  configuredNodes: readonly string[];
  /** GET /api/nodes. */
  nodes: readonly RabbitNode[];
  /** Undefined when the queue metadata could not be read: the replication component is left out. */
  queues?: readonly QueueMetadata[] | undefined;
  /** Undefined when the probe is disabled or failed to run; empty when it has no targets. Both leave the component out. */
  probes?: readonly { success: boolean }[] | undefined;
}

/** Running configured nodes / configured nodes. */
export function nodesComponent(configuredNodes: readonly string[], nodes: readonly RabbitNode[]): number {
  const expected = new Set(configuredNodes.length > 0 ? configuredNodes : nodes.map((n) => n.name));
  if (expected.size === 0) return 0;
  const running = nodes.filter((n) => n.running && expected.has(n.name)).length;
  return (100 * running) / expected.size;
}

/** 100 minus the share of cluster nodes with a memory or disk alarm. */
export function alarmsComponent(nodes: readonly RabbitNode[]): number {
  if (nodes.length === 0) return 100;
  const alarmed = nodes.filter((n) => n.running && (n.mem_alarm === true || n.disk_free_alarm === true)).length;
  return 100 * (1 - alarmed / nodes.length);
}

/** 0 as soon as any running node reports a partition: the cluster's state has diverged, whichever side is "right". */
export function partitionsComponent(nodes: readonly RabbitNode[]): number {
  return nodes.some((n) => n.running && n.partitions.length > 0) ? 0 : 100;
}

/**
 * The worse of two shares: healthy replicated queues / replicated queues, and available queues /
 * queues (queue-availability.ts: a classic queue whose node is stopped is down). Each is 100 without
 * queues to count. The worse, not a mix: a mix would let thousands of healthy classic queues hide
 * the quorum queues that lost a replica, and the queues that are down would count in neither.
 */
export function replicationComponent(queues: readonly QueueMetadata[], nodes: readonly RabbitNode[]): number {
  const running = new Set(nodes.filter((n) => n.running).map((n) => n.name));
  const members = nodes.map((n) => n.name);
  let replicated = 0;
  let healthy = 0;
  let available = 0;
  for (const queue of queues) {
    if (queueAvailability(queue, running).available) available++;
    const replication = replicationOf(queue, running, members);
    if (!replication) continue;
    replicated++;
    if (replication.healthy) healthy++;
  }
  const replicationShare = replicated === 0 ? 100 : (100 * healthy) / replicated;
  const availabilityShare = queues.length === 0 ? 100 : (100 * available) / queues.length;
  return Math.min(replicationShare, availabilityShare);
}

/** Successful probes / probes; undefined (left out) without probes. */
export function probeComponent(probes: readonly { success: boolean }[] | undefined): number | undefined {
  if (!probes || probes.length === 0) return undefined;
  return (100 * probes.filter((p) => p.success).length) / probes.length;
}

/**
 * Weighted mean of the components present, the weights renormalised over them. Negative weights
 * count as 0; if every present component weighs 0, the plain mean is taken.
 */
export function weightedScore(components: Partial<Record<ClusterComponent, number>>, weights: HealthScoreWeights): number {
  const present = CLUSTER_COMPONENTS.filter((c) => components[c] !== undefined);
  if (present.length === 0) return 0;
  const weightOf = (c: ClusterComponent) => Math.max(0, weights[c]);
  const totalWeight = present.reduce((sum, c) => sum + weightOf(c), 0);
  const valueOf = (c: ClusterComponent) => clampPercent(components[c] as number);
  if (totalWeight === 0) return roundScore(present.reduce((sum, c) => sum + valueOf(c), 0) / present.length);
  return roundScore(clampPercent(present.reduce((sum, c) => sum + weightOf(c) * valueOf(c), 0) / totalWeight));
}

export function clusterScore(observations: ClusterObservations, weights: HealthScoreWeights): ScoreResult<ClusterComponent> {
  const components: Partial<Record<ClusterComponent, number>> = {
    nodes: nodesComponent(observations.configuredNodes, observations.nodes),
    alarms: alarmsComponent(observations.nodes),
    partitions: partitionsComponent(observations.nodes),
  };
  if (observations.queues) components.replication = replicationComponent(observations.queues, observations.nodes);
  const probe = probeComponent(observations.probes);
  if (probe !== undefined) components.probe = probe;
  return { score: weightedScore(components, weights), components };
}

/** The score of a cluster whose management API cannot be read: nothing can be verified, so it counts as down. */
export function unreachableClusterScore(): ScoreResult<ClusterComponent> {
  return { score: 0, components: { nodes: 0 } };
}

/** Warning below `warningBelow`, critical below `criticalBelow`. */
export function clusterStatus(score: number, thresholds: { warningBelow: number; criticalBelow: number }): HealthStatus {
  if (score < thresholds.criticalBelow) return 'critical';
  if (score < thresholds.warningBelow) return 'warning';
  return 'healthy';
}

// ---------------------------------------------------------------------------------------------
// Collector

interface HealthFamilies {
  score: MetricFamily;
  component: MetricFamily;
  status: MetricFamily;
}

/** `sampler` is undefined when host sampling is disabled: then only the cluster score is written. */
export function healthScoreCollector(sampler: HostSampleSource | undefined): Collector {
  return {
    name: 'health_score',
    async collect(ctx: ScrapeContext): Promise<void> {
      const settings = ctx.data.resources.settings;
      const families = registerFamilies(ctx);
      // The first scrape after a start waits for the first host sample too, as the host collector does.
      const sample = sampler ? hostSampleForScrape(sampler, ctx.signal).catch(() => undefined) : undefined;
      const observations = await observeCluster(ctx.data, ctx.cluster.nodes.map((n) => n.name), settings);
      const hostSample = await sample;
      if (hostSample) writeHostScore(families, hostSample, settings);
      const { weights, clusterWarningBelow, clusterCriticalBelow } = settings.healthScore;
      const cluster = observations ? clusterScore(observations, weights) : unreachableClusterScore();
      const status = clusterStatus(cluster.score, { warningBelow: clusterWarningBelow, criticalBelow: clusterCriticalBelow });
      writeScore(families, [ctx.clusterLabel, 'cluster'], cluster, status);
    },
  };
}

function registerFamilies(ctx: ScrapeContext): HealthFamilies {
  const { registry } = ctx;
  return {
    score: registry.gauge(
      'warren_health_score',
      'Health score, 0-100 (100 = healthy). scope="host": the host warren runs on (no cluster label); scope="cluster": the RabbitMQ cluster. Formulas in docs/health-scores.md.',
      ['cluster', 'scope'],
    ),
    component: registry.gauge(
      'warren_health_score_component',
      'Sub-score of one health score component, 0-100 (100 = healthy). Host: cpu, memory, disk = 100 - use percent (disk: fullest filesystem); load = max(0, 100 - 10 * load1). ' +
        'Cluster: nodes = percent of configured nodes running; alarms = 100 - percent of nodes in memory/disk alarm; partitions = 0 if any node reports a partition, else 100; ' +
        'replication = the lower of the percent of replicated queues fully replicated and the percent of queues not down; probe = percent of AMQP probes that succeeded. A component missing from a scrape is left out of the cluster score.',
      ['cluster', 'scope', 'component'],
    ),
    status: registry.gauge(
      'warren_health_status',
      'Health status: 1 for the current status, 0 for the other two. Host: warning/critical once CPU, memory or disk use reaches the configured percentages; cluster: warning/critical below the configured scores.',
      ['cluster', 'scope', 'status'],
    ),
  };
}

function writeHostScore(families: HealthFamilies, sample: HostSample, settings: ExporterSettings): void {
  const inputs = hostScoreInputs(sample);
  if (!inputs) return; // a part failed in the latest sample; the host collector reports which
  const thresholds = { warningPercent: settings.healthScore.hostWarningUsagePercent, criticalPercent: settings.healthScore.hostCriticalUsagePercent };
  // The host is not a cluster property: the cluster label is empty, which Prometheus treats as absent.
  writeScore(families, ['', 'host'], hostScore(inputs), hostStatus(inputs, thresholds));
}

function writeScore(families: HealthFamilies, scopeLabels: [cluster: string, scope: string], result: ScoreResult<string>, status: HealthStatus): void {
  families.score.set(scopeLabels, result.score);
  for (const [component, value] of Object.entries(result.components)) {
    if (value !== undefined) families.component.set([...scopeLabels, component], value);
  }
  for (const candidate of HEALTH_STATUSES) families.status.set([...scopeLabels, candidate], candidate === status ? 1 : 0);
}

/** What the cluster score needs, or undefined when the management API cannot list the nodes. */
async function observeCluster(data: ScrapeData, configuredNodes: readonly string[], settings: ExporterSettings): Promise<ClusterObservations | undefined> {
  // Started together; each is memoized and shared with the other collectors of this scrape.
  const nodes = data.nodes();
  const queues = data.selectedQueues().then((selection) => selection.queues.map((queue) => queue.meta), () => undefined);
  const probes = settings.amqpProbe.enabled ? data.amqpProbes().then((round) => round.outcomes, () => undefined) : Promise.resolve(undefined);
  try {
    return { configuredNodes, nodes: await nodes, queues: await queues, probes: await probes };
  } catch {
    return undefined;
  }
}

/**
 * Scores are rounded to 6 decimals: floating-point noise would otherwise turn a perfect cluster into
 * 99.99999999999997, and a score exactly at a status threshold into one just below it.
 */
function roundScore(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value));
}
