// The exporter against the real 3-node cluster, with faults injected for real.
import amqp from 'amqplib';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfigFile } from '../../src/config/load.ts';
import { Secret } from '../../src/config/secret.ts';
import type { ClusterConfig, WarrenConfig } from '../../src/config/types.ts';
import { createExporterApp } from '../../src/exporter/app.ts';
import { HostSampler } from '../../src/exporter/host-sampler.ts';
import { listen, type RunningServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logging.ts';
import { ManagementClient } from '../../src/rabbitmq/management/client.ts';
import { NodeControl } from '../../src/rabbitmq/node-control.ts';
import { parseExposition, type Sample } from '../support/exposition.ts';
import { promtoolCheckMetrics } from '../support/promtool.ts';
import { REPO_ROOT, blackHole, brokerFacts, countingProxy, waitFor, withLocalCli } from './support.ts';

const example = loadConfigFile(join(REPO_ROOT, 'warren.example.yml'));
// The example's cluster, with the CLI settings of the RabbitMQ the stack runs (4.0 runs in a chroot).
const base: WarrenConfig = { ...example, clusters: new Map([...example.clusters].map(([name, c]) => [name, name === 'local' ? withLocalCli(c) : c])) };
const local = base.clusters.get('local')!;
const facts = await brokerFacts();
const api = new ManagementClient(local);
const control = new NodeControl(local);
const VHOST = 'warren-exporter-test';
// Collector failures are logged as warnings; kept so a failing assertion can show why.
const logLines: string[] = [];
const quiet = createLogger('warn', { write: (line: string) => logLines.push(line) } as unknown as NodeJS.WritableStream);

function configWith(overrides: Partial<WarrenConfig['exporter']> = {}, extraClusters: ClusterConfig[] = []): WarrenConfig {
  return {
    ...base,
    clusters: new Map([...base.clusters, ...extraClusters.map((c) => [c.name, c] as const)]),
    exporter: { ...base.exporter, host: { ...base.exporter.host, enabled: false }, ...overrides },
  };
}

async function serve(config: WarrenConfig): Promise<{ server: RunningServer; close: () => Promise<void> }> {
  // As `warren exporter` wires it: the host sampler is the caller's, when host metrics are on.
  const hostSampler = config.exporter.host.enabled ? new HostSampler({ intervalMs: config.exporter.host.sampleIntervalMs }) : undefined;
  hostSampler?.start();
  const app = createExporterApp({ config, logger: quiet, hostSampler });
  const server = await listen(app.handle, { address: '127.0.0.1', port: 0 });
  return { server, close: async () => (await server.close(), await app.close(), hostSampler?.stop()) };
}

async function scrape(server: RunningServer, path = '/metrics', headers: Record<string, string> = {}): Promise<{ status: number; text: string; samples: Sample[] }> {
  const response = await fetch(`${server.url}${path}`, { headers, signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  return { status: response.status, text, samples: response.status === 200 ? parseExposition(text) : [] };
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function put(path: string, body: unknown): Promise<void> {
  await api.request(path, { method: 'PUT', body, schema: z.unknown() });
}

async function publish(queue: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await api.request(`/api/exchanges/${encodeURIComponent(VHOST)}/amq.default/publish`, {
      method: 'POST',
      body: { properties: {}, routing_key: queue, payload: `m${i}`, payload_encoding: 'string' },
      schema: z.unknown(),
    });
  }
}

let exporter: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  await api.request(`/api/vhosts/${encodeURIComponent(VHOST)}`, { method: 'DELETE', schema: z.unknown() }).catch(() => undefined);
  await put(`/api/vhosts/${encodeURIComponent(VHOST)}`, {});
  await put(`/api/permissions/${encodeURIComponent(VHOST)}/guest`, { configure: '.*', write: '.*', read: '.*' });
  // Health checks every second (default 15 s), so a fault shows in them within a test's patience.
  exporter = await serve(configWith({ healthChecks: { intervalMs: 1_000 } }));
});

afterAll(async () => {
  await exporter?.close();
  await api.request(`/api/vhosts/${encodeURIComponent(VHOST)}`, { method: 'DELETE', schema: z.unknown() }).catch(() => undefined);
  await api.close();
});

describe('exporter against the real cluster', () => {
  it('reports queue depth equal to rabbitmqctl list_queues', async () => {
    for (const [name, count] of [['depth-a', 3], ['depth-b', 7], ['depth-c', 0]] as const) {
      await put(`/api/queues/${encodeURIComponent(VHOST)}/${name}`, { durable: true });
      await publish(name, count);
    }
    const rows = await control.listQueues('rabbit1@localhost', VHOST, ['name', 'messages', 'messages_ready']);
    const expected = Object.fromEntries(rows.map((r) => [r.name as string, r.messages as number]));
    expect(expected).toEqual({ 'depth-a': 3, 'depth-b': 7, 'depth-c': 0 });
    // The plugin's per-queue metrics refresh on the stats interval: poll until they catch up.
    const matches = async () => {
      const { samples } = await scrape(exporter.server);
      return Object.entries(expected).every(([queue, messages]) => value(samples, 'rabbitmq_queue_messages', { vhost: VHOST, queue }) === messages);
    };
    expect(await waitFor(matches, 30_000, 1_000)).toBe(true);
    const { samples } = await scrape(exporter.server);
    expect(value(samples, 'rabbitmq_queue_messages_ready', { vhost: VHOST, queue: 'depth-b' })).toBe(7);
    expect(value(samples, 'rabbitmq_queue_consumers', { vhost: VHOST, queue: 'depth-b' })).toBe(0);
    expect(samples.find((s) => s.name === 'rabbitmq_queue_messages' && s.labels.queue === 'depth-a')?.labels).toMatchObject({
      cluster: 'local', type: 'classic', durable: 'true', node: expect.stringMatching(/^rabbit[123]@localhost$/),
    });
  });

  it('reports per-queue message counters equal to the management API, read in the background', async () => {
    // A fresh name: the statistics database keeps a deleted queue's counters for a while.
    const queue = `counted-${Date.now()}`;
    await put(`/api/queues/${encodeURIComponent(VHOST)}/${queue}`, { durable: true });
    await put(`/api/queues/${encodeURIComponent(VHOST)}/counted-idle`, { durable: true });
    await publish(queue, 7);
    // A real consumer with manual acks, so deliveries and acks are counted too.
    const connection = await amqp.connect({ hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'guest', vhost: VHOST });
    try {
      const channel = await connection.createChannel();
      await channel.prefetch(1);
      let received = 0;
      await new Promise<void>((resolve) => {
        void channel.consume(queue, (message) => {
          if (!message) return;
          received++;
          if (received <= 4) channel.ack(message);
          if (received === 4) resolve();
        });
      });
      await channel.close();
    } finally {
      await connection.close();
    }
    const counting = await serve(configWith({ queues: { ...base.exporter.queues, counters: { enabled: true, intervalMs: 5_000, pageSize: 2 } } }));
    try {
      const labels = { vhost: VHOST, queue };
      const expected = async () => {
        const stats = (await api.queue(VHOST, queue)).data.message_stats;
        return { publish: stats?.publish, deliver: stats?.deliver, ack: stats?.ack };
      };
      let last = '';
      const agrees = async () => {
        const { samples } = await scrape(counting.server);
        const want = await expected();
        const got = ['published', 'delivered', 'ack'].map((kind) => value(samples, `rabbitmq_queue_messages_${kind}_total`, labels));
        last = `API ${JSON.stringify(want)}, scrape ${JSON.stringify(got)}, counters age ${value(samples, 'warren_queue_counters_age_seconds', { cluster: 'local' })}`;
        // The API counts publishes per channel, and under load it can miss the last statistics of
        // the short-lived channel it opens for each HTTP publish (seen: 5 of 7): warren must agree
        // with whatever the API says, which is at least the 4 acknowledged and at most the 7 sent.
        return (
          want.publish !== undefined &&
          want.publish >= 4 &&
          want.publish <= 7 &&
          want.ack === 4 &&
          value(samples, 'rabbitmq_queue_messages_published_total', labels) === want.publish &&
          value(samples, 'rabbitmq_queue_messages_delivered_total', labels) === want.deliver &&
          value(samples, 'rabbitmq_queue_messages_ack_total', labels) === want.ack
        );
      };
      expect(await waitFor(agrees, 40_000, 1_000), last).toBe(true);
      const { samples } = await scrape(counting.server);
      // A queue without traffic counts 0; the data's age is exported.
      expect(value(samples, 'rabbitmq_queue_messages_published_total', { vhost: VHOST, queue: 'counted-idle' })).toBe(0);
      expect(value(samples, 'warren_queue_counters_age_seconds', { cluster: 'local' })).toBeLessThan(30);
      // Off by default: the shared exporter has none.
      expect(value((await scrape(exporter.server)).samples, 'rabbitmq_queue_messages_published_total', labels)).toBeUndefined();
    } finally {
      await counting.close();
    }
  });

  it('gives every series exactly once and passes promtool check metrics', async () => {
    const { text, samples } = await scrape(exporter.server);
    const keys = samples.map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const collector of ['overview', 'nodes', 'queues', 'health_checks', 'amqp_probe', 'health_score']) {
      expect(value(samples, 'warren_scrape_collector_success', { collector }), `${collector}: ${logLines.slice(-5).join('')}`).toBe(1);
      expect(value(samples, 'warren_scrape_collector_duration_seconds', { collector })).toBeGreaterThanOrEqual(0);
    }
    expect(value(samples, 'rabbitmq_up', { cluster: 'local' })).toBe(1);
    expect(value(samples, 'process_resident_memory_bytes', {})).toBeGreaterThan(0); // the exporter's own process, on /metrics
    expect(value(samples, 'warren_health_checks_age_seconds', { cluster: 'local' })).toBeGreaterThanOrEqual(0);
    for (const check of ['alarms', 'virtual-hosts']) expect(value(samples, 'warren_health_check_passing', { check, node: '' }), check).toBe(1);
    for (const node of ['rabbit1@localhost', 'rabbit2@localhost', 'rabbit3@localhost']) {
      for (const check of ['node-is-quorum-critical', 'node-is-mirror-sync-critical', 'certificate-expiration']) {
        // Mirroring and its check were removed in 4.0: asking for it there would only ever fail.
        const expected = check !== 'node-is-mirror-sync-critical' || facts.capabilities.mirrorSyncHealthCheck;
        expect(value(samples, 'warren_health_check_passing', { check, node }) !== undefined, `${check} on ${node}`).toBe(expected);
      }
      // No TLS listeners on the local stack: nothing can expire.
      expect(value(samples, 'warren_health_check_passing', { check: 'certificate-expiration', node })).toBe(1);
    }
    const lint = await promtoolCheckMetrics(text);
    expect(lint.problems).toEqual([]);
  });

  it('with everything on (details full, counters, host metrics): queue bytes, persistence and head-message age, node resources, object totals, message counters and host facts agree with their sources, and the whole scrape passes promtool', async () => {
    const queue = `detailed-${Date.now()}`;
    await put(`/api/queues/${encodeURIComponent(VHOST)}/${queue}`, { durable: true });
    const oldest = Math.floor(Date.now() / 1000) - 600; // published "ten minutes ago" by its timestamp property
    for (let i = 0; i < 4; i++) {
      await api.request(`/api/exchanges/${encodeURIComponent(VHOST)}/amq.default/publish`, {
        method: 'POST',
        body: { properties: { timestamp: oldest + i, delivery_mode: i < 3 ? 2 : 1 }, routing_key: queue, payload: 'x'.repeat(100 * (i + 1)), payload_encoding: 'string' },
        schema: z.unknown(),
      });
    }
    const everything = await serve(
      configWith({
        host: { ...base.exporter.host, enabled: true },
        queues: { ...base.exporter.queues, details: 'full', counters: { enabled: true, intervalMs: 5_000, pageSize: 500 } },
      }),
    );
    try {
      const labels = { vhost: VHOST, queue };
      // The plugin's and the management API's queue statistics refresh on the stats interval, the probe
      // and the host sampler on schedules of their own: wait until this queue's statistics are in on
      // both, and a probe round and a host sample are done.
      const caughtUp = async () => {
        const { samples } = await scrape(everything.server);
        const stats = (await api.queue(VHOST, queue)).data;
        const has = (name: string) => samples.some((sample) => sample.name === name);
        // Counts, bytes and the head message reach the API's statistics at different moments.
        const apiCaughtUp = stats.messages === 4 && stats.message_bytes === 1000 && stats.head_message_timestamp === oldest;
        return apiCaughtUp && value(samples, 'rabbitmq_queue_message_bytes', labels) === 1000 && has('warren_amqp_probe_success') && has('warren_host_memory_total_bytes');
      };
      expect(await waitFor(caughtUp, 30_000, 1_000)).toBe(true);
      const stats = (await api.queue(VHOST, queue)).data;
      const { text, samples } = await scrape(everything.server);
      expect(stats).toMatchObject({ messages: 4, message_bytes: 1000, messages_persistent: 3, head_message_timestamp: oldest });
      expect(value(samples, 'rabbitmq_queue_message_bytes', labels)).toBe(stats.message_bytes);
      expect(value(samples, 'rabbitmq_queue_message_bytes_ready', labels)).toBe(1000);
      expect(value(samples, 'rabbitmq_queue_message_bytes_unacknowledged', labels)).toBe(0);
      expect(value(samples, 'rabbitmq_queue_messages_persistent', labels)).toBe(stats.messages_persistent);
      expect(value(samples, 'rabbitmq_queue_memory', labels)).toBeGreaterThan(0);
      expect(value(samples, 'rabbitmq_queue_head_message_timestamp', labels)).toBe(oldest);
      const age = value(samples, 'warren_queue_head_message_age_seconds', labels)!;
      expect(age).toBeGreaterThanOrEqual(600);
      expect(age).toBeLessThan(600 + 120);
      // Node resources: the limits are fixed while the node runs, so they must equal /api/nodes exactly.
      const nodes = (await api.nodes()).data;
      for (const node of nodes) {
        const at = { node: node.name };
        expect(value(samples, 'rabbitmq_running', at), node.name).toBe(node.running ? 1 : 0);
        expect(value(samples, 'rabbitmq_node_mem_limit', at), node.name).toBe(node.mem_limit);
        expect(value(samples, 'rabbitmq_node_disk_free_limit', at), node.name).toBe(node.disk_free_limit);
        expect(value(samples, 'rabbitmq_fd_available', at), node.name).toBe(node.fd_total);
        expect(value(samples, 'rabbitmq_sockets_available', at), node.name).toBe(node.sockets_total);
        expect(value(samples, 'warren_node_erlang_processes_limit', at), node.name).toBe(node.proc_total);
        expect(value(samples, 'rabbitmq_partitions', at), node.name).toBe(0);
        expect(value(samples, 'rabbitmq_node_mem_used', at), node.name).toBeGreaterThan(0);
      }
      // Totals and counters move (the probe publishes every round): the scrape's value lies between two reads of the API.
      const between = async (name: string, read: (o: Awaited<ReturnType<ManagementClient['overview']>>['data']) => number | undefined) => {
        const before = read((await api.overview()).data);
        const scraped = value((await scrape(everything.server)).samples, name, { cluster: 'local' });
        const after = read((await api.overview()).data);
        return before !== undefined && after !== undefined && scraped !== undefined && before <= scraped && scraped <= after;
      };
      expect(await waitFor(() => between('rabbitmq_queues', (o) => o.object_totals?.queues), 20_000, 1_000)).toBe(true);
      expect(await waitFor(() => between('rabbitmq_exchanges', (o) => o.object_totals?.exchanges), 20_000, 1_000)).toBe(true);
      expect(await waitFor(() => between('warren_messages_published_total', (o) => o.message_stats?.publish), 20_000, 1_000)).toBe(true);
      // The AMQP probe went through, to the load balancer and to each node.
      const probes = samples.filter((sample) => sample.name === 'warren_amqp_probe_success');
      expect(probes.length).toBe(4);
      for (const probe of probes) {
        expect(probe.value, probe.labels.target).toBe(1);
        const roundTrip = value(samples, 'warren_amqp_probe_round_trip_seconds', { target: probe.labels.target! })!;
        expect(roundTrip).toBeGreaterThan(0);
        expect(roundTrip).toBeLessThan(5);
      }
      // The host: what the kernel says about this machine.
      expect(value(samples, 'warren_host_memory_total_bytes', {})).toBe(totalmem());
      expect(value(samples, 'warren_host_cpus', {})).toBe(cpus().length);
      for (const collector of ['overview', 'nodes', 'queues', 'health_checks', 'amqp_probe', 'host', 'health_score', 'process']) {
        expect(value(samples, 'warren_scrape_collector_success', { collector }), `${collector}: ${logLines.slice(-5).join('')}`).toBe(1);
      }
      const lint = await promtoolCheckMetrics(text);
      expect(lint.problems).toEqual([]);
    } finally {
      await everything.close();
    }
  });

  it.runIf(facts.capabilities.classicMirroring)('shows a classic mirrored queue with an unsynchronised mirror, and its recovery after sync', async () => {
    const queue = 'mirror-manual';
    await put(`/api/queues/${encodeURIComponent(VHOST)}/${queue}`, { durable: true, arguments: { 'x-queue-master-locator': 'client-local' } });
    await publish(queue, 5);
    // A mirror added to a queue that already holds messages stays unsynchronised in manual mode.
    await put(`/api/policies/${encodeURIComponent(VHOST)}/mirror-manual`, {
      pattern: `^${queue}$`, 'apply-to': 'queues', definition: { 'ha-mode': 'exactly', 'ha-params': 2, 'ha-sync-mode': 'manual' },
    });
    const labels = { vhost: VHOST, queue };
    // The policy adds the mirror asynchronously: wait until it exists and is reported unsynchronised.
    const unsynchronised = async () => {
      const { samples } = await scrape(exporter.server);
      return value(samples, 'rabbitmq_queue_slaves_nodes_len', labels) === 1 && value(samples, 'warren_queue_mirrors_unsynchronised', labels) === 1;
    };
    expect(await waitFor(unsynchronised, 30_000, 1_000)).toBe(true);
    const { samples } = await scrape(exporter.server);
    expect(value(samples, 'warren_queue_mirrors_expected', labels)).toBe(1);
    expect(value(samples, 'rabbitmq_queue_slaves_nodes_len', labels)).toBe(1);
    expect(value(samples, 'rabbitmq_queue_synchronised_slave_nodes_len', labels)).toBe(0);
    expect(value(samples, 'warren_queue_under_replicated', labels)).toBe(1);
    expect(value(samples, 'warren_queues_replication_unhealthy', { kind: 'mirrored' })).toBeGreaterThanOrEqual(1);

    await api.syncQueue(VHOST, queue);
    const synchronised = async () => value((await scrape(exporter.server)).samples, 'warren_queue_mirrors_unsynchronised', labels) === 0;
    expect(await waitFor(synchronised, 30_000, 1_000)).toBe(true);
  });

  it('shows a quorum queue and a stream under-replicated and the node not running while a member node is stopped', async () => {
    const queue = 'quorum-members';
    await put(`/api/queues/${encodeURIComponent(VHOST)}/${queue}`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const labels = { vhost: VHOST, queue };
    // The replication kind RabbitMQ 4.x keeps besides quorum queues (mirroring is gone there).
    const stream = { vhost: VHOST, queue: 'stream-members' };
    await put(`/api/queues/${encodeURIComponent(VHOST)}/${stream.queue}`, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    const allOnline = async () => {
      const { samples } = await scrape(exporter.server);
      return value(samples, 'warren_queue_members_online', labels) === 3 && value(samples, 'warren_queue_members_online', stream) === 3;
    };
    expect(await waitFor(allOnline, 30_000, 1_000)).toBe(true);

    const stopped = 'rabbit3@localhost';
    await control.stopApp(stopped);
    try {
      const degraded = async () => {
        const { samples } = await scrape(exporter.server);
        return (
          value(samples, 'warren_queue_under_replicated', labels) === 1 &&
          value(samples, 'warren_queue_under_replicated', stream) === 1 &&
          value(samples, 'rabbitmq_running', { node: stopped }) === 0 &&
          // The checks run on their own schedule: a later round sees that stopping another member would lose quorum.
          value(samples, 'warren_health_check_passing', { check: 'node-is-quorum-critical', node: 'rabbit1@localhost' }) === 0 &&
          // A round that listed the nodes while the app was still stopping checked it too (and it failed);
          // a round that started after sees it not running and skips its node checks.
          value(samples, 'warren_health_check_passing', { check: 'node-is-quorum-critical', node: stopped }) === undefined
        );
      };
      expect(await waitFor(degraded, 30_000, 1_000)).toBe(true);
      const { status, samples } = await scrape(exporter.server);
      expect(status).toBe(200);
      expect(value(samples, 'warren_queue_members', labels)).toBe(3);
      expect(value(samples, 'warren_queue_members_online', labels)).toBe(2);
      expect(samples.find((s) => s.name === 'warren_queue_members' && s.labels.queue === queue)?.labels.type).toBe('quorum');
      expect(value(samples, 'warren_queue_members', stream)).toBe(3);
      expect(value(samples, 'warren_queue_members_online', stream)).toBe(2);
      expect(samples.find((s) => s.name === 'warren_queue_members' && s.labels.queue === stream.queue)?.labels.type).toBe('stream');
      expect(value(samples, 'warren_queues_replicated', { kind: 'stream' })).toBeGreaterThanOrEqual(1);
      expect(value(samples, 'warren_queues_replication_unhealthy', { kind: 'stream' })).toBeGreaterThanOrEqual(1);
      expect(value(samples, 'warren_health_score_component', { scope: 'cluster', component: 'nodes' })).toBeLessThan(100);
      // No node checks for a node that is not running.
      expect(value(samples, 'warren_health_check_passing', { check: 'node-is-quorum-critical', node: stopped })).toBeUndefined();
    } finally {
      await control.startApp(stopped);
      await control.awaitStartup(stopped, 120);
    }
    const recovered = async () => {
      const { samples } = await scrape(exporter.server);
      return value(samples, 'warren_queue_under_replicated', labels) === 0 && value(samples, 'warren_queue_under_replicated', stream) === 0
        && value(samples, 'warren_health_check_passing', { check: 'node-is-quorum-critical', node: 'rabbit1@localhost' }) === 1;
    };
    expect(await waitFor(recovered, 60_000, 1_000)).toBe(true);
  });

  it('counts a stream as a replicated stream, not as a quorum queue, with its members (on 3.x read apart from the queue list)', async () => {
    const queue = 'replicated-log';
    await put(`/api/queues/${encodeURIComponent(VHOST)}/${queue}`, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    const labels = { vhost: VHOST, queue };
    const counted = async () => {
      const { samples } = await scrape(exporter.server);
      return value(samples, 'warren_queue_members', labels) === 3 && (value(samples, 'warren_queues_replicated', { kind: 'stream' }) ?? 0) >= 1;
    };
    expect(await waitFor(counted, 30_000, 1_000)).toBe(true);
    const { samples } = await scrape(exporter.server);
    expect(samples.find((s) => s.name === 'warren_queue_members' && s.labels.queue === queue)?.labels.type).toBe('stream');
    expect(value(samples, 'warren_queue_under_replicated', labels)).toBe(0);
    // The quorum count is what the management API lists as quorum queues, streams not included
    // (polled: other tests may declare queues between the two reads).
    const quorumAgrees = async () => {
      const quorumQueues = (await api.queues({ query: { disable_stats: true, columns: 'name,vhost,type' } })).data.filter((q) => q.type === 'quorum').length;
      return value((await scrape(exporter.server)).samples, 'warren_queues_replicated', { kind: 'quorum' }) === quorumQueues;
    };
    expect(await waitFor(quorumAgrees, 20_000, 1_000)).toBe(true);
    await api.request(`/api/queues/${encodeURIComponent(VHOST)}/${queue}`, { method: 'DELETE', schema: z.unknown() });
  });

  it('shares one scrape between concurrent requests: the broker is asked once (an HA Prometheus pair)', async () => {
    // Every node's management API behind a proxy that counts requests and slows each by 300 ms, so
    // the second scrape surely arrives while the first is fetching.
    const proxy = await countingProxy(new URL(local.nodes[0]!.managementUrl), 300);
    const proxied: ClusterConfig = { ...local, name: 'proxied', nodes: local.nodes.map((node) => ({ ...node, managementUrl: proxy.url })) };
    const server = await serve(configWith({ healthChecks: { intervalMs: 3_600_000 } }, [proxied]));
    try {
      // The scrape's own reads (the health-check round at start reads the overview without statistics).
      const overviews = () => proxy.requests.filter((request) => request === 'GET /api/overview').length;
      const nodeReads = () => proxy.requests.filter((request) => request === 'GET /api/nodes').length;
      const [a, b] = await Promise.all([scrape(server.server, '/probe?target=proxied'), scrape(server.server, '/probe?target=proxied')]);
      for (const { samples } of [a, b]) expect(value(samples, 'rabbitmq_up', { cluster: 'proxied' })).toBe(1);
      expect(value(a.samples, 'warren_scrape_duration_seconds', {})).toBe(value(b.samples, 'warren_scrape_duration_seconds', {}));
      expect(overviews(), proxy.requests.join('\n')).toBe(1);
      expect(nodeReads()).toBe(1);
      // A scrape after those is a new fetch.
      await scrape(server.server, '/probe?target=proxied');
      expect(overviews()).toBe(2);
      expect(nodeReads()).toBe(2);
    } finally {
      await server.close();
      await proxy.close();
    }
  });

  it('filters queues with anchored regexes and caps them at the deepest N', async () => {
    const filtered = await serve(configWith({ queues: { ...base.exporter.queues, includeVhosts: new RegExp(`^(?:${VHOST})$`), exclude: /^(?!(?:depth-[ab]|mirror-manual|quorum-members)$).*$/, maxQueues: 2 } }));
    try {
      let queues: (string | undefined)[] = [];
      const ok = async () => {
        const { samples } = await scrape(filtered.server);
        queues = samples.filter((s) => s.name === 'rabbitmq_queue_messages').map((s) => s.labels.queue).sort();
        // Other tests' queues are excluded, so the order is known: of depth-b (7), mirror-manual (5,
        // where mirroring exists), depth-a (3) and quorum-members (0), the two deepest remain.
        const deepest = facts.capabilities.classicMirroring ? ['depth-b', 'mirror-manual'] : ['depth-a', 'depth-b'];
        return JSON.stringify(queues) === JSON.stringify(deepest);
      };
      expect(await waitFor(ok, 20_000, 1_000), `exported: ${queues.join(', ')}`).toBe(true);
      const { samples } = await scrape(filtered.server);
      expect(value(samples, 'warren_queues_excluded', {})).toBeGreaterThanOrEqual(1);
      expect(value(samples, 'warren_queues_omitted', {})).toBeGreaterThanOrEqual(1);
    } finally {
      await filtered.close();
    }
  });
});

describe('exporter when the broker is unreachable', () => {
  it('answers 200 with rabbitmq_up 0 for a dead broker and for one that hangs past the scrape deadline', async () => {
    const hole = await blackHole();
    const deadNodes = (port: number) => local.nodes.map((n, i) => ({ ...n, name: `dead${i}@nowhere`, managementUrl: `http://127.0.0.1:${port}`, amqpUrl: `amqp://127.0.0.1:${port}`, prometheusUrl: `http://127.0.0.1:${port}` }));
    const dead: ClusterConfig = { ...local, name: 'dead', nodes: deadNodes(1), amqp: { ...local.amqp, loadBalancerUrl: undefined } };
    const hung: ClusterConfig = { ...local, name: 'hung', nodes: deadNodes(hole.port), amqp: { ...local.amqp, loadBalancerUrl: undefined } };
    const server = await serve(configWith({}, [dead, hung]));
    try {
      for (const target of ['dead', 'hung']) {
        const started = Date.now();
        const { status, samples } = await scrape(server.server, `/probe?target=${target}`, { 'X-Prometheus-Scrape-Timeout-Seconds': '3' });
        // Within Prometheus's deadline (the exporter keeps a margin of its own), or Prometheus would record a failed scrape instead.
        expect(Date.now() - started, target).toBeLessThan(3_000);
        expect(status, target).toBe(200);
        expect(value(samples, 'rabbitmq_up', { cluster: target })).toBe(0);
        expect(value(samples, 'warren_scrape_collector_success', { collector: 'nodes' })).toBe(0);
        // /probe reports its target only: not the exporter's own process.
        expect(samples.filter((sample) => sample.name.startsWith('process_'))).toEqual([]);
      }
      // A broker that refuses connections is known to be down: the cluster score says so.
      const { samples } = await scrape(server.server, '/probe?target=dead');
      expect(value(samples, 'warren_health_score', { scope: 'cluster' })).toBe(0);
      expect(value(samples, 'warren_health_status', { scope: 'cluster', status: 'critical' })).toBe(1);
    } finally {
      await server.close();
      await hole.close();
    }
  });

  it('answers 400 for /probe without a target or with an unknown one', async () => {
    expect((await scrape(exporter.server, '/probe')).status).toBe(400);
    const unknown = await scrape(exporter.server, '/probe?target=nope');
    expect(unknown.status).toBe(400);
    expect(unknown.text).toMatch(/unknown target "nope".*local/);
    expect((await scrape(exporter.server, '/probe?target=local')).status).toBe(200);
  });

  it('serves health endpoints, 404 and 405', async () => {
    const status = async (path: string) => (await fetch(`${exporter.server.url}${path}`)).status;
    expect(await status('/-/healthy')).toBe(200);
    expect(await status('/-/ready')).toBe(200);
    expect(await status('/nope')).toBe(404);
    expect((await fetch(`${exporter.server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('requires basic auth when configured', async () => {
    const secured = await serve(configWith({ basicAuth: { username: 'prom', password: new Secret('scrape-pw', 'inline') } }));
    try {
      expect((await scrape(secured.server)).status).toBe(401);
      const wrong = { authorization: `Basic ${Buffer.from('prom:nope').toString('base64')}` };
      expect((await scrape(secured.server, '/metrics', wrong)).status).toBe(401);
      const right = { authorization: `Basic ${Buffer.from('prom:scrape-pw').toString('base64')}` };
      const ok = await scrape(secured.server, '/metrics', right);
      expect(ok.status).toBe(200);
      expect(ok.text).not.toContain('scrape-pw');
    } finally {
      await secured.close();
    }
  });
});


describe('health checks when the whole cluster goes away', () => {
  it('reports none of the previous round passing from the first scrape on', async () => {
    // The real cluster behind one TCP proxy per node: closing the proxies takes every node away at
    // once, as far as warren can tell, without stopping the shared cluster.
    const proxies = await Promise.all(local.nodes.map((node) => countingProxy(new URL(node.managementUrl), 0)));
    const going: ClusterConfig = {
      ...local,
      name: 'going',
      nodes: local.nodes.map((node, i) => ({ ...node, managementUrl: proxies[i]!.url })),
      amqp: { ...local.amqp, loadBalancerUrl: undefined },
    };
    // A round now and no other for an hour: what a scrape reports after the proxies close is that round.
    const server = await serve(configWith({ healthChecks: { intervalMs: 3_600_000 } }, [going]));
    try {
      const before = await scrape(server.server, '/probe?target=going');
      const passing = (samples: Sample[]) => samples.filter((s) => s.name === 'warren_health_check_passing');
      expect(value(before.samples, 'warren_health_check_passing', { check: 'alarms', node: '' })).toBe(1);
      expect(passing(before.samples).length).toBeGreaterThanOrEqual(2 + 2 * local.nodes.length);

      await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
      const after = await scrape(server.server, '/probe?target=going');
      expect(after.status).toBe(200);
      expect(value(after.samples, 'warren_scrape_collector_success', { collector: 'nodes' })).toBe(0);
      expect(value(after.samples, 'warren_health_check_passing', { check: 'alarms', node: '' })).toBe(0);
      // The same series as before, none of them passing.
      expect(passing(after.samples).map((s) => `${s.labels.check}@${s.labels.node}`).sort()).toEqual(passing(before.samples).map((s) => `${s.labels.check}@${s.labels.node}`).sort());
      expect(passing(after.samples).filter((s) => s.value !== 0)).toEqual([]);
    } finally {
      await server.close();
      await Promise.all(proxies.map((proxy) => proxy.close()));
    }
  });
});
