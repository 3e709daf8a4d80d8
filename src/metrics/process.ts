// Metrics of a warren process itself, under the names Prometheus client libraries use for their
// process collector (process_cpu_seconds_total, process_resident_memory_bytes, ...), so the usual
// dashboards and alerts on a scrape target's own health work unchanged. Read when asked, from Node
// and /proc/self: a few cheap reads, nothing spawned, nothing waited for.
import { readdirSync, readFileSync } from 'node:fs';
import type { MetricRegistry } from './registry.ts';

export interface ProcessSnapshot {
  cpuSeconds: number;
  residentBytes: number;
  startTimeSeconds: number;
  /** Linux only (/proc/self). */
  heapBytes?: number | undefined;
  virtualBytes?: number | undefined;
  openFds?: number | undefined;
  maxFds?: number | undefined;
}

/** This process, now. */
export function processSnapshot(): ProcessSnapshot {
  const cpu = process.cpuUsage();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: process.memoryUsage.rss(),
    // Fixed for the process's life: recomputing it from the wall clock and the uptime would let
    // clock adjustments move it, and an alert on its changes ("restarted") fire for nothing.
    startTimeSeconds: Math.floor(performance.timeOrigin / 1000),
    // As prom-client reports it: the data segment (VmData), not V8's heap alone.
    heapBytes: procStatusKib('VmData'),
    virtualBytes: procStatusKib('VmSize'),
    openFds: openFileDescriptors(),
    maxFds: maxFileDescriptors(),
  };
}

/**
 * Adds the families for `snapshot` under `prefix` (`process` for the serving process itself; a
 * prefix of its own for another process, such as the remediator's engine), writing what is known.
 */
export function writeProcessMetrics(registry: MetricRegistry, snapshot: ProcessSnapshot, prefix = 'process', whose = 'the process'): void {
  registry.counter(`${prefix}_cpu_seconds_total`, `User and system CPU time of ${whose}, seconds.`).set([], snapshot.cpuSeconds);
  registry.gauge(`${prefix}_resident_memory_bytes`, `Resident memory of ${whose}, bytes.`).set([], snapshot.residentBytes);
  registry.gauge(`${prefix}_start_time_seconds`, `Start time of ${whose}, seconds since the epoch (a change means it restarted).`).set([], snapshot.startTimeSeconds);
  const heap = registry.gauge(`${prefix}_heap_bytes`, `Data segment of ${whose} (VmData: heaps, V8's among them), bytes.`);
  if (snapshot.heapBytes !== undefined) heap.set([], snapshot.heapBytes);
  const virtual = registry.gauge(`${prefix}_virtual_memory_bytes`, `Virtual memory of ${whose}, bytes.`);
  if (snapshot.virtualBytes !== undefined) virtual.set([], snapshot.virtualBytes);
  const open = registry.gauge(`${prefix}_open_fds`, `Open file descriptors of ${whose}.`);
  if (snapshot.openFds !== undefined) open.set([], snapshot.openFds);
  const max = registry.gauge(`${prefix}_max_fds`, `File descriptor limit of ${whose} (soft).`);
  if (snapshot.maxFds !== undefined) max.set([], snapshot.maxFds);
}

function procStatusKib(field: string): number | undefined {
  try {
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

function openFileDescriptors(): number | undefined {
  try {
    // The listing itself holds one descriptor open while it reads.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

function maxFileDescriptors(): number | undefined {
  try {
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
