// A background sampler of the host warren runs on. Reading the host can be slow (df on a stale NFS
// mount) and, through systeminformation, spawns processes; a scrape must do neither. So the sampler
// reads on its own timer and the host collector reads `latest()`; only a scrape that comes before
// the first sample has finished waits for it (within its deadline), as it does for the first
// health-check and probe rounds: otherwise every first scrape after a start reports the host
// collector failed, which is no fault of the host.
//
// Sources, chosen so that sampling does not block the event loop:
// - CPU: os.cpus() deltas between samples (systeminformation's currentLoad() runs execSync on Linux).
// - Memory and swap: systeminformation mem() (reads /proc/meminfo on Linux).
// - Filesystems: systeminformation fsSize() (runs df), then filtered, see `keepFilesystem`.
// - Network: /proc/net/dev on Linux (one file read for every interface, as node_exporter does);
//   elsewhere systeminformation networkStats('*').
// - Processes: the number of /proc/<pid> entries on Linux; elsewhere systeminformation processes().
// - Open file descriptors: /proc/sys/fs/file-nr on Linux; not available elsewhere.
// - Load averages: os.loadavg().
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { fsSize, mem, networkStats, processes } from 'systeminformation';
import { untilAborted } from '../abort.ts';
import { describeError } from '../errors.ts';

export const HOST_PARTS = ['cpu', 'memory', 'filesystems', 'network', 'load', 'processes', 'fds'] as const;
export type HostPart = (typeof HOST_PARTS)[number];

export interface FilesystemSample {
  device: string;
  mountpoint: string;
  fstype: string;
  sizeBytes: number;
  usedBytes: number;
  /** Available to unprivileged users (excludes blocks reserved for root), as df reports it. */
  availableBytes: number;
  /** used / (used + available): df's Use%, 0-1. */
  usedRatio: number;
}

export interface NetworkInterfaceSample {
  device: string;
  /** Cumulative since the interface came up (counters). */
  receiveBytes: number;
  transmitBytes: number;
}

export interface HostSample {
  /** Wall clock when the sample completed, milliseconds. */
  timestampMs: number;
  durationMs: number;
  /** Busy share of all cores over the time since the previous sample, 0-1. */
  cpu?: { utilisationRatio: number; cores: number } | undefined;
  /** usedRatio = (total - available) / total, 0-1: page cache the kernel can drop counts as available. */
  memory?: { totalBytes: number; availableBytes: number; usedRatio: number } | undefined;
  swap?: { totalBytes: number; usedBytes: number } | undefined;
  filesystems?: readonly FilesystemSample[] | undefined;
  network?: readonly NetworkInterfaceSample[] | undefined;
  load?: { load1: number; load5: number; load15: number } | undefined;
  processes?: number | undefined;
  /** System-wide file handles in use and the kernel's limit (fs.file-max). */
  openFds?: { open: number; limit: number } | undefined;
  /** Parts whose read failed or timed out in this sample; their fields are left undefined. */
  failures: readonly { part: HostPart; error: string }[];
  /** Parts this platform cannot provide (never attempted). */
  unsupported: readonly HostPart[];
}

/** What the host and health-score collectors read. */
export interface HostSampleSource {
  latest(): HostSample | undefined;
  /** The latest sample, waiting for the first one while there is none; absent on sources that cannot wait. */
  whenSampled?(signal: AbortSignal): Promise<HostSample>;
}

/**
 * The sample a scrape reports: the latest, or, before the first has finished, the first one once it
 * has (rejecting when `signal`, the scrape's deadline, fires first). Undefined when the source cannot wait.
 */
export async function hostSampleForScrape(source: HostSampleSource, signal: AbortSignal): Promise<HostSample | undefined> {
  return source.latest() ?? source.whenSampled?.(signal);
}

/** The shape of os.cpus() entries that the CPU delta needs. */
export interface CpuTimes {
  times: { user: number; nice: number; sys: number; idle: number; irq: number };
}

/** Everything the sampler reads from the outside world, injectable for tests. */
export interface HostSamplerDeps {
  platform: NodeJS.Platform;
  // systeminformation
  mem(): Promise<{ total: number; available: number; swaptotal: number; swapused: number }>;
  fsSize(): Promise<readonly { fs: string; type: string; size: number; used: number; available: number; mount: string }[]>;
  networkStats(interfaces: string): Promise<readonly { iface: string; rx_bytes: number; tx_bytes: number }[]>;
  processes(): Promise<{ all: number }>;
  // node:os and the file system
  cpus(): readonly CpuTimes[];
  loadavg(): readonly number[];
  readTextFile(path: string): Promise<string>;
  listDirectory(path: string): Promise<readonly string[]>;
  // clock
  now(): number;
  monotonicMs(): number;
  sleep(ms: number): Promise<void>;
}

export interface HostSamplerOptions {
  intervalMs: number;
  /** A part taking longer is recorded as failed for this sample; default 10 s. */
  partTimeoutMs?: number | undefined;
  /** CPU use needs two readings: the first sample waits this long between them; default 1 s. */
  initialCpuWindowMs?: number | undefined;
}

export function defaultHostSamplerDeps(): HostSamplerDeps {
  return {
    platform: process.platform,
    mem: () => mem(),
    fsSize: () => fsSize(),
    networkStats: (interfaces) => networkStats(interfaces),
    processes: () => processes(),
    cpus: () => os.cpus(),
    loadavg: () => os.loadavg(),
    readTextFile: (path) => readFile(path, 'utf8'),
    listDirectory: (path) => readdir(path),
    now: () => Date.now(),
    monotonicMs: () => performance.now(),
    // Not unref'd: a sample awaited by a short-lived program (a CLI) must be able to finish.
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

interface CpuReading {
  cores: number;
  busy: number;
  total: number;
}

export class HostSampler implements HostSampleSource {
  readonly #deps: HostSamplerDeps;
  readonly #intervalMs: number;
  readonly #partTimeoutMs: number;
  readonly #initialCpuWindowMs: number;
  #timer: NodeJS.Timeout | undefined;
  #latest: HostSample | undefined;
  #inFlight: Promise<HostSample> | undefined;
  #previousCpu: CpuReading | undefined;
  /** A part still running from an earlier sample (a hung df) is not started again on top of it. */
  readonly #runningParts = new Set<HostPart>();

  constructor(options: HostSamplerOptions, deps: Partial<HostSamplerDeps> = {}) {
    if (!(options.intervalMs > 0)) throw new Error(`host sample interval must be positive, got ${options.intervalMs}`);
    this.#deps = { ...defaultHostSamplerDeps(), ...deps };
    this.#intervalMs = options.intervalMs;
    this.#partTimeoutMs = options.partTimeoutMs ?? 10_000;
    this.#initialCpuWindowMs = options.initialCpuWindowMs ?? 1_000;
  }

  /** Samples once now and then every interval. The timer does not keep the process alive. */
  start(): void {
    if (this.#timer) return;
    const sampleInBackground = () => void this.sample().catch(() => undefined); // parts record their own failures
    this.#timer = setInterval(sampleInBackground, this.#intervalMs);
    this.#timer.unref();
    sampleInBackground();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The most recent complete sample, or undefined before the first one finished. */
  latest(): HostSample | undefined {
    return this.#latest;
  }

  /**
   * The latest sample; before the first has finished, waits for it (joining the one running, or
   * starting one if the sampler was not started) until `signal` fires.
   */
  whenSampled(signal: AbortSignal): Promise<HostSample> {
    const latest = this.#latest;
    if (latest) return Promise.resolve(latest);
    return untilAborted(this.sample(), signal);
  }

  /** Takes one sample (joining one already running) and makes it the latest. Never rejects. */
  sample(): Promise<HostSample> {
    this.#inFlight ??= this.#takeSample().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #takeSample(): Promise<HostSample> {
    const started = this.#deps.monotonicMs();
    const failures: { part: HostPart; error: string }[] = [];
    const unsupported: HostPart[] = [];
    const run = <T>(part: HostPart, read: () => Promise<T>) => this.#runPart(part, read, failures);
    const linux = this.#deps.platform === 'linux';
    if (!linux) unsupported.push('fds');

    const [cpu, memory, filesystems, network, load, processCount, openFds] = await Promise.all([
      run('cpu', () => this.#readCpu()),
      run('memory', () => this.#deps.mem()),
      run('filesystems', async () => selectFilesystems(await this.#deps.fsSize())),
      run('network', () => (linux ? this.#readProcNetDev() : this.#readNetworkStats())),
      run('load', async () => readLoad(this.#deps.loadavg())),
      run('processes', () => (linux ? this.#countProcDirectories() : this.#deps.processes().then((p) => p.all))),
      linux ? run('fds', async () => parseFileNr(await this.#deps.readTextFile('/proc/sys/fs/file-nr'))) : undefined,
    ]);

    const sample: HostSample = {
      timestampMs: this.#deps.now(),
      durationMs: this.#deps.monotonicMs() - started,
      cpu,
      memory: memory && {
        totalBytes: memory.total,
        availableBytes: memory.available,
        usedRatio: memory.total > 0 ? clampRatio((memory.total - memory.available) / memory.total) : 0,
      },
      swap: memory && { totalBytes: memory.swaptotal, usedBytes: memory.swapused },
      filesystems,
      network,
      load,
      processes: processCount,
      openFds,
      failures,
      unsupported,
    };
    this.#latest = sample;
    return sample;
  }

  /** Runs one part under the part timeout; a failure is recorded and yields undefined. */
  async #runPart<T>(part: HostPart, read: () => Promise<T>, failures: { part: HostPart; error: string }[]): Promise<T | undefined> {
    if (this.#runningParts.has(part)) {
      failures.push({ part, error: 'the previous read has not finished' });
      return undefined;
    }
    this.#runningParts.add(part);
    const reading = Promise.resolve()
      .then(read)
      .finally(() => this.#runningParts.delete(part));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#partTimeoutMs} ms`)), this.#partTimeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([reading, timeout]);
    } catch (error) {
      reading.catch(() => undefined); // it may still settle after the timeout
      failures.push({ part, error: describeError(error) });
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  async #readCpu(): Promise<{ utilisationRatio: number; cores: number }> {
    let previous = this.#previousCpu;
    let current = readCpuTotals(this.#deps.cpus());
    if (!previous || previous.cores !== current.cores) {
      // No baseline yet (or CPUs were hot-plugged): take one and measure over a short window.
      previous = current;
      await this.#deps.sleep(this.#initialCpuWindowMs);
      current = readCpuTotals(this.#deps.cpus());
    }
    this.#previousCpu = current;
    return { utilisationRatio: cpuUtilisation(previous, current), cores: current.cores };
  }

  async #readProcNetDev(): Promise<NetworkInterfaceSample[]> {
    return parseProcNetDev(await this.#deps.readTextFile('/proc/net/dev'));
  }

  async #readNetworkStats(): Promise<NetworkInterfaceSample[]> {
    const stats = await this.#deps.networkStats('*');
    return stats.map((s) => ({ device: s.iface, receiveBytes: s.rx_bytes, transmitBytes: s.tx_bytes }));
  }

  async #countProcDirectories(): Promise<number> {
    return (await this.#deps.listDirectory('/proc')).filter((entry) => /^\d+$/.test(entry)).length;
  }
}

/** Sums os.cpus() times. os.cpus() has no iowait or steal: they count neither as busy nor as idle. */
export function readCpuTotals(cpus: readonly CpuTimes[]): CpuReading {
  if (cpus.length === 0) throw new Error('the platform reports no CPUs');
  let busy = 0;
  let total = 0;
  for (const { times } of cpus) {
    const coreBusy = times.user + times.nice + times.sys + times.irq;
    busy += coreBusy;
    total += coreBusy + times.idle;
  }
  return { cores: cpus.length, busy, total };
}

export function cpuUtilisation(previous: CpuReading, current: CpuReading): number {
  const elapsed = current.total - previous.total;
  if (elapsed <= 0) throw new Error('no CPU time elapsed between the two readings');
  return clampRatio((current.busy - previous.busy) / elapsed);
}

function readLoad(loadavg: readonly number[]): { load1: number; load5: number; load15: number } {
  const [load1, load5, load15] = loadavg;
  if (load1 === undefined || load5 === undefined || load15 === undefined) throw new Error('load averages unavailable');
  return { load1, load5, load15 };
}

/**
 * Filesystem types that hold no persistent data of their own (kernel interfaces, memory-backed,
 * read-only images, container layers). Close to node_exporter's default exclusion list, plus tmpfs
 * and ramfs: their use is memory use, already covered by the memory metrics.
 */
const PSEUDO_FILESYSTEM_TYPES = new Set([
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devfs', 'devpts', 'devtmpfs',
  'efivarfs', 'erofs', 'fuse.lxcfs', 'fusectl', 'hugetlbfs', 'iso9660', 'mqueue', 'nsfs', 'nullfs', 'overlay',
  'proc', 'procfs', 'pstore', 'ramfs', 'rpc_pipefs', 'securityfs', 'selinuxfs', 'squashfs', 'sysfs', 'tmpfs', 'tracefs',
]);

/**
 * Keeps the filesystems that store data: the root always (even when it is a container's overlay),
 * others unless their type is a pseudo filesystem or they report no size. The same device mounted
 * several times (bind mounts, e.g. /etc/hosts in a container) is kept once, at its shortest mountpoint.
 */
export function selectFilesystems(entries: readonly { fs: string; type: string; size: number; used: number; available: number; mount: string }[]): FilesystemSample[] {
  const byDevice = new Map<string, FilesystemSample>();
  for (const entry of entries) {
    if (!keepFilesystem(entry)) continue;
    const sample: FilesystemSample = {
      device: entry.fs,
      mountpoint: entry.mount,
      fstype: entry.type,
      sizeBytes: entry.size,
      usedBytes: entry.used,
      availableBytes: entry.available,
      usedRatio: entry.used + entry.available > 0 ? clampRatio(entry.used / (entry.used + entry.available)) : 0,
    };
    const seen = byDevice.get(entry.fs);
    if (!seen || preferMountpoint(sample.mountpoint, seen.mountpoint)) byDevice.set(entry.fs, sample);
  }
  return [...byDevice.values()];
}

function keepFilesystem(entry: { type: string; size: number; mount: string }): boolean {
  if (entry.mount === '/') return true;
  return !PSEUDO_FILESYSTEM_TYPES.has(entry.type.toLowerCase()) && entry.size > 0;
}

function preferMountpoint(candidate: string, current: string): boolean {
  return candidate.length < current.length || (candidate.length === current.length && candidate < current);
}

/** /proc/net/dev: two header lines, then `iface: rx_bytes rx_packets ... (8 receive fields) tx_bytes ...`. */
export function parseProcNetDev(text: string): NetworkInterfaceSample[] {
  const interfaces: NetworkInterfaceSample[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue; // header lines have no colon; Linux interface names cannot contain one
    const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    const receiveBytes = fields[0];
    const transmitBytes = fields[8];
    if (receiveBytes === undefined || transmitBytes === undefined || Number.isNaN(receiveBytes) || Number.isNaN(transmitBytes)) continue;
    interfaces.push({ device: line.slice(0, colon).trim(), receiveBytes, transmitBytes });
  }
  return interfaces;
}

/** /proc/sys/fs/file-nr: `allocated unused max`; `unused` is always 0 on kernels since 2.6. */
export function parseFileNr(text: string): { open: number; limit: number } {
  const [allocated, unused, limit] = text.trim().split(/\s+/).map(Number);
  if (allocated === undefined || unused === undefined || limit === undefined || [allocated, unused, limit].some(Number.isNaN)) {
    throw new Error(`unexpected /proc/sys/fs/file-nr content: ${JSON.stringify(text)}`);
  }
  return { open: allocated - unused, limit };
}

function clampRatio(value: number): number {
  return Math.min(1, Math.max(0, value));
}
