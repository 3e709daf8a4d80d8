// Host metrics of the machine warren runs on, from the background HostSampler: a scrape only reads
// the latest sample, it never waits on the host. Names follow node_exporter (base units, ratios 0-1,
// `_total` counters). There is no `cluster` label: the host is not a property of a cluster.
import type { Collector, ScrapeContext } from '../collector.ts';
import { HOST_PARTS, type HostSample, type HostSampler } from '../host-sampler.ts';
import type { MetricRegistry } from '../metrics/registry.ts';

export function hostCollector(sampler: Pick<HostSampler, 'latest'>): Collector {
  return {
    name: 'host',
    async collect(ctx: ScrapeContext): Promise<void> {
      const sample = sampler.latest();
      if (!sample) throw new Error('no host sample yet: the first one is still being taken');
      writeHostMetrics(ctx.registry, sample, ctx.now);
    },
  };
}

export function writeHostMetrics(registry: MetricRegistry, sample: HostSample, nowMs: number): void {
  writeSampleHealth(registry, sample, nowMs);
  writeCpuAndLoad(registry, sample);
  writeMemory(registry, sample);
  writeFilesystems(registry, sample);
  writeNetwork(registry, sample);
  writeProcessesAndFds(registry, sample);
}

function writeSampleHealth(registry: MetricRegistry, sample: HostSample, nowMs: number): void {
  registry
    .gauge('warren_host_sample_age_seconds', 'Seconds since the latest host sample completed (host metrics are sampled in the background, not per scrape).')
    .set([], Math.max(0, (nowMs - sample.timestampMs) / 1000));
  registry.gauge('warren_host_sample_duration_seconds', 'Seconds the latest host sample took.').set([], sample.durationMs / 1000);
  const success = registry.gauge('warren_host_sample_part_success', '1 when this part of the latest host sample was read, 0 when it failed or timed out.', ['part']);
  for (const part of HOST_PARTS) {
    if (sample.unsupported.includes(part)) continue;
    success.set([part], sample.failures.some((f) => f.part === part) ? 0 : 1);
  }
}

function writeCpuAndLoad(registry: MetricRegistry, sample: HostSample): void {
  if (sample.cpu) {
    registry
      .gauge('warren_host_cpu_utilisation_ratio', 'Busy share of all CPUs (user, nice, system, irq) between the two latest host samples, 0-1.')
      .set([], sample.cpu.utilisationRatio);
    registry.gauge('warren_host_cpus', 'Number of logical CPUs.').set([], sample.cpu.cores);
  }
  if (sample.load) {
    registry.gauge('warren_host_load1', '1-minute load average (not divided by the number of CPUs).').set([], sample.load.load1);
    registry.gauge('warren_host_load5', '5-minute load average (not divided by the number of CPUs).').set([], sample.load.load5);
    registry.gauge('warren_host_load15', '15-minute load average (not divided by the number of CPUs).').set([], sample.load.load15);
  }
}

function writeMemory(registry: MetricRegistry, sample: HostSample): void {
  if (sample.memory) {
    registry.gauge('warren_host_memory_total_bytes', 'Physical memory, bytes.').set([], sample.memory.totalBytes);
    registry
      .gauge('warren_host_memory_available_bytes', 'Memory available to new work without swapping (free plus reclaimable cache), bytes.')
      .set([], sample.memory.availableBytes);
  }
  if (sample.swap) {
    registry.gauge('warren_host_swap_total_bytes', 'Swap space, bytes.').set([], sample.swap.totalBytes);
    registry.gauge('warren_host_swap_used_bytes', 'Swap space in use, bytes.').set([], sample.swap.usedBytes);
  }
}

function writeFilesystems(registry: MetricRegistry, sample: HostSample): void {
  if (!sample.filesystems) return;
  const labels = ['mountpoint', 'device', 'fstype'];
  const size = registry.gauge('warren_host_filesystem_size_bytes', 'Filesystem size, bytes.', labels);
  const free = registry.gauge('warren_host_filesystem_free_bytes', 'Free filesystem space including blocks reserved for root, bytes.', labels);
  const avail = registry.gauge('warren_host_filesystem_avail_bytes', 'Filesystem space available to unprivileged users, bytes.', labels);
  for (const fs of sample.filesystems) {
    const values = [fs.mountpoint, fs.device, fs.fstype];
    size.set(values, fs.sizeBytes);
    free.set(values, Math.max(0, fs.sizeBytes - fs.usedBytes));
    avail.set(values, fs.availableBytes);
  }
}

function writeNetwork(registry: MetricRegistry, sample: HostSample): void {
  if (!sample.network) return;
  const received = registry.counter('warren_host_network_receive_bytes_total', 'Bytes received by the network interface.', ['device']);
  const transmitted = registry.counter('warren_host_network_transmit_bytes_total', 'Bytes transmitted by the network interface.', ['device']);
  for (const nic of sample.network) {
    received.set([nic.device], nic.receiveBytes);
    transmitted.set([nic.device], nic.transmitBytes);
  }
}

function writeProcessesAndFds(registry: MetricRegistry, sample: HostSample): void {
  if (sample.processes !== undefined) registry.gauge('warren_host_processes', 'Number of processes on the host.').set([], sample.processes);
  if (sample.openFds) {
    registry.gauge('warren_host_open_fds', 'File handles allocated system-wide (Linux /proc/sys/fs/file-nr).').set([], sample.openFds.open);
    registry.gauge('warren_host_open_fds_limit', 'System-wide limit on file handles (fs.file-max).').set([], sample.openFds.limit);
  }
}
