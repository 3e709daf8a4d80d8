// `warren status`: a one-shot diagnosis of a cluster through the broker-access layer: version and
// capabilities, every node's resources and alarms, the cluster health checks, and an AMQP round
// trip through each node and the load balancer.
import { selectCluster } from '../config/load.ts';
import type { ClusterConfig, WarrenConfig } from '../config/types.ts';
import { describeError } from '../errors.ts';
import { amqpProbeTargets, probeAmqp, type AmqpProbeResult } from '../rabbitmq/amqp-probe.ts';
import type { Capabilities } from '../rabbitmq/capabilities.ts';
import { ManagementClient, nodesFirstHand, type HealthCheckResult } from '../rabbitmq/management/client.ts';
import type { NodeHealthSnapshot } from '../rabbitmq/management/node-health.ts';
import type { RabbitNode } from '../rabbitmq/management/schemas.ts';
import type { CliIo } from './io.ts';

export interface ClusterStatusReport {
  cluster: string;
  reachable: boolean;
  error?: string | undefined;
  version?: string | undefined;
  clusterName?: string | undefined;
  capabilities?: Capabilities | undefined;
  nodes: NodeStatus[];
  checks: NamedCheckResult[];
  probes: (AmqpProbeResult & { via: string })[];
  managementNodes: NodeHealthSnapshot[];
  healthy: boolean;
}

export interface NamedCheckResult extends HealthCheckResult {
  /** The endpoint, e.g. `alarms` or `node-is-quorum-critical`. */
  check: string;
  /** Cluster-wide checks answer for the whole cluster; `node` is then the node that answered. */
  clusterWide: boolean;
}

export interface NodeStatus {
  name: string;
  running: boolean;
  memUsed?: number | undefined;
  memLimit?: number | undefined;
  memAlarm?: boolean | undefined;
  diskFree?: number | undefined;
  diskFreeLimit?: number | undefined;
  diskAlarm?: boolean | undefined;
  fdUsed?: number | undefined;
  fdTotal?: number | undefined;
  partitions: string[];
  uptimeSeconds?: number | undefined;
  drained?: boolean | undefined;
}

export async function collectClusterStatus(cluster: ClusterConfig, signal?: AbortSignal): Promise<ClusterStatusReport> {
  const client = new ManagementClient(cluster);
  const report: ClusterStatusReport = { cluster: cluster.name, reachable: false, nodes: [], checks: [], probes: [], managementNodes: [], healthy: false };
  try {
    const probes = Promise.all(amqpProbeTargets(cluster).map(async ({ target, url }) => ({ via: target, ...(await probeAmqp({ ...cluster.amqp, url }, signal)) })));
    try {
      // Each node as it reports itself: during a partition the list alone calls the other side down.
      const [identity, nodes] = await Promise.all([client.identify(signal), nodesFirstHand(client, cluster.nodes.map((node) => node.name), signal)]);
      report.reachable = true;
      report.version = identity.version.text;
      report.clusterName = identity.clusterName;
      report.capabilities = identity.capabilities;
      report.nodes = nodes.map(toNodeStatus);
      const runningNodes = report.nodes.filter((node) => node.running).map((node) => node.name);
      const clusterCheck = async (check: string) => ({ ...(await client.healthCheck(check, { signal })), check, clusterWide: true });
      const checks: Promise<NamedCheckResult>[] = [clusterCheck('alarms'), clusterCheck('virtual-hosts')];
      for (const node of cluster.nodes.filter((n) => runningNodes.includes(n.name))) {
        const check = 'node-is-quorum-critical';
        checks.push(
          client.healthCheck(check, { node: node.name, signal }).then(
            (result) => ({ ...result, check, clusterWide: false }),
            (error: unknown) => failedCheck(check, node.name, error),
          ),
        );
      }
      report.checks = await Promise.all(checks);
    } catch (error) {
      report.error = describeError(error);
    }
    report.probes = await probes;
  } finally {
    report.managementNodes = client.nodeHealth();
    await client.close();
  }
  report.healthy =
    report.reachable &&
    report.nodes.length === cluster.nodes.length &&
    report.nodes.every((n) => n.running && !n.memAlarm && !n.diskAlarm && n.partitions.length === 0) &&
    report.checks.every((c) => c.ok) &&
    report.probes.every((p) => p.success);
  return report;
}

function failedCheck(check: string, node: string, error: unknown): NamedCheckResult {
  return { ok: false, status: 'error', reason: describeError(error), node, check, clusterWide: false };
}

function toNodeStatus(node: RabbitNode): NodeStatus {
  return {
    name: node.name,
    running: node.running,
    memUsed: node.mem_used,
    memLimit: node.mem_limit,
    memAlarm: node.mem_alarm,
    diskFree: node.disk_free,
    diskFreeLimit: node.disk_free_limit,
    diskAlarm: node.disk_free_alarm,
    fdUsed: node.fd_used,
    fdTotal: node.fd_total,
    partitions: node.partitions,
    uptimeSeconds: node.uptime === undefined ? undefined : Math.round(node.uptime / 1000),
    drained: node.being_drained,
  };
}

export async function statusCommand(config: WarrenConfig, options: { cluster?: string; json?: boolean }, io: CliIo): Promise<number> {
  const cluster = selectCluster(config, options.cluster);
  const report = await collectClusterStatus(cluster, AbortSignal.timeout(60_000));
  if (options.json) io.out(JSON.stringify(report, null, 2));
  else printReport(report, io);
  return report.healthy ? 0 : 1;
}

const mib = (bytes: number | undefined) => (bytes === undefined ? '-' : `${Math.round(bytes / 1048576)}MiB`);
const ms = (seconds: number | undefined) => (seconds === undefined ? '-' : `${(seconds * 1000).toFixed(1)}ms`);

export function printReport(report: ClusterStatusReport, io: CliIo): void {
  io.out(`cluster ${report.cluster}${report.clusterName ? ` (${report.clusterName})` : ''}: ${report.healthy ? 'HEALTHY' : 'UNHEALTHY'}`);
  if (report.error) io.out(`  management API: ${report.error}`);
  if (report.version) io.out(`  RabbitMQ ${report.version}; capabilities: ${Object.entries(report.capabilities ?? {}).filter(([, on]) => on).map(([name]) => name).join(', ')}`);
  if (report.nodes.length > 0) {
    io.out('  nodes:');
    for (const node of report.nodes) {
      const alarms = [node.memAlarm ? 'MEMORY ALARM' : '', node.diskAlarm ? 'DISK ALARM' : '', node.partitions.length ? `PARTITIONED from ${node.partitions.join(',')}` : '', node.drained ? 'DRAINED' : '']
        .filter(Boolean)
        .join(' ');
      io.out(
        `    ${node.name.padEnd(24)} ${node.running ? 'running' : 'DOWN   '} mem ${mib(node.memUsed)}/${mib(node.memLimit)} disk free ${mib(node.diskFree)} (limit ${mib(node.diskFreeLimit)}) fd ${node.fdUsed ?? '-'}/${node.fdTotal ?? '-'} ${alarms}`,
      );
    }
  }
  if (report.checks.length > 0) {
    io.out('  health checks:');
    for (const check of report.checks) {
      const where = check.clusterWide ? `cluster-wide (answered by ${check.node})` : check.node;
      io.out(`    ${check.ok ? 'ok    ' : 'FAILED'} ${check.check.padEnd(24)} ${where}${check.reason ? `: ${check.reason}` : ''}`);
    }
  }
  io.out('  AMQP round trip:');
  for (const probe of report.probes) {
    io.out(`    ${probe.success ? 'ok    ' : 'FAILED'} via ${probe.via.padEnd(24)} ${probe.success ? `round trip ${ms(probe.roundTripSeconds)}, connect ${ms(probe.connectSeconds)}` : probe.error}`);
  }
  io.out('  management API nodes (as seen by this client):');
  for (const node of report.managementNodes) {
    io.out(`    ${node.node.padEnd(24)} ${node.healthy ? 'healthy  ' : 'UNHEALTHY'} ${node.latencyMs === undefined ? '' : `${node.latencyMs.toFixed(1)}ms`}${node.lastError ? ` last error: ${node.lastError}` : ''}`);
  }
}
