// A partition as the exporter sees it: answers recorded from the local 3.10.8 and 4.0.5 clusters
// while rabbit1 and rabbit2 were disconnected (fixtures/partition-*/README.md), replayed by one
// loopback HTTP server per node, so the real management client reads each node's list and its own
// entry.
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.ts';
import type { ClusterConfig } from '../../../src/config/types.ts';
import type { ScrapeContext } from '../../../src/exporter/collector.ts';
import { nodesCollector } from '../../../src/exporter/collectors/nodes.ts';
import { HealthCheckScheduler } from '../../../src/exporter/health-check-scheduler.ts';
import { ScrapeData, type ClusterResources } from '../../../src/exporter/scrape-data.ts';
import { defaultExporterSettings } from '../../../src/exporter/settings.ts';
import { MetricRegistry } from '../../../src/metrics/registry.ts';
import { ManagementClient, NODE_COLUMNS, mergeOwnViews, nodesFirstHand, type OwnNodeView } from '../../../src/rabbitmq/management/client.ts';
import { nodeSchema, nodesSchema, type RabbitNode } from '../../../src/rabbitmq/management/schemas.ts';
import { parseExposition, type Sample } from '../../support/exposition.ts';

const NODES = ['rabbit1@localhost', 'rabbit2@localhost', 'rabbit3@localhost'];
const [R1, R2, R3] = NODES as [string, string, string];

interface Recording {
  dir: string;
  /** Which nodes each node's /api/nodes lists running: the lists disagree, each side calls the other down. */
  listedRunning: Record<number, string[]>;
  /** What each node says of itself: all running, each side with its own partitions. */
  firstHand: Record<string, { running: boolean; partitions: string[] }>;
}

const RECORDINGS: Recording[] = [
  {
    dir: 'partition-3.10',
    listedRunning: { 1: [R1, R3], 2: [R2], 3: [R1, R3] },
    firstHand: { [R1]: { running: true, partitions: [R2] }, [R2]: { running: true, partitions: [R1, R3] }, [R3]: { running: true, partitions: [R2] } },
  },
  {
    dir: 'partition-4.0',
    listedRunning: { 1: [R1], 2: [R2, R3], 3: [R2, R3] },
    firstHand: { [R1]: { running: true, partitions: [R2, R3] }, [R2]: { running: true, partitions: [R1] }, [R3]: { running: true, partitions: [] } },
  },
];
const [V310] = RECORDINGS as [Recording, Recording];

const read = (dir: string, name: string) => readFileSync(new URL(`fixtures/${dir}/${name}`, import.meta.url), 'utf8');
const listFrom = (rec: Recording, n: number) => read(rec.dir, `nodes-from-rabbit${n}.json`);
const ownOf = (rec: Recording, n: number) => read(rec.dir, `own-rabbit${n}.json`);
const listed = (rec: Recording, n: number) => nodesSchema.parse(JSON.parse(listFrom(rec, n)));
const ownView = (rec: Recording, n: number) => nodeSchema.parse(JSON.parse(ownOf(rec, n)));
const ownViews = (rec: Recording): OwnNodeView[] => NODES.map((node, i) => ({ node, view: ownView(rec, i + 1) }));
const byName = (nodes: RabbitNode[]) => Object.fromEntries(nodes.map((n) => [n.name, { running: n.running, partitions: [...n.partitions].sort() }]));

describe.each(RECORDINGS)('mergeOwnViews ($dir)', (rec) => {
  it.each([1, 2, 3])('gives every node its own view whichever node answered the list (list from rabbit%i)', (answering) => {
    expect(listed(rec, answering).filter((n) => n.running).map((n) => n.name)).toEqual(rec.listedRunning[answering]);
    expect(byName(mergeOwnViews(listed(rec, answering), ownViews(rec)))).toEqual(rec.firstHand);
  });
});

describe('mergeOwnViews (partition-3.10)', () => {
  it('takes resources from the own view, and the fields it was not asked for from the list', () => {
    const list = listed(V310, 1);
    const merged = mergeOwnViews(list, ownViews(V310));
    expect(merged[1]).toMatchObject({ name: R2, mem_used: ownView(V310, 2).mem_used, fd_used: ownView(V310, 2).fd_used });
    expect((merged[1] as Record<string, unknown>).os_pid).toBe((list[1] as Record<string, unknown>).os_pid);
  });

  it('keeps the list\'s entry of a node that did not answer for itself (a drained node suspends its HTTP listener and still runs)', () => {
    const own: OwnNodeView[] = [...ownViews(V310).slice(0, 2), { node: R3, error: 'connect ECONNREFUSED 127.0.0.1:15674' }];
    expect(byName(mergeOwnViews(listed(V310, 1), own))[R3]).toEqual({ running: true, partitions: [R2] });
    // Listed down by rabbit2 and silent itself: down.
    const fromRabbit2 = byName(mergeOwnViews(listed(V310, 2), own));
    expect(fromRabbit2[R3]?.running).toBe(false);
    expect(fromRabbit2[R1]).toEqual(V310.firstHand[R1]);
  });

  it('ignores an answer about another node, and adds a configured node the list left out', () => {
    const list = listed(V310, 2).filter((n) => n.name !== R3);
    // rabbit1's management_url pointing at rabbit2: its answer is about rabbit2, not first-hand.
    const own: OwnNodeView[] = [{ node: R1, view: ownView(V310, 2) }, { node: R3, view: ownView(V310, 3) }];
    const merged = byName(mergeOwnViews(list, own));
    expect(merged[R1]?.running).toBe(false);
    expect(merged[R3]).toEqual(V310.firstHand[R3]);
  });
});

/** rabbitN's management endpoint, replaying the recording being replayed; every request is logged. */
interface ReplayNode {
  server: Server;
  port: number;
  requests: string[];
}

let replaying = V310;
let replay: ReplayNode[];
let cluster: ClusterConfig;

async function listenOn(server: Server, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function replayServer(n: number, requests: string[]): Server {
  return createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://replay');
    requests.push(`${url.pathname}${url.search}`);
    const json = (body: string) => response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    if (url.pathname === '/api/nodes') return json(listFrom(replaying, n));
    if (url.pathname === `/api/nodes/${encodeURIComponent(NODES[n - 1]!)}`) return json(ownOf(replaying, n));
    if (url.pathname === '/api/overview') return json(read(replaying.dir, 'overview.json'));
    // Which checks run is under test here, not what they answer: every one answers as on the whole cluster.
    if (url.pathname.startsWith('/api/health/checks/')) return json(read('healthy-3.10', 'health-check-ok.json'));
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Object Not Found","reason":"Not Found"}');
  });
}

beforeAll(async () => {
  replay = [];
  for (const n of [1, 2, 3]) {
    const requests: string[] = [];
    const server = replayServer(n, requests);
    replay.push({ server, port: await listenOn(server), requests });
  }
  const nodes = NODES.map((name, i) => `      - { name: ${name}, management_url: "http://127.0.0.1:${replay[i]!.port}" }`).join('\n');
  const yaml = `clusters:\n  local:\n    management: { timeout: 2s, node_selection: round_robin, unhealthy_after_failures: 2, retry_unhealthy_after: 1h }\n    nodes:\n${nodes}\n`;
  cluster = parseConfigText(yaml, 'test').clusters.get('local')!;
});

afterEach(() => {
  replaying = V310;
  for (const node of replay) node.requests.length = 0;
});

afterAll(async () => {
  await Promise.all(replay.map(async ({ server }) => server.listening && (server.close(), await once(server, 'close'))));
});

const value = (samples: Sample[], name: string, labels: Record<string, string>) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
const series = (samples: Sample[], name: string) => samples.filter((s) => s.name === name);

async function scrapeNodes(management: ManagementClient): Promise<Sample[]> {
  const resources = { cluster, settings: defaultExporterSettings(), management, plugins: [] } as unknown as ClusterResources;
  const signal = AbortSignal.timeout(10_000);
  const now = Date.now();
  const ctx: ScrapeContext = { cluster, clusterLabel: 'local', registry: new MetricRegistry(), data: new ScrapeData(resources, signal, now), signal, now };
  await nodesCollector.collect(ctx);
  return parseExposition(ctx.registry.render());
}

describe.each(RECORDINGS)('nodes collector through the management client ($dir, replayed)', (rec) => {
  it('reports every node running and every side\'s partitions, whichever node answers /api/nodes', async () => {
    replaying = rec;
    const expectedViews = Object.entries(rec.firstHand).flatMap(([node, view]) => view.partitions.map((peer) => `${node} -> ${peer}`)).sort();
    const expectedCounts = Object.fromEntries(Object.entries(rec.firstHand).map(([node, view]) => [node, view.partitions.length]));
    const management = new ManagementClient(cluster);
    try {
      // Round robin: three scrapes read the list from rabbit1, rabbit2 and rabbit3 in turn.
      for (const answering of [0, 1, 2]) {
        const samples = await scrapeNodes(management);
        expect(replay[answering]!.requests).toContain('/api/nodes');
        for (const node of NODES) expect(value(samples, 'rabbitmq_running', { node })).toBe(1);
        expect(series(samples, 'warren_node_partitioned_from').map((s) => `${s.labels.node} -> ${s.labels.peer}`).sort()).toEqual(expectedViews);
        expect(Object.fromEntries(series(samples, 'rabbitmq_partitions').map((s) => [s.labels.node, s.value]))).toEqual(expectedCounts);
        for (const node of replay) node.requests.length = 0;
      }
    } finally {
      await management.close();
    }
  });
});

describe('nodes collector through the management client (partition-3.10, replayed)', () => {
  it('asks each node about itself only, on its own port, for the columns warren reads', async () => {
    const management = new ManagementClient(cluster);
    try {
      await nodesFirstHand(management, NODES);
      const columns = new URLSearchParams({ columns: NODE_COLUMNS.join(',') }).toString();
      NODES.forEach((node, i) => {
        expect(replay[i]!.requests.filter((path) => path.startsWith('/api/nodes/'))).toEqual([`/api/nodes/${encodeURIComponent(node)}?${columns}`]);
      });
    } finally {
      await management.close();
    }
  });

  it('reads a node that does not answer from the list (down where the list says so), and stops asking it once benched', async () => {
    const silent = replay[1]!;
    silent.server.close();
    await once(silent.server, 'close');
    const management = new ManagementClient(cluster);
    try {
      // The list comes from rabbit1 (round robin's first pick), which calls rabbit2 down.
      const samples = await scrapeNodes(management);
      expect(value(samples, 'rabbitmq_running', { node: R2 })).toBe(0);
      expect(value(samples, 'rabbitmq_running', { node: R1 })).toBe(1);
      // A node that is not running has no partition view of its own here: the list's copy is stale.
      expect(series(samples, 'warren_node_partitioned_from').filter((s) => s.labels.node === R2)).toEqual([]);
      expect(series(samples, 'rabbitmq_partitions').map((s) => s.labels.node).sort()).toEqual([R1, R3]);
      // Two failures bench it (unhealthy_after_failures: 2); benched, it is not asked again before its retry time.
      const rabbit2 = () => management.nodeHealth().find((h) => h.node === R2)!;
      await nodesFirstHand(management, NODES);
      expect(rabbit2().healthy).toBe(false);
      const asked = rabbit2().requests;
      const nodes = await nodesFirstHand(management, NODES);
      expect(rabbit2().requests).toBe(asked);
      expect(nodes.find((n) => n.name === R2)?.running).toBe(false);
    } finally {
      await management.close();
      silent.port = await listenOn(silent.server, silent.port);
    }
  });
});

describe('health-check rounds during the partition (partition-3.10, replayed)', () => {
  it('run the node-local checks on every node that answers for itself, also those the list calls down', async () => {
    const management = new ManagementClient(cluster);
    try {
      // Round robin: /api/overview goes to rabbit1, the node list to rabbit2, which lists rabbit1 and rabbit3 down.
      const round = await new HealthCheckScheduler(cluster, management, 3_600_000).refresh();
      expect(replay[1]!.requests.filter((path) => path.startsWith('/api/nodes?'))).toHaveLength(1);
      expect(round.error).toBeUndefined();
      expect(round.checks.filter((c) => c.check === 'node-is-quorum-critical').map((c) => c.node).sort()).toEqual(NODES);
      // Only the nodes the list called down were asked about themselves.
      expect(replay.map((node) => node.requests.filter((path) => path.startsWith('/api/nodes/')).length)).toEqual([1, 0, 1]);
    } finally {
      await management.close();
    }
  });
});
