// A scrape that comes before the first host sample has finished waits for it (up to the scrape's
// deadline) instead of reporting the host collector failed: on a busy machine that was every first
// scrape after a start. The first sample is held on a gate the test opens, so nothing here depends
// on how fast this machine is.
import { describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../../src/config/types.ts';
import type { ScrapeContext } from '../../../src/exporter/collector.ts';
import { healthScoreCollector } from '../../../src/exporter/collectors/health-score.ts';
import { hostCollector } from '../../../src/exporter/collectors/host.ts';
import { HostSampler, type HostSamplerDeps } from '../../../src/exporter/host-sampler.ts';
import type { ClusterResources, ScrapeData } from '../../../src/exporter/scrape-data.ts';
import { ClusterScraper } from '../../../src/exporter/scraper.ts';
import { defaultExporterSettings } from '../../../src/exporter/settings.ts';
import { MetricRegistry } from '../../../src/metrics/registry.ts';
import { parseExposition } from '../../support/exposition.ts';

const GiB = 1024 ** 3;

/** A Linux host whose memory read (one part of every sample) waits until `open()` is called. */
function gatedHost(): { deps: Partial<HostSamplerDeps>; open: () => void; memoryReads: () => number } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let reads = 0;
  let ticks = 0;
  return {
    open,
    memoryReads: () => reads,
    deps: {
      platform: 'linux',
      mem: async () => {
        reads++;
        await gate;
        return { total: 16 * GiB, available: 4 * GiB, swaptotal: 0, swapused: 0 };
      },
      fsSize: async () => [{ fs: '/dev/vda1', type: 'ext4', size: 100 * GiB, used: 40 * GiB, available: 60 * GiB, mount: '/' }],
      cpus: () => {
        ticks++;
        return [{ times: { user: 30 * ticks, nice: 0, sys: 0, idle: 70 * ticks, irq: 0 } }];
      },
      loadavg: () => [0.5, 0.5, 0.5],
      readTextFile: async (path) => (path === '/proc/sys/fs/file-nr' ? '100\t0\t1000\n' : 'Inter-|\n face |\n    lo: 1 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n'),
      listDirectory: async () => ['1', '2'],
      sleep: async () => undefined,
    },
  };
}

function context(signal: AbortSignal = new AbortController().signal): ScrapeContext {
  const data = { resources: { settings: defaultExporterSettings() } } as unknown as ScrapeData;
  return { cluster: { name: 'c', nodes: [] } as unknown as ClusterConfig, clusterLabel: 'c', registry: new MetricRegistry(), data, signal, now: Date.now() };
}

/** Lets every callback that is ready run, several rounds deep (no timers involved). */
async function settleReadyWork(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('the first scrape after a start and the first host sample', () => {
  it('waits for the sample still being taken, then reports the host', async () => {
    const host = gatedHost();
    const sampler = new HostSampler({ intervalMs: 3_600_000 }, host.deps);
    sampler.start();
    try {
      const ctx = context();
      let settled = false;
      const collecting = hostCollector(sampler)
        .collect(ctx)
        .finally(() => (settled = true));
      await settleReadyWork();
      expect(settled, 'the collector answered before the first sample existed').toBe(false);
      host.open();
      await collecting;
      const samples = parseExposition(ctx.registry.render());
      expect(samples.find((s) => s.name === 'warren_host_memory_total_bytes')?.value).toBe(16 * GiB);
      // It joined the sample start() began rather than taking one of its own.
      expect(host.memoryReads()).toBe(1);
    } finally {
      sampler.stop();
    }
  });

  it('waits no longer than the scrape deadline', async () => {
    const host = gatedHost(); // never opened
    const sampler = new HostSampler({ intervalMs: 3_600_000 }, host.deps);
    const deadline = new AbortController();
    const collecting = hostCollector(sampler).collect(context(deadline.signal));
    await settleReadyWork();
    deadline.abort(new Error('scrape deadline passed'));
    await expect(collecting).rejects.toThrow('scrape deadline passed');
  });

  it('does not wait once a sample exists, even while the next one is being taken', async () => {
    const host = gatedHost();
    const sampler = new HostSampler({ intervalMs: 3_600_000 }, host.deps);
    const first = sampler.sample();
    host.open();
    await first;
    const neverEnds = new AbortController(); // a wait would hang the test: the signal never fires
    await hostCollector(sampler).collect(context(neverEnds.signal));
    expect(sampler.latest()).toBeDefined();
  });

  it('through the scraper: the first scrape reports host and health_score successful, with a host score', async () => {
    const host = gatedHost();
    const sampler = new HostSampler({ intervalMs: 3_600_000 }, host.deps);
    sampler.start();
    const settings = defaultExporterSettings();
    // A cluster whose management API refuses: the cluster parts fail or score 0; the host does not depend on it.
    const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:15672'), { code: 'ECONNREFUSED' }));
    const resources = {
      cluster: { name: 'c', nodes: [] },
      settings,
      management: { overview: refused, nodes: refused },
      plugins: [],
      queueMetadata: { get: refused, afterScrape: () => undefined },
      healthChecks: { latest: refused },
    } as unknown as ClusterResources;
    const scraper = new ClusterScraper(resources, [hostCollector(sampler), healthScoreCollector(sampler)]);
    try {
      const scraping = scraper.scrape(60_000);
      await settleReadyWork();
      host.open();
      const result = await scraping;
      const samples = parseExposition(Buffer.concat([...result.body()]).toString('utf8'));
      const success = (collector: string) => samples.find((s) => s.name === 'warren_scrape_collector_success' && s.labels.collector === collector)?.value;
      expect(result.failures).toEqual([]);
      expect(success('host')).toBe(1);
      expect(success('health_score')).toBe(1);
      expect(samples.find((s) => s.name === 'warren_health_score' && s.labels.scope === 'host')?.value).toBeGreaterThan(0);
    } finally {
      sampler.stop();
    }
  });

  it('through the scraper: a first sample that outlasts the deadline fails the host collector for that scrape only, and the scrape still answers', async () => {
    const host = gatedHost(); // never opened
    const sampler = new HostSampler({ intervalMs: 3_600_000 }, host.deps);
    const resources = { cluster: { name: 'c', nodes: [] }, settings: defaultExporterSettings(), management: { overview: async () => ({ data: {} }) }, queueMetadata: { afterScrape: () => undefined } } as unknown as ClusterResources;
    const result = await new ClusterScraper(resources, [hostCollector(sampler)]).scrape(50);
    expect(result.failures).toEqual([{ collector: 'host', error: 'scrape deadline of 50 ms passed' }]);
  });
});
