// What `status` reports: one entry per node and per service, as data and as a table.

import { LOCAL_NODES } from '../src/config/local-stack.ts';
import type { NodeProbe } from './rabbitmq-nodes.ts';

export interface ComponentStatus {
  readonly name: string;
  /** The process is alive. */
  readonly running: boolean;
  /** Alive and doing its job (ready endpoint, runtime API, app running and clustered). */
  readonly healthy: boolean;
  readonly pid: number | null;
  /** Listening ports by purpose, e.g. { amqp: 5672, management: 15672 }. */
  readonly ports: Readonly<Record<string, number>>;
  readonly detail: string;
}

export interface RabbitNodeStatus extends ComponentStatus {
  /** The rabbit application runs (false after `rabbitmqctl stop_app` while the VM stays up). */
  readonly appRunning: boolean;
  /** Cluster members as this node sees them; empty unless its app is running. */
  readonly clusterMembers: readonly string[];
  readonly runningClusterMembers: readonly string[];
}

export interface StackStatus {
  readonly stackDir: string;
  /** The RabbitMQ profile the stack runs (3.10, 4.0, 4.0-khepri). */
  readonly rabbitmq: string;
  readonly healthy: boolean;
  readonly nodes: readonly RabbitNodeStatus[];
  /** haproxy, prometheus, alertmanager. */
  readonly services: readonly ComponentStatus[];
}

function describeNode(probe: NodeProbe, missing: readonly string[]): string {
  switch (probe.state) {
    case 'stopped':
      return 'not running';
    case 'unresponsive':
      return 'VM alive but rabbitmqctl cannot reach it';
    case 'app-stopped':
      return 'VM up, rabbit app not running (stopped or still booting)';
    case 'running': {
      const running = probe.cluster?.running.length ?? 0;
      const summary = `cluster ${running}/${LOCAL_NODES.length} running`;
      return missing.length === 0 ? summary : `${summary}; not running: ${missing.join(', ')}`;
    }
  }
}

export function nodeStatus(probe: NodeProbe): RabbitNodeStatus {
  const running = probe.cluster?.running ?? [];
  const missing = LOCAL_NODES.map((node) => node.name).filter((name) => !running.includes(name));
  const { node } = probe;
  return {
    name: node.name,
    running: probe.state !== 'stopped',
    healthy: probe.state === 'running' && missing.length === 0,
    pid: probe.pid,
    ports: { amqp: node.amqpPort, management: node.managementPort, prometheus: node.prometheusPort, distribution: node.distributionPort },
    detail: describeNode(probe, missing),
    appRunning: probe.state === 'running',
    clusterMembers: [...(probe.cluster?.members ?? [])],
    runningClusterMembers: [...running],
  };
}

function stateWord(component: ComponentStatus): string {
  if (component.healthy) {
    return 'up';
  }
  return component.running ? 'degraded' : 'down';
}

export function formatStatusTable(status: StackStatus): string {
  const rows = [...status.nodes, ...status.services].map((component) => [
    component.name,
    stateWord(component),
    component.pid === null ? '-' : String(component.pid),
    Object.entries(component.ports).map(([purpose, port]) => `${purpose}:${port}`).join(' '),
    component.detail,
  ]);
  const header = ['COMPONENT', 'STATE', 'PID', 'PORTS', 'DETAIL'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  const verdict = status.healthy ? 'stack healthy' : 'stack NOT healthy';
  return [line(header), ...rows.map(line), '', `${verdict} (rabbitmq ${status.rabbitmq}; state: ${status.stackDir})`].join('\n');
}
