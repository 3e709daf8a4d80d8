// Per-node resources, alarms and partitions from /api/nodes, each configured node's facts from its
// own answer about itself (ScrapeData.nodes): during a partition every side lists the other side as
// down, so only a node's own view says whether it runs and whom it is partitioned from. Every
// configured node gets `rabbitmq_running`, also when the cluster no longer lists it, so a vanished
// node reads 0.
import type { RabbitNode } from '../../rabbitmq/management/schemas.ts';
import type { Collector } from '../collector.ts';

const L = ['cluster', 'node', 'self'] as const;
const bool = (value: boolean | undefined) => (value ? 1 : 0);

/** Metric name, help, and the node's value (undefined: no sample for that node). */
const NODE_GAUGES: [name: string, help: string, value: (node: RabbitNode) => number | undefined][] = [
  ['rabbitmq_node_mem_used', 'Memory used by the node, bytes.', (n) => n.mem_used],
  ['rabbitmq_node_mem_limit', 'Memory high watermark of the node, bytes.', (n) => n.mem_limit],
  ['rabbitmq_node_mem_alarm', 'Whether the memory alarm is raised: 1 raised (publishers blocked).', (n) => (n.mem_alarm === undefined ? undefined : bool(n.mem_alarm))],
  ['rabbitmq_node_disk_free', 'Free disk space where the node keeps its data, bytes.', (n) => n.disk_free],
  ['rabbitmq_node_disk_free_limit', 'Free disk space below which the disk alarm is raised, bytes.', (n) => n.disk_free_limit],
  ['rabbitmq_node_disk_free_alarm', 'Whether the disk alarm is raised: 1 raised (publishers blocked).', (n) => (n.disk_free_alarm === undefined ? undefined : bool(n.disk_free_alarm))],
  ['rabbitmq_fd_used', 'File descriptors in use.', (n) => n.fd_used],
  ['rabbitmq_fd_available', 'File descriptors available to the node.', (n) => n.fd_total],
  ['rabbitmq_sockets_used', 'Sockets in use.', (n) => n.sockets_used],
  ['rabbitmq_sockets_available', 'Sockets available to the node.', (n) => n.sockets_total],
  ['warren_node_erlang_processes_used', 'Erlang processes in use.', (n) => n.proc_used],
  ['warren_node_erlang_processes_limit', 'Erlang process limit.', (n) => n.proc_total],
  ['rabbitmq_uptime', 'Time since the node started, milliseconds (kbudde unit).', (n) => n.uptime],
  ['warren_node_uptime_seconds', 'Time since the node started, seconds.', (n) => (n.uptime === undefined ? undefined : n.uptime / 1000)],
  ['rabbitmq_partitions', 'Nodes this node reports, in its own view, as partitioned away; 0 when the cluster is whole. Running nodes only.', (n) => (n.running ? n.partitions.length : undefined)],
  ['warren_node_maintenance', 'Whether the node is in maintenance mode (drained): 1 drained.', (n) => (n.being_drained === undefined ? undefined : bool(n.being_drained))],
];

export const nodesCollector: Collector = {
  name: 'nodes',
  async collect({ registry, data, cluster, clusterLabel }) {
    // Every family is registered before the data is read, so docs/metrics.md can list them all.
    const running = registry.gauge(
      'rabbitmq_running',
      'Whether the node is running: 1 when it answers for itself, or the cluster lists it running (a drained node does not answer); 0 down.',
      L,
    );
    const gauges = NODE_GAUGES.map(([name, help, value]) => ({ family: registry.gauge(name, help, L), value }));
    const partitioned = registry.gauge(
      'warren_node_partitioned_from',
      'Partition view: 1 when `node` reports, in its own view, `peer` as partitioned away; every side of a partition reports its own. Running nodes only.',
      ['cluster', 'node', 'peer'],
    );

    const nodes = await data.nodes();
    // `self` kept for kbudde dashboards: every series here is reported once, so it is always "1".
    const labels = (node: string) => [clusterLabel, node, '1'];
    const listed = new Set(nodes.map((n) => n.name));
    for (const node of nodes) running.set(labels(node.name), bool(node.running));
    for (const node of cluster.nodes) if (!listed.has(node.name)) running.set(labels(node.name), 0);
    for (const { family, value } of gauges) {
      for (const node of nodes) {
        const v = value(node);
        if (v !== undefined) family.set(labels(node.name), v);
      }
    }
    // What a node that is not running says of partitions is the list's stale copy, not its view.
    for (const node of nodes) if (node.running) for (const peer of node.partitions) partitioned.set([clusterLabel, node.name, peer], 1);
  },
};
