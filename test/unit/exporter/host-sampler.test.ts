// The sampler with fakes of the systeminformation, os and /proc reads it is given, plus one run of
// the real thing on this machine.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ScrapeContext } from '../../../src/exporter/collector.ts';
import { hostCollector } from '../../../src/exporter/collectors/host.ts';
import { HostSampler, parseFileNr, parseProcNetDev, selectFilesystems, type CpuTimes, type HostSamplerDeps } from '../../../src/exporter/host-sampler.ts';
import { MetricRegistry } from '../../../src/metrics/registry.ts';
import type { ScrapeData } from '../../../src/exporter/scrape-data.ts';

const GiB = 1024 ** 3;

const PROC_NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  397155059  940342    0    0    0     0          0         0 397155059  940342    0    0    0     0       0          0
  eth0: 378356701  270034    0    0    0     0          0         0   842334    9001    0    0    0     0       0          0
`;

function cpus(busy: number, idle: number, cores = 2): CpuTimes[] {
  return Array.from({ length: cores }, () => ({ times: { user: busy / 2, nice: 0, sys: busy / 2, idle, irq: 0 } }));
}

/** A Linux host whose CPU counters advance on every read: 30 busy and 70 idle ticks per core. */
function fakeDeps(overrides: Partial<HostSamplerDeps> = {}): HostSamplerDeps {
  let cpuReads = 0;
  let clock = 1_700_000_000_000;
  const files: Record<string, string> = { '/proc/net/dev': PROC_NET_DEV, '/proc/sys/fs/file-nr': '686\t0\t2466193\n' };
  return {
    platform: 'linux',
    mem: async () => ({ total: 16 * GiB, available: 4 * GiB, swaptotal: 2 * GiB, swapused: 0.5 * GiB }),
    fsSize: async () => [
      { fs: '/dev/vda1', type: 'ext4', size: 100 * GiB, used: 60 * GiB, available: 35 * GiB, mount: '/' },
      { fs: 'tmpfs', type: 'tmpfs', size: 1 * GiB, used: 0, available: 1 * GiB, mount: '/run' },
    ],
    networkStats: async () => {
      throw new Error('not used on Linux');
    },
    processes: async () => {
      throw new Error('not used on Linux');
    },
    cpus: () => {
      cpuReads++;
      return cpus(30 * cpuReads, 70 * cpuReads);
    },
    loadavg: () => [1.5, 1.25, 1],
    readTextFile: async (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: ${path}`);
      return text;
    },
    listDirectory: async () => ['1', '42', '4242', 'self', 'sys', 'meminfo'],
    now: () => (clock += 1000),
    monotonicMs: () => clock,
    sleep: async () => undefined,
    ...overrides,
  };
}

describe('HostSampler with fake sources', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('has no sample before the first one completes', () => {
    expect(new HostSampler({ intervalMs: 15_000 }, fakeDeps()).latest()).toBeUndefined();
  });

  it('reads every part of a Linux host', async () => {
    const sampler = new HostSampler({ intervalMs: 15_000 }, fakeDeps());
    const sample = await sampler.sample();

    expect(sampler.latest()).toBe(sample);
    expect(sample.failures).toEqual([]);
    expect(sample.unsupported).toEqual([]);
    expect(sample.cpu).toEqual({ utilisationRatio: 0.3, cores: 2 });
    expect(sample.memory).toEqual({ totalBytes: 16 * GiB, availableBytes: 4 * GiB, usedRatio: 0.75 });
    expect(sample.swap).toEqual({ totalBytes: 2 * GiB, usedBytes: 0.5 * GiB });
    expect(sample.filesystems).toEqual([
      { device: '/dev/vda1', mountpoint: '/', fstype: 'ext4', sizeBytes: 100 * GiB, usedBytes: 60 * GiB, availableBytes: 35 * GiB, usedRatio: 60 / 95 },
    ]);
    expect(sample.network).toEqual([
      { device: 'lo', receiveBytes: 397155059, transmitBytes: 397155059 },
      { device: 'eth0', receiveBytes: 378356701, transmitBytes: 842334 },
    ]);
    expect(sample.load).toEqual({ load1: 1.5, load5: 1.25, load15: 1 });
    expect(sample.processes).toBe(3);
    expect(sample.openFds).toEqual({ open: 686, limit: 2466193 });
    expect(sample.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('measures CPU over a short window first, then between consecutive samples', async () => {
    const sleeps: number[] = [];
    const readings = [cpus(0, 0), cpus(10, 90), cpus(100, 100)]; // 10 % over the window, then 90/100
    const sampler = new HostSampler(
      { intervalMs: 15_000, initialCpuWindowMs: 250 },
      fakeDeps({ cpus: () => readings.shift() ?? [], sleep: async (ms) => void sleeps.push(ms) }),
    );
    expect((await sampler.sample()).cpu?.utilisationRatio).toBeCloseTo(0.1, 10);
    expect((await sampler.sample()).cpu?.utilisationRatio).toBeCloseTo(0.9, 10);
    expect(sleeps).toEqual([250]);
  });

  it('re-measures over a window when the number of CPUs changes', async () => {
    const readings = [cpus(0, 0, 2), cpus(20, 80, 2), cpus(0, 0, 4), cpus(50, 50, 4)];
    const sampler = new HostSampler({ intervalMs: 15_000 }, fakeDeps({ cpus: () => readings.shift() ?? [] }));
    await sampler.sample();
    expect((await sampler.sample()).cpu).toEqual({ utilisationRatio: 0.5, cores: 4 });
  });

  it('records a failing part, keeps the others, and recovers on the next sample', async () => {
    let memFails = true;
    const sampler = new HostSampler(
      { intervalMs: 15_000 },
      fakeDeps({
        mem: async () => {
          if (memFails) throw new Error('EACCES: /proc/meminfo');
          return { total: 8 * GiB, available: 8 * GiB, swaptotal: 0, swapused: 0 };
        },
        loadavg: () => {
          throw new Error('no loadavg');
        },
      }),
    );
    const broken = await sampler.sample();
    expect(broken.failures).toEqual([
      { part: 'memory', error: 'EACCES: /proc/meminfo' },
      { part: 'load', error: 'no loadavg' },
    ]);
    expect(broken.memory).toBeUndefined();
    expect(broken.swap).toBeUndefined();
    expect(broken.filesystems).toHaveLength(1);

    memFails = false;
    const recovered = await sampler.sample();
    expect(recovered.failures.map((f) => f.part)).toEqual(['load']);
    expect(recovered.memory?.usedRatio).toBe(0);
  });

  it('times out a hung part and does not start it again while it still hangs', async () => {
    let dfCalls = 0;
    const sampler = new HostSampler({ intervalMs: 15_000, partTimeoutMs: 20 }, fakeDeps({ fsSize: () => (dfCalls++, new Promise(() => undefined)) }));
    const first = await sampler.sample();
    expect(first.failures).toEqual([{ part: 'filesystems', error: 'no answer within 20 ms' }]);
    expect(first.memory).toBeDefined();

    const second = await sampler.sample();
    expect(second.failures).toEqual([{ part: 'filesystems', error: 'the previous read has not finished' }]);
    expect(dfCalls).toBe(1);
  });

  it('joins a sample already running instead of starting a second one', async () => {
    let memCalls = 0;
    const sampler = new HostSampler({ intervalMs: 15_000 }, fakeDeps({ mem: async () => (memCalls++, { total: 1, available: 1, swaptotal: 0, swapused: 0 }) }));
    const [a, b] = await Promise.all([sampler.sample(), sampler.sample()]);
    expect(a).toBe(b);
    expect(memCalls).toBe(1);
  });

  it('uses systeminformation for network and processes off Linux, where open fds are unsupported', async () => {
    const sampler = new HostSampler(
      { intervalMs: 15_000 },
      fakeDeps({
        platform: 'darwin',
        networkStats: async (interfaces) => (interfaces === '*' ? [{ iface: 'en0', rx_bytes: 10, tx_bytes: 20 }] : []),
        processes: async () => ({ all: 321 }),
      }),
    );
    const sample = await sampler.sample();
    expect(sample.network).toEqual([{ device: 'en0', receiveBytes: 10, transmitBytes: 20 }]);
    expect(sample.processes).toBe(321);
    expect(sample.openFds).toBeUndefined();
    expect(sample.unsupported).toEqual(['fds']);
    expect(sample.failures).toEqual([]);
  });

  it('samples at start, then every interval, until stopped', async () => {
    vi.useFakeTimers();
    let samples = 0;
    const sampler = new HostSampler({ intervalMs: 15_000 }, fakeDeps({ loadavg: () => (samples++, [0, 0, 0]) }));
    sampler.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(samples).toBe(1);
    expect(sampler.latest()).toBeDefined();

    await vi.advanceTimersByTimeAsync(30_000);
    expect(samples).toBe(3);

    sampler.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(samples).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a non-positive interval', () => {
    expect(() => new HostSampler({ intervalMs: 0 }, fakeDeps())).toThrow(/must be positive/);
  });
});

describe('filesystem selection', () => {
  const entry = (fs: string, type: string, mount: string, size = 100, used = 40, available = 60) => ({ fs, type, mount, size, used, available });

  it('keeps block devices and the root, drops pseudo and memory-backed filesystems', () => {
    const kept = selectFilesystems([
      entry('overlay', 'overlay', '/'),
      entry('/dev/nvme0n1p1', 'ext4', '/var/lib/rabbitmq'),
      entry('tmpfs', 'tmpfs', '/dev/shm'),
      entry('shm', 'tmpfs', '/run'),
      entry('/dev/loop3', 'squashfs', '/snap/core/1'),
      entry('overlay', 'overlay', '/var/lib/docker/overlay2/abc/merged'),
      entry('nfs-server:/export', 'nfs4', '/mnt/backup'),
      entry('/dev/empty', 'ext4', '/mnt/empty', 0, 0, 0),
    ]);
    expect(kept.map((fs) => fs.mountpoint)).toEqual(['/', '/var/lib/rabbitmq', '/mnt/backup']);
  });

  it('keeps a device mounted several times once, at its shortest mountpoint', () => {
    const kept = selectFilesystems([entry('/dev/vda', 'ext4', '/etc/hosts'), entry('/dev/vda', 'ext4', '/'), entry('/dev/vda', 'ext4', '/etc/resolv.conf')]);
    expect(kept.map((fs) => fs.mountpoint)).toEqual(['/']);
  });

  it('computes use like df: used / (used + available), reserved blocks excluded', () => {
    expect(selectFilesystems([entry('/dev/sda1', 'xfs', '/', 100, 45, 50)])[0]?.usedRatio).toBeCloseTo(45 / 95, 10);
  });
});

describe('/proc parsers', () => {
  it('reads interface byte counters from /proc/net/dev', () => {
    expect(parseProcNetDev(PROC_NET_DEV)).toEqual([
      { device: 'lo', receiveBytes: 397155059, transmitBytes: 397155059 },
      { device: 'eth0', receiveBytes: 378356701, transmitBytes: 842334 },
    ]);
    expect(parseProcNetDev('eth1:123 1 0 0 0 0 0 0 456 2 0 0 0 0 0 0')).toEqual([{ device: 'eth1', receiveBytes: 123, transmitBytes: 456 }]);
  });

  it('reads open file handles from /proc/sys/fs/file-nr', () => {
    expect(parseFileNr('4096\t0\t1048576\n')).toEqual({ open: 4096, limit: 1048576 });
    // Recent kernels default fs.file-max to LONG_MAX, which a double only approximates.
    expect(parseFileNr('4096\t0\t9223372036854775807').limit).toBeGreaterThan(9.2e18);
    expect(() => parseFileNr('garbage')).toThrow(/unexpected/);
  });
});

describe('hostCollector', () => {
  function context(now: number): ScrapeContext {
    return { cluster: undefined as never, clusterLabel: 'prod', registry: new MetricRegistry(), data: undefined as unknown as ScrapeData, signal: new AbortController().signal, now };
  }

  it('fails the collector while there is no sample yet', async () => {
    await expect(hostCollector({ latest: () => undefined }).collect(context(0))).rejects.toThrow(/no host sample yet/);
  });

  it('writes the latest sample without a cluster label', async () => {
    const sampler = new HostSampler({ intervalMs: 15_000 }, fakeDeps({ loadavg: () => [] }));
    const sample = await sampler.sample();
    const ctx = context(sample.timestampMs + 4_500);
    await hostCollector(sampler).collect(ctx);
    const text = ctx.registry.render();

    expect(text).toContain('warren_host_sample_age_seconds 4.5\n');
    expect(text).toContain('warren_host_cpu_utilisation_ratio 0.3\n');
    expect(text).toContain(`warren_host_memory_total_bytes ${16 * GiB}\n`);
    expect(text).toContain(`warren_host_memory_available_bytes ${4 * GiB}\n`);
    expect(text).toContain(`warren_host_swap_used_bytes ${0.5 * GiB}\n`);
    expect(text).toContain(`warren_host_filesystem_size_bytes{mountpoint="/",device="/dev/vda1",fstype="ext4"} ${100 * GiB}\n`);
    expect(text).toContain(`warren_host_filesystem_free_bytes{mountpoint="/",device="/dev/vda1",fstype="ext4"} ${40 * GiB}\n`);
    expect(text).toContain(`warren_host_filesystem_avail_bytes{mountpoint="/",device="/dev/vda1",fstype="ext4"} ${35 * GiB}\n`);
    expect(text).toContain('# TYPE warren_host_network_receive_bytes_total counter\n');
    expect(text).toContain('warren_host_network_transmit_bytes_total{device="eth0"} 842334\n');
    expect(text).toContain('warren_host_processes 3\n');
    expect(text).toContain('warren_host_open_fds 686\n');
    // load failed in this sample: no load series, and the failure is visible
    expect(text).not.toContain('warren_host_load1');
    expect(text).toContain('warren_host_sample_part_success{part="load"} 0\n');
    expect(text).toContain('warren_host_sample_part_success{part="cpu"} 1\n');
    expect(text).not.toMatch(/cluster=/);
  });
});

describe('HostSampler on this machine', () => {
  it('reads plausible values', { timeout: 30_000 }, async () => {
    const sampler = new HostSampler({ intervalMs: 60_000, initialCpuWindowMs: 200 });
    const sample = await sampler.sample();

    expect(sample.failures).toEqual([]);
    expect(sample.memory?.totalBytes).toBeGreaterThan(0);
    expect(sample.memory?.usedRatio).toBeGreaterThanOrEqual(0);
    expect(sample.memory?.usedRatio).toBeLessThanOrEqual(1);
    expect(sample.filesystems?.map((fs) => fs.mountpoint)).toContain('/');
    expect(sample.cpu?.utilisationRatio).toBeGreaterThanOrEqual(0);
    expect(sample.cpu?.utilisationRatio).toBeLessThanOrEqual(1);
    expect(typeof sample.load?.load1).toBe('number');
    expect(sample.processes).toBeGreaterThan(0);
    expect(sample.network?.length).toBeGreaterThan(0);
    if (process.platform === 'linux') expect(sample.openFds?.open).toBeGreaterThan(0);
  });
});
