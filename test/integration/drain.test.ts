// A node that serves no queue data, for real: drained with `rabbitmq-upgrade drain` (which suspends
// its management and prometheus-plugin listeners), and stopped (`rabbitmqctl stop_app`). Neither
// may fail the queues collector for the whole cluster: the other nodes' queues keep their depth, and
// the node's part is marked unavailable. The node is revived (started) again in `finally`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { localStackConfig } from '../../src/config/load.ts';
import { LOCAL_CLUSTER_NAME, localStackDir } from '../../src/config/local-stack.ts';
import type { ClusterConfig, WarrenConfig } from '../../src/config/types.ts';
import { createExporterApp } from '../../src/exporter/app.ts';
import { listen, type RunningServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logging.ts';
import { ManagementClient } from '../../src/rabbitmq/management/client.ts';
import { NodeControl } from '../../src/rabbitmq/node-control.ts';
import { parseExposition, type Sample } from '../support/exposition.ts';
import { REPO_ROOT, waitFor } from './support.ts';

const config = localStackConfig(localStackDir(process.env, REPO_ROOT), { env: {} });
const cluster = config.clusters.get(LOCAL_CLUSTER_NAME)!;
const api = new ManagementClient(cluster);
const control = new NodeControl(cluster);
const VHOST = 'warren-drain-test';
// Whichever names the running profile gives its nodes: one keeps serving, one is taken out.
const KEPT = cluster.nodes[0]!.name;
const TAKEN_OUT = cluster.nodes[1]!.name;
const ON_KEPT = 'on-kept-node';
const ON_TAKEN_OUT = 'on-taken-out-node';
const QUORUM = 'replicated';

const logLines: string[] = [];
const logger = createLogger('warn', { write: (line: string) => logLines.push(line) } as unknown as NodeJS.WritableStream);

function exporterConfig(queues: Partial<WarrenConfig['exporter']['queues']> = {}): WarrenConfig {
  return {
    ...config,
    exporter: {
      ...config.exporter,
      host: { ...config.exporter.host, enabled: false },
      queues: { ...config.exporter.queues, includeVhosts: new RegExp(`^(?:${VHOST})$`), ...queues },
    },
  };
}

async function serve(warren: WarrenConfig): Promise<{ server: RunningServer; close: () => Promise<void> }> {
  const app = createExporterApp({ config: warren, logger });
  const server = await listen(app.handle, { address: '127.0.0.1', port: 0 });
  return { server, close: async () => (await server.close(), await app.close()) };
}

async function scrape(server: RunningServer): Promise<Sample[]> {
  const response = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(60_000) });
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
const lastLog = () => logLines.slice(-3).join('');

/** Management requests through one node only: a classic queue declared there lives there. */
function throughNode(node: string): ManagementClient {
  const only: ClusterConfig = { ...cluster, nodes: cluster.nodes.filter((n) => n.name === node) };
  return new ManagementClient(only);
}

async function declare(client: ManagementClient, queue: string, args: Record<string, unknown> = {}): Promise<void> {
  await client.request(`/api/queues/${encodeURIComponent(VHOST)}/${queue}`, { method: 'PUT', body: { durable: true, arguments: args }, schema: z.unknown() });
}

async function publish(queue: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await api.request(`/api/exchanges/${encodeURIComponent(VHOST)}/amq.default/publish`, {
      method: 'POST',
      // Persistent: the stopped node's queue must have its messages again once the node is back.
      body: { properties: { delivery_mode: 2 }, routing_key: queue, payload: `m${i}`, payload_encoding: 'string' },
      schema: z.unknown(),
    });
  }
}

async function homeNode(queue: string): Promise<string | undefined> {
  const row = (await api.queue(VHOST, queue)).data;
  return row.leader ?? row.node;
}

beforeAll(async () => {
  await api.request(`/api/vhosts/${encodeURIComponent(VHOST)}`, { method: 'DELETE', schema: z.unknown() }).catch(() => undefined);
  await api.request(`/api/vhosts/${encodeURIComponent(VHOST)}`, { method: 'PUT', body: {}, schema: z.unknown() });
  await api.request(`/api/permissions/${encodeURIComponent(VHOST)}/${cluster.management.username}`, { method: 'PUT', body: { configure: '.*', write: '.*', read: '.*' }, schema: z.unknown() });
  // The default queue locator is client-local: declared through a node's own API, a classic queue lives there.
  for (const [node, queue] of [[KEPT, ON_KEPT], [TAKEN_OUT, ON_TAKEN_OUT]] as const) {
    const client = throughNode(node);
    try {
      await declare(client, queue);
      if (queue === ON_TAKEN_OUT) await declare(client, QUORUM, { 'x-queue-type': 'quorum' });
    } finally {
      await client.close();
    }
    expect(await homeNode(queue), `${queue} is not on ${node}`).toBe(node);
  }
  await publish(ON_KEPT, 3);
  await publish(ON_TAKEN_OUT, 2);
  await publish(QUORUM, 4);
});

afterAll(async () => {
  await api.request(`/api/vhosts/${encodeURIComponent(VHOST)}`, { method: 'DELETE', schema: z.unknown() }).catch(() => undefined);
  await api.close();
});

/** Every queue's depth is in and the queues collector succeeds: the state each test starts from. */
async function allDepthsIn(server: RunningServer): Promise<boolean> {
  const samples = await scrape(server);
  return (
    value(samples, 'warren_scrape_collector_success', { collector: 'queues' }) === 1 &&
    value(samples, 'rabbitmq_queue_messages', { queue: ON_KEPT }) === 3 &&
    value(samples, 'rabbitmq_queue_messages', { queue: ON_TAKEN_OUT }) === 2 &&
    value(samples, 'rabbitmq_queue_messages', { queue: QUORUM }) === 4
  );
}

describe('a node in maintenance (rabbitmq-upgrade drain)', () => {
  it('keeps the queues collector successful, the other nodes\' queues exported with their depth, and marks the drained node\'s part unavailable', async () => {
    const before = await serve(exporterConfig());
    try {
      expect(await waitFor(() => allDepthsIn(before.server), 30_000, 1_000), lastLog()).toBe(true);
    } finally {
      await before.close();
    }
    await control.drain(TAKEN_OUT);
    // Started after the drain: the drain suspends listeners but leaves established connections
    // open, so an exporter already connected keeps reading the node until its connections close;
    // this one, like any exporter (re)started during maintenance, is refused at once.
    const during = await serve(exporterConfig());
    try {
      // The drain moved the quorum queue's leadership to a node that still serves: its depth is back soon.
      const quorumServed = async () => {
        const depth = (await scrape(during.server)).find((s) => s.name === 'rabbitmq_queue_messages' && s.labels.queue === QUORUM);
        return depth?.value === 4 && depth.labels.node !== TAKEN_OUT;
      };
      expect(await waitFor(quorumServed, 30_000, 1_000), lastLog()).toBe(true);

      const samples = await scrape(during.server);
      expect(value(samples, 'warren_scrape_collector_success', { collector: 'queues' }), lastLog()).toBe(1);
      expect(value(samples, 'rabbitmq_queue_messages', { queue: ON_KEPT })).toBe(3);
      // The classic queue stays on the drained node and keeps running there: exported, without depth.
      expect(value(samples, 'rabbitmq_queue_state', { queue: ON_TAKEN_OUT, node: TAKEN_OUT, state: 'running' })).toBe(1);
      expect(value(samples, 'rabbitmq_queue_messages', { queue: ON_TAKEN_OUT })).toBeUndefined();
      expect(value(samples, 'warren_queues_exported')).toBe(3);
      expect(value(samples, 'warren_queues_unavailable')).toBe(0);
      expect(value(samples, 'warren_queue_stats_node_up', { node: KEPT })).toBe(1);
      expect(value(samples, 'warren_queue_stats_node_up', { node: TAKEN_OUT })).toBe(0);
      expect(value(samples, 'rabbitmq_running', { node: TAKEN_OUT })).toBe(1);

      // A broker whose API says a node is being drained (4.x) gets it called maintenance; 3.10's does not say.
      const reported = (await api.nodes()).data.find((n) => n.name === TAKEN_OUT)?.being_drained;
      if (reported === undefined) {
        expect(value(samples, 'warren_queue_stats_node_unavailable', { node: TAKEN_OUT, reason: 'unreachable' })).toBe(1);
      } else {
        expect(reported).toBe(true);
        expect(value(samples, 'warren_node_maintenance', { node: TAKEN_OUT })).toBe(1);
        expect(value(samples, 'warren_queue_stats_node_unavailable', { node: TAKEN_OUT, reason: 'maintenance' })).toBe(1);
      }
    } finally {
      await control.revive(TAKEN_OUT);
    }
    try {
      expect(await waitFor(() => allDepthsIn(during.server), 60_000, 1_000), lastLog()).toBe(true);
    } finally {
      await during.close();
    }
  });
});

describe('a stopped node', () => {
  it('keeps the queues collector successful, exports its classic queue as down and counts it in warren_queues_unavailable and the health score', async () => {
    // Without the quorum queue, which a stopped member makes under-replicated: the replication component then shows availability alone.
    const exporter = await serve(exporterConfig({ exclude: new RegExp(`^(?:${QUORUM})$`) }));
    try {
      expect(await waitFor(async () => value(await scrape(exporter.server), 'rabbitmq_queue_messages', { queue: ON_TAKEN_OUT }) === 2, 30_000, 1_000), lastLog()).toBe(true);
      await control.stopApp(TAKEN_OUT);
      try {
        const downSeen = async () => value(await scrape(exporter.server), 'rabbitmq_queue_state', { queue: ON_TAKEN_OUT, state: 'down' }) === 1;
        expect(await waitFor(downSeen, 30_000, 1_000), lastLog()).toBe(true);
        const samples = await scrape(exporter.server);
        expect(value(samples, 'warren_scrape_collector_success', { collector: 'queues' }), lastLog()).toBe(1);
        expect(value(samples, 'rabbitmq_queue_messages', { queue: ON_KEPT })).toBe(3);
        expect(value(samples, 'rabbitmq_queue_messages', { queue: ON_TAKEN_OUT })).toBeUndefined();
        expect(value(samples, 'warren_queues_exported')).toBe(2);
        expect(value(samples, 'warren_queues_unavailable')).toBe(1);
        expect(value(samples, 'warren_queue_stats_node_unavailable', { node: TAKEN_OUT, reason: 'not_running' })).toBe(1);
        // One of the two queues is down: the replication component is the share of queues not down.
        expect(value(samples, 'warren_health_score_component', { scope: 'cluster', component: 'replication' })).toBe(50);
      } finally {
        await control.startApp(TAKEN_OUT);
        await control.awaitStartup(TAKEN_OUT, 120);
      }
      const recovered = async () => {
        const samples = await scrape(exporter.server);
        return value(samples, 'rabbitmq_queue_messages', { queue: ON_TAKEN_OUT }) === 2 && value(samples, 'warren_queues_unavailable') === 0;
      };
      expect(await waitFor(recovered, 60_000, 1_000), lastLog()).toBe(true);
    } finally {
      await exporter.close();
    }
  });
});
