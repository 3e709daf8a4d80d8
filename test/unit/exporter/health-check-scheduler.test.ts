import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultExporterSettings } from '../../../src/exporter/settings.ts';
import type { ClusterConfig } from '../../../src/config/types.ts';
import { healthChecksCollector } from '../../../src/exporter/collectors/health-checks.ts';
import { HealthCheckScheduler } from '../../../src/exporter/health-check-scheduler.ts';
import type { ClusterResources } from '../../../src/exporter/scrape-data.ts';
import { ClusterScraper } from '../../../src/exporter/scraper.ts';
import type { HealthCheckResult, ManagementClient } from '../../../src/rabbitmq/management/client.ts';
import { parseExposition } from '../../support/exposition.ts';

const NODES = ['rabbit1@h', 'rabbit2@h', 'rabbit3@h'];
const cluster = { name: 'c', nodes: NODES.map((name) => ({ name })) } as unknown as ClusterConfig;

/** A management API that answers the scheduler's requests from mutable state, and counts the checks it runs. */
function fakeApi(state: { version?: string; running?: string[]; nodesDown?: boolean; failing?: Set<string>; erroring?: Set<string> }) {
  const calls: string[] = [];
  const api = {
    async request(path: string) {
      if (path === '/api/overview') return { data: { rabbitmq_version: state.version ?? '3.10.7' }, node: NODES[0] };
      if (path === '/api/nodes') {
        if (state.nodesDown) throw new Error('connect ECONNREFUSED');
        return { data: NODES.map((name) => ({ name, running: (state.running ?? NODES).includes(name) })), node: NODES[0] };
      }
      throw new Error(`unexpected request ${path}`);
    },
    async healthCheck(endpoint: string, options: { node?: string } = {}): Promise<HealthCheckResult> {
      const id = `${endpoint.split('/')[0]}@${options.node ?? ''}`;
      calls.push(id);
      if (state.erroring?.has(id)) throw new Error('socket hang up');
      const ok = !state.failing?.has(id);
      return { ok, status: ok ? 'ok' : 'failed', reason: ok ? undefined : 'would lose quorum', node: options.node ?? 'rabbit2@h' };
    },
    async overview() {
      return { data: {}, node: NODES[0] };
    },
  };
  return { api: api as unknown as ManagementClient, calls };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('HealthCheckScheduler', () => {
  it('runs the cluster-wide checks and the per-node checks on every running configured node', async () => {
    const { api } = fakeApi({ running: ['rabbit1@h', 'rabbit2@h'], failing: new Set(['node-is-quorum-critical@rabbit1@h']), erroring: new Set(['certificate-expiration@rabbit2@h']) });
    const round = await new HealthCheckScheduler(cluster, api, 60_000).refresh();
    expect(round.error).toBeUndefined();
    const byId = Object.fromEntries(round.checks.map((c) => [`${c.check}@${c.node}`, c]));
    expect(Object.keys(byId).sort()).toEqual(
      ['alarms@', 'virtual-hosts@', ...['rabbit1@h', 'rabbit2@h'].flatMap((n) => [`node-is-quorum-critical@${n}`, `node-is-mirror-sync-critical@${n}`, `certificate-expiration@${n}`])].sort(),
    );
    expect(byId['node-is-quorum-critical@rabbit1@h']).toMatchObject({ ok: false, status: 'failed', reason: 'would lose quorum' });
    expect(byId['certificate-expiration@rabbit2@h']).toMatchObject({ ok: false, status: 'error', reason: expect.stringContaining('socket hang up') });
    // Cluster-wide checks are labelled node "" whichever node answered.
    expect(byId['alarms@']).toMatchObject({ ok: true, node: '' });
  });

  it('leaves out the mirror-sync check on 4.x, where classic mirroring no longer exists', async () => {
    const { api } = fakeApi({ version: '4.1.0' });
    const round = await new HealthCheckScheduler(cluster, api, 60_000).refresh();
    expect(round.checks.map((c) => c.check)).not.toContain('node-is-mirror-sync-critical');
    expect(round.checks.filter((c) => c.check === 'node-is-quorum-critical')).toHaveLength(3);
  });

  it('records a round that cannot list the nodes as failed, without results', async () => {
    const { api, calls } = fakeApi({ nodesDown: true });
    const round = await new HealthCheckScheduler(cluster, api, 60_000).refresh();
    expect(round.checks).toEqual([]);
    expect(round.error).toMatch(/ECONNREFUSED/);
    expect(calls).toEqual([]);
  });

  it('refreshes on its schedule, and scrapes read the latest round without running checks', async () => {
    vi.useFakeTimers();
    const state: Parameters<typeof fakeApi>[0] = {};
    const { api, calls } = fakeApi(state);
    let clock = 1_000_000;
    const scheduler = new HealthCheckScheduler(cluster, api, 15_000, () => clock);
    scheduler.start();
    try {
      const first = await scheduler.latest(new AbortController().signal);
      expect(first.checks.every((c) => c.ok)).toBe(true);
      const perRound = calls.length;
      expect(perRound).toBe(11);
      // Reading it again runs nothing.
      expect(await scheduler.latest(new AbortController().signal)).toBe(first);
      expect(calls).toHaveLength(perRound);

      state.failing = new Set(['alarms@']);
      clock += 15_000;
      await vi.advanceTimersByTimeAsync(15_000);
      const second = await scheduler.latest(new AbortController().signal);
      expect(calls).toHaveLength(2 * perRound);
      expect(second.finishedAt).toBe(clock);
      expect(second.checks.find((c) => c.check === 'alarms')?.ok).toBe(false);
    } finally {
      scheduler.stop();
    }
  });
});

describe('health_checks collector', () => {
  function scraperWith(api: ManagementClient, scheduler: HealthCheckScheduler): ClusterScraper {
    const resources = { cluster, settings: defaultExporterSettings(), management: api, plugins: [], healthChecks: scheduler, queueMetadata: { afterScrape: () => undefined } } as unknown as ClusterResources;
    return new ClusterScraper(resources, [healthChecksCollector], { now: () => 2_000_000 });
  }

  const valueOf = (text: string, name: string, labels: Record<string, string> = {}) =>
    parseExposition(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  it('reports the latest round, a failing check as 0, and the round\'s age', async () => {
    const { api } = fakeApi({ failing: new Set(['node-is-quorum-critical@rabbit3@h']) });
    const scheduler = new HealthCheckScheduler(cluster, api, 60_000, () => 1_990_000);
    await scheduler.refresh();
    const text = Buffer.concat([...(await scraperWith(api, scheduler).scrape(5_000)).body()]).toString();
    expect(valueOf(text, 'warren_health_check_passing', { check: 'node-is-quorum-critical', node: 'rabbit3@h' })).toBe(0);
    expect(valueOf(text, 'warren_health_check_passing', { check: 'node-is-quorum-critical', node: 'rabbit1@h' })).toBe(1);
    expect(valueOf(text, 'warren_health_checks_age_seconds')).toBe(10);
    expect(valueOf(text, 'warren_scrape_collector_success', { collector: 'health_checks' })).toBe(1);
  });

  it('fails when the latest round could not run, and says how old that round is', async () => {
    const { api } = fakeApi({ nodesDown: true });
    const scheduler = new HealthCheckScheduler(cluster, api, 60_000, () => 1_995_000);
    await scheduler.refresh();
    const result = await scraperWith(api, scheduler).scrape(5_000);
    const text = Buffer.concat([...result.body()]).toString();
    expect(valueOf(text, 'warren_scrape_collector_success', { collector: 'health_checks' })).toBe(0);
    expect(valueOf(text, 'warren_health_checks_age_seconds')).toBe(5);
    expect(valueOf(text, 'warren_health_check_passing')).toBeUndefined();
    expect(result.failures[0]?.error).toMatch(/health checks could not run.*ECONNREFUSED/);
  });
});
