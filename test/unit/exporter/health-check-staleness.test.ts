// Health-check results must not outlive evidence that their node is gone: right after the whole
// cluster went down, the first scrape used to report the previous round's checks as passing. The
// broker is replayed from answers recorded on the local 3.10.8 cluster (fixtures/healthy-3.10/),
// one loopback server per node, stopped and started as the nodes were.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.ts';
import type { ClusterConfig } from '../../../src/config/types.ts';
import { healthChecksCollector } from '../../../src/exporter/collectors/health-checks.ts';
import { nodesCollector } from '../../../src/exporter/collectors/nodes.ts';
import { HealthCheckScheduler, withoutStaleResults, type NamedHealthCheck } from '../../../src/exporter/health-check-scheduler.ts';
import type { ClusterResources } from '../../../src/exporter/scrape-data.ts';
import { ClusterScraper } from '../../../src/exporter/scraper.ts';
import { defaultExporterSettings } from '../../../src/exporter/settings.ts';
import { ManagementClient } from '../../../src/rabbitmq/management/client.ts';
import { parseExposition, type Sample } from '../../support/exposition.ts';

const NODES = ['rabbit1@localhost', 'rabbit2@localhost', 'rabbit3@localhost'];
const fixture = (name: string) => readFileSync(new URL(`fixtures/healthy-3.10/${name}`, import.meta.url), 'utf8');

describe('withoutStaleResults', () => {
  const check = (name: string, node: string, answeredAt: number, ok = true): NamedHealthCheck => ({ check: name, node, ok, status: ok ? 'ok' : 'failed', reason: undefined, answeredAt });
  const checks = [check('alarms', '', 100), check('node-is-quorum-critical', 'a', 100), check('node-is-quorum-critical', 'b', 100)];

  it('keeps results that answered after the latest evidence against their node', () => {
    expect(withoutStaleResults(checks, new Map([['a', 99], ['', 50]]))).toEqual(checks);
  });

  it('turns a node\'s results failing (stale) once the node was seen not running after they answered', () => {
    const [alarms, a, b] = withoutStaleResults(checks, new Map([['a', 150]]));
    expect(a).toMatchObject({ ok: false, status: 'stale', reason: expect.stringMatching(/^a was seen not running at .*, after this check answered$/) });
    // Another node going away says nothing about the cluster-wide checks or the other nodes.
    expect(alarms).toEqual(checks[0]);
    expect(b).toEqual(checks[2]);
  });

  it('turns every result failing once no node answered at all', () => {
    const results = withoutStaleResults(checks, new Map([['', 100]]));
    expect(results.map((r) => [r.ok, r.status])).toEqual([[false, 'stale'], [false, 'stale'], [false, 'stale']]);
    expect(results[0]?.reason).toMatch(/^no node answered at /);
  });
});

/** rabbitN's management endpoint, replaying its recorded answers; close() and open() stop and start it. */
class ReplayNode {
  readonly server: Server;
  port = 0;
  constructor(n: number, listed: () => string) {
    this.server = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://replay').pathname;
      const json = (body: string) => response.writeHead(200, { 'content-type': 'application/json' }).end(body);
      if (path === '/api/overview') return json(fixture('overview.json'));
      if (path === '/api/nodes') return json(listed());
      if (path === `/api/nodes/${encodeURIComponent(NODES[n - 1]!)}`) return json(fixture(`own-rabbit${n}.json`));
      if (path.startsWith('/api/health/checks/')) return json(fixture('health-check-ok.json'));
      response.writeHead(404).end();
    });
  }
  async open(): Promise<void> {
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }
  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.close();
    this.server.closeAllConnections();
    await once(this.server, 'close');
  }
}

let listed = fixture('nodes.json');
const replay = [1, 2, 3].map((n) => new ReplayNode(n, () => listed));
let cluster: ClusterConfig;

beforeAll(async () => {
  for (const node of replay) await node.open();
  const nodes = NODES.map((name, i) => `      - { name: ${name}, management_url: "http://127.0.0.1:${replay[i]!.port}" }`).join('\n');
  // A node that fails is retried at once (retry_unhealthy_after: 0), as a node back from a restart would be.
  const yaml = `clusters:\n  local:\n    management: { timeout: 2s, retry_unhealthy_after: 0s }\n    nodes:\n${nodes}\n`;
  cluster = parseConfigText(yaml, 'test').clusters.get('local')!;
});

beforeEach(async () => {
  listed = fixture('nodes.json');
  for (const node of replay) if (!node.server.listening) await node.open();
});

afterAll(async () => {
  for (const node of replay) await node.close();
});

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
const checksOf = (samples: Sample[]) => Object.fromEntries(samples.filter((s) => s.name === 'warren_health_check_passing').map((s) => [`${s.labels.check}@${s.labels.node}`, s.value]));

async function withExporter(test: (scrape: () => Promise<Sample[]>, scheduler: HealthCheckScheduler) => Promise<void>): Promise<void> {
  const management = new ManagementClient(cluster);
  const scheduler = new HealthCheckScheduler(cluster, management, 3_600_000);
  const resources = { cluster, settings: defaultExporterSettings(), management, plugins: [], healthChecks: scheduler, queueMetadata: { afterScrape: () => undefined } } as unknown as ClusterResources;
  const scraper = new ClusterScraper(resources, [nodesCollector, healthChecksCollector]);
  const scrape = async () => parseExposition(Buffer.concat([...(await scraper.scrape(10_000)).body()]).toString());
  try {
    await test(scrape, scheduler);
  } finally {
    scheduler.stop();
    await management.close();
  }
}

describe('health checks after their nodes went away (replayed)', () => {
  it('reports none of the previous round passing once the whole cluster stopped answering, until a round runs again', async () => {
    await withExporter(async (scrape, scheduler) => {
      await scheduler.refresh();
      const before = await scrape();
      // 3.10: the two cluster-wide checks, and three per node.
      expect(Object.values(checksOf(before))).toEqual(Array(11).fill(1));

      for (const node of replay) await node.close();
      const down = await scrape();
      expect(value(down, 'warren_scrape_collector_success', { collector: 'nodes' })).toBe(0);
      expect(value(down, 'warren_health_check_passing', { check: 'alarms', node: '' })).toBe(0);
      expect(Object.values(checksOf(down))).toEqual(Array(11).fill(0));

      // Back, but the round is still the one from before: its results stay stale.
      for (const node of replay) await node.open();
      expect(Object.values(checksOf(await scrape()))).toEqual(Array(11).fill(0));
      await scheduler.refresh();
      expect(Object.values(checksOf(await scrape()))).toEqual(Array(11).fill(1));
    });
  });

  it('reports a stopped node\'s checks failing from the first scrape that finds it stopped; the cluster-wide and other nodes\' stay', async () => {
    await withExporter(async (scrape, scheduler) => {
      await scheduler.refresh();
      listed = fixture('nodes-rabbit3-stopped.json');
      await replay[2]!.close();
      const samples = await scrape();
      expect(value(samples, 'rabbitmq_running', { node: 'rabbit3@localhost' })).toBe(0);
      const checks = checksOf(samples);
      for (const check of ['node-is-quorum-critical', 'node-is-mirror-sync-critical', 'certificate-expiration']) {
        expect(checks[`${check}@rabbit3@localhost`]).toBe(0);
        expect(checks[`${check}@rabbit1@localhost`]).toBe(1);
      }
      expect(checks['alarms@']).toBe(1);
      // The next round leaves the stopped node out.
      const round = await scheduler.refresh();
      expect(round.checks.filter((c) => c.node === 'rabbit3@localhost')).toEqual([]);
    });
  });
});
