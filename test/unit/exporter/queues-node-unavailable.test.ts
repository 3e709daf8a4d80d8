// The queues collector when a node serves no queue data: stopped, drained (`rabbitmq-upgrade drain`
// suspends its management and plugin listeners) or unreachable. The broker answers were recorded
// from the local 3.10.8 cluster (fixtures/node-unavailable-3.10/README.md); the plugins are real
// HTTP endpoints on loopback serving the recorded text, or refusing connections as a drained node's do.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterConfig, NodeConfig } from '../../../src/config/types.ts';
import { WarrenError, isWarrenError } from '../../../src/errors.ts';
import type { ScrapeContext } from '../../../src/exporter/collector.ts';
import { healthScoreCollector } from '../../../src/exporter/collectors/health-score.ts';
import { overviewCollector } from '../../../src/exporter/collectors/overview.ts';
import { queuesCollector } from '../../../src/exporter/collectors/queues.ts';
import { QueueMetadataCache } from '../../../src/exporter/queue-metadata.ts';
import { ScrapeData, type ClusterResources } from '../../../src/exporter/scrape-data.ts';
import { defaultExporterSettings } from '../../../src/exporter/settings.ts';
import type { ManagementClient, RequestOptions } from '../../../src/rabbitmq/management/client.ts';
import { nodesSchema, overviewSchema } from '../../../src/rabbitmq/management/schemas.ts';
import { PrometheusPluginClient } from '../../../src/rabbitmq/prometheus-plugin.ts';
import { MetricRegistry } from '../../../src/metrics/registry.ts';
import { parseExposition, type Sample } from '../../support/exposition.ts';

const fixture = (scenario: string, name: string) => readFileSync(new URL(`fixtures/node-unavailable-3.10/${scenario}/${name}`, import.meta.url), 'utf8');
const NODE_NAMES = ['rabbit1@localhost', 'rabbit2@localhost', 'rabbit3@localhost'];

/** Plugin endpoints: one serving a recorded answer per node, plus a port nothing listens on. */
let plugins: Server;
let pluginBase: string;
let refusedUrl: string;
const pluginAnswers = new Map<string, string>();

beforeAll(async () => {
  plugins = createServer((request, response) => {
    const node = decodeURIComponent(request.url?.split('/')[1] ?? '');
    const body = pluginAnswers.get(node);
    if (body === undefined) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
  plugins.listen(0, '127.0.0.1');
  await once(plugins, 'listening');
  pluginBase = `http://127.0.0.1:${(plugins.address() as AddressInfo).port}`;
  // A port that was just free: connecting to it is refused, as a drained node's suspended listener is.
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  refusedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  closed.close();
  await once(closed, 'close');
});

afterAll(async () => {
  plugins.close();
  await once(plugins, 'close');
});

interface Scenario {
  dir: string;
  /** Nodes whose plugin answers with fixtures/<dir>/plugin-<node>.txt; the others refuse connections. */
  answering: string[];
  /** Rewrites the recorded /api/nodes answer (4.x shapes). */
  nodes?: (nodes: Record<string, unknown>[]) => Record<string, unknown>[];
  exclude?: RegExp;
}

async function scrape(scenario: Scenario): Promise<{ samples: Sample[]; failures: Record<string, unknown> }> {
  pluginAnswers.clear();
  for (const node of scenario.answering) pluginAnswers.set(node, fixture(scenario.dir, `plugin-${node}.txt`));
  const nodeConfigs = NODE_NAMES.map((name) => ({ name, prometheusUrl: scenario.answering.includes(name) ? `${pluginBase}/${encodeURIComponent(name)}` : refusedUrl }) as NodeConfig);
  const cluster = { name: 'local', nodes: nodeConfigs } as unknown as ClusterConfig;
  const rewriteNodes = scenario.nodes ?? ((nodes) => nodes);
  const answers: Record<string, () => unknown> = {
    '/api/overview': () => JSON.parse(fixture(scenario.dir, 'overview.json')),
    '/api/nodes': () => rewriteNodes(JSON.parse(fixture(scenario.dir, 'nodes.json')) as Record<string, unknown>[]),
    '/api/queues': () => JSON.parse(fixture(scenario.dir, 'queues.json')),
    '/api/policies': () => [],
  };
  // The management API answers as recorded, through warren's own response schemas.
  const management = {
    async request<T>(path: string, options: RequestOptions<T>) {
      const answer = answers[path];
      // The stream's own answer (3.x reads its members separately) was not recorded: as if it had just been deleted.
      if (!answer && path.startsWith('/api/queues/')) throw new WarrenError('MANAGEMENT_API_ERROR', `GET ${path}: HTTP 404`);
      if (!answer) throw new Error(`unexpected request ${path}`);
      return { data: options.schema.parse(answer()), node: 'rabbit1@localhost' };
    },
    async overview() {
      return { data: overviewSchema.parse(answers['/api/overview']!()), node: 'rabbit1@localhost' };
    },
    async nodes() {
      return { data: nodesSchema.parse(answers['/api/nodes']!()), node: 'rabbit1@localhost' };
    },
  } as unknown as ManagementClient;
  const settings = defaultExporterSettings();
  settings.amqpProbe.enabled = false;
  settings.queues.exclude = scenario.exclude;
  const pluginClients = nodeConfigs.map((node) => new PrometheusPluginClient(node, 5_000));
  const resources = { cluster, settings, management, plugins: pluginClients, queueMetadata: new QueueMetadataCache(management, { maxAgeMs: 30_000, refetchEveryScrapeBelowMs: 250 }) } as unknown as ClusterResources;
  const signal = new AbortController().signal;
  const now = Date.now();
  const ctx: ScrapeContext = { cluster, clusterLabel: 'local', registry: new MetricRegistry(), data: new ScrapeData(resources, signal, now), signal, now };
  const failures: Record<string, unknown> = {};
  try {
    for (const collector of [overviewCollector, queuesCollector, healthScoreCollector(undefined)]) {
      await collector.collect(ctx).catch((error: unknown) => (failures[collector.name] = error));
    }
  } finally {
    await Promise.all(pluginClients.map((client) => client.close()));
  }
  return { samples: parseExposition(ctx.registry.render()), failures };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
const series = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const reasons = (samples: Sample[]) => Object.fromEntries(series(samples, 'warren_queue_stats_node_unavailable').map((s) => [s.labels.node, s.labels.reason]));

describe('a drained node (3.10: rabbit2 drained with rabbitmq-upgrade drain)', () => {
  const drained: Scenario = { dir: 'drained', answering: ['rabbit1@localhost', 'rabbit3@localhost'] };

  it('leaves the queues collector successful: the other nodes\' queues keep their depth, the drained node\'s queue is exported without', async () => {
    const { samples, failures } = await scrape(drained);
    expect(failures).toEqual({});
    expect(value(samples, 'rabbitmq_queue_messages', { queue: 'invoices-r1' })).toBe(2);
    expect(value(samples, 'rabbitmq_queue_messages', { queue: 'invoices-r3' })).toBe(6);
    // Its classic queue stays on the drained node and keeps running; only its depth is unknown.
    expect(value(samples, 'rabbitmq_queue_state', { queue: 'invoices-r2', state: 'running' })).toBe(1);
    expect(value(samples, 'rabbitmq_queue_messages', { queue: 'invoices-r2' })).toBeUndefined();
    expect(value(samples, 'warren_queues_unavailable')).toBe(0);
    expect(value(samples, 'warren_queue_stats_node_up', { node: 'rabbit1@localhost' })).toBe(1);
    expect(value(samples, 'warren_queue_stats_node_up', { node: 'rabbit2@localhost' })).toBe(0);
    // 3.10's /api/nodes does not say a node is drained (no being_drained): it reads as unreachable.
    expect(reasons(samples)).toEqual({ 'rabbit2@localhost': 'unreachable' });
  });

  it('calls it maintenance where the API reports being_drained (4.x)', async () => {
    const { samples, failures } = await scrape({ ...drained, nodes: (nodes) => nodes.map((n) => ({ ...n, being_drained: n.name === 'rabbit2@localhost' })) });
    expect(failures).toEqual({});
    expect(reasons(samples)).toEqual({ 'rabbit2@localhost': 'maintenance' });
  });

  it('fails the collector only when no node\'s plugin answers', async () => {
    const { samples, failures } = await scrape({ ...drained, answering: [] });
    expect(isWarrenError(failures.queues, 'MANAGEMENT_UNAVAILABLE')).toBe(true);
    expect(String(failures.queues)).toMatch(/rabbit1@localhost \(unreachable: .*ECONNREFUSED/);
    // What it could say is still there: every queue with its state, and every node marked.
    expect(series(samples, 'rabbitmq_queue_state').length).toBeGreaterThan(0);
    expect(series(samples, 'warren_queue_stats_node_up').map((s) => s.value)).toEqual([0, 0, 0]);
  });
});

describe('a stopped node (3.10: rabbit3\'s app stopped)', () => {
  const stopped: Scenario = { dir: 'stopped', answering: ['rabbit1@localhost', 'rabbit2@localhost'] };

  it('exports its classic queue as down, counts it unavailable, and the queue counts agree with rabbitmq_queues', async () => {
    const { samples, failures } = await scrape(stopped);
    expect(failures).toEqual({});
    expect(value(samples, 'rabbitmq_queue_state', { queue: 'invoices-r3', state: 'down' })).toBe(1);
    expect(value(samples, 'rabbitmq_queue_messages', { queue: 'invoices-r3' })).toBeUndefined();
    expect(value(samples, 'rabbitmq_queue_messages', { queue: 'invoices-r1' })).toBe(2);
    expect(value(samples, 'rabbitmq_queue_messages', { queue: 'invoices-r2' })).toBe(4);
    expect(reasons(samples)).toEqual({ 'rabbit3@localhost': 'not_running' });
    // RabbitMQ's count leaves out the queue that is down; warren exports it and says so.
    const exported = value(samples, 'warren_queues_exported')!;
    const unavailable = value(samples, 'warren_queues_unavailable')!;
    expect(unavailable).toBe(1);
    expect(value(samples, 'rabbitmq_queues')).toBe(exported - unavailable);
  });

  it('lowers the cluster score\'s replication component by the share of queues that are down', async () => {
    // Without the quorum queue, which the stopped member makes under-replicated (0 % healthy): 3 of the 4 other queues are up.
    const { samples } = await scrape({ ...stopped, exclude: /^(?:payments)$/ });
    expect(value(samples, 'warren_queues_exported')).toBe(4);
    expect(value(samples, 'warren_health_score_component', { scope: 'cluster', component: 'replication' })).toBe(75);
    // With it, replication health is the lower share.
    const all = await scrape(stopped);
    expect(value(all.samples, 'warren_queues_replication_unhealthy', { kind: 'quorum' })).toBe(1);
    expect(value(all.samples, 'warren_health_score_component', { scope: 'cluster', component: 'replication' })).toBe(0);
  });
});
