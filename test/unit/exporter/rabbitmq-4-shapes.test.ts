// RabbitMQ 4.x answers (test/fixtures/rabbitmq-4, built from the published API shapes) through the
// real parsing and collectors: only 3.10 runs here, so this is how 4.x stays covered.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../../src/config/types.ts';
import type { ScrapeContext } from '../../../src/exporter/collector.ts';
import { nodesCollector } from '../../../src/exporter/collectors/nodes.ts';
import { overviewCollector } from '../../../src/exporter/collectors/overview.ts';
import { queuesCollector } from '../../../src/exporter/collectors/queues.ts';
import { MetricRegistry } from '../../../src/metrics/registry.ts';
import { policiesSchema, queueMetadataSchema, toQueueMetadata } from '../../../src/exporter/queue-metadata.ts';
import { selectQueues } from '../../../src/exporter/queue-selection.ts';
import type { ScrapeData } from '../../../src/exporter/scrape-data.ts';
import { defaultExporterSettings } from '../../../src/exporter/settings.ts';
import { capabilitiesOf, parseBrokerVersion } from '../../../src/rabbitmq/capabilities.ts';
import { nodesSchema, overviewSchema } from '../../../src/rabbitmq/management/schemas.ts';
import { parseDetailedQueueMetrics, queueKey } from '../../../src/rabbitmq/prometheus-plugin.ts';
import { parseExposition, type Sample } from '../../support/exposition.ts';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/rabbitmq-4/${name}`, import.meta.url), 'utf8');
const json = (name: string): unknown => JSON.parse(fixture(name));

const overview = overviewSchema.parse(json('overview.json'));
const nodes = nodesSchema.parse(json('nodes.json'));
const queues = toQueueMetadata(queueMetadataSchema.parse(json('queues-metadata.json')), policiesSchema.parse([]));
const pluginStats = parseDetailedQueueMetrics(fixture('plugin-detailed-a.txt'));

async function scrape(): Promise<Sample[]> {
  const registry = new MetricRegistry();
  const now = Date.now();
  const data = {
    resources: { settings: defaultExporterSettings() },
    overview: async () => overview,
    nodes: async () => nodes,
    queueMetadata: async () => ({ queues, fetchedAt: now, fetchMs: 5 }),
    queueStats: async () => ({ byQueue: pluginStats, nodesRead: ['rabbit@a', 'rabbit@b'], failures: [] }),
    selectedQueues: async () => selectQueues({ queues, fetchedAt: now, fetchMs: 5 }, { byQueue: pluginStats, nodesRead: ['rabbit@a', 'rabbit@b'] }, defaultExporterSettings().queues, now),
  } as unknown as ScrapeData;
  const cluster = { name: 'prod', nodes: nodes.map((n) => ({ name: n.name })) } as unknown as ClusterConfig;
  const ctx: ScrapeContext = { cluster, clusterLabel: 'prod', registry, data, signal: new AbortController().signal, now };
  for (const collector of [overviewCollector, nodesCollector, queuesCollector]) await collector.collect(ctx);
  return parseExposition(registry.render());
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('RabbitMQ 4.x shapes', () => {
  it('gates features by version: no mirroring, deprecated stats, replica API', () => {
    expect(capabilitiesOf(parseBrokerVersion(overview.rabbitmq_version!))).toMatchObject({
      classicMirroring: false, mirrorSyncHealthCheck: false, managementStatsDeprecated: true, quorumReplicaApi: true,
    });
  });

  it('reads the 4.1 plugin output: escaped labels, queue_info lines with extra labels do not become queues', () => {
    expect([...pluginStats.keys()].sort()).toEqual([queueKey('/', 'events'), queueKey('/', 'orders'), queueKey('/', 'scratch')].sort());
    expect(pluginStats.get(queueKey('/', 'orders'))?.get('messages')).toBe(15);
    expect(pluginStats.get(queueKey('/', 'orders'))?.get('info')).toBe(1);
  });

  it('exports totals without message_stats (stats subsystem disabled) and no counters it does not have', async () => {
    const samples = await scrape();
    expect(value(samples, 'rabbitmq_queues')).toBe(3);
    expect(value(samples, 'rabbitmq_version_info', { rabbitmq: '4.1.0' })).toBe(1);
    expect(samples.some((s) => s.name.startsWith('warren_messages_'))).toBe(false);
    expect(samples.some((s) => s.name === 'rabbitmq_queue_messages_global')).toBe(false);
  });

  it('reports quorum queues and streams under-replicated while a member node is down, classic queues without replication series', async () => {
    const samples = await scrape();
    for (const queue of ['orders', 'events']) {
      expect(value(samples, 'warren_queue_members', { queue })).toBe(3);
      expect(value(samples, 'warren_queue_members_online', { queue })).toBe(2);
      expect(value(samples, 'warren_queue_under_replicated', { queue })).toBe(1);
    }
    expect(samples.find((s) => s.name === 'warren_queue_members' && s.labels.queue === 'events')?.labels.type).toBe('stream');
    expect(samples.filter((s) => s.labels.queue === 'scratch' && s.name.includes('mirror'))).toEqual([]);
    expect(value(samples, 'rabbitmq_queue_messages', { queue: 'orders' })).toBe(15);
    // Streams have a kind of their own, not quorum's.
    expect(value(samples, 'warren_queues_replicated', { kind: 'quorum' })).toBe(1);
    expect(value(samples, 'warren_queues_replicated', { kind: 'stream' })).toBe(1);
    expect(value(samples, 'warren_queues_replication_unhealthy', { kind: 'quorum' })).toBe(1);
    expect(value(samples, 'warren_queues_replication_unhealthy', { kind: 'stream' })).toBe(1);
    expect(value(samples, 'warren_queues_replicated', { kind: 'mirrored' })).toBe(0);
  });

  it('reports the down node as not running and its maintenance state where given', async () => {
    const samples = await scrape();
    expect(value(samples, 'rabbitmq_running', { node: 'rabbit@c' })).toBe(0);
    expect(value(samples, 'warren_node_maintenance', { node: 'rabbit@a' })).toBe(0);
    expect(value(samples, 'rabbitmq_node_mem_used', { node: 'rabbit@c' })).toBeUndefined();
  });
});
