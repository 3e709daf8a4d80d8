// Host metrics of the machine warren runs on, from the background HostSampler: a scrape reads the
// latest sample and never reads the host itself. Only the scrapes that come before the first sample
// has finished wait for it, up to their deadline (a start is no host failure). Names follow
// node_exporter (base units, ratios 0-1, `_total` counters). There is no `cluster` label: the host
// is not a property of a cluster.
import { WarrenError } from '../../errors.ts';
import type { Collector, ScrapeContext } from '../collector.ts';
import { HOST_PARTS, hostSampleForScrape, type HostSample, type HostSampleSource } from '../host-sampler.ts';
import type { MetricRegistry } from '../../metrics/registry.ts';

export function hostCollector(sampler: HostSampleSource): Collector {
  return {
    name: 'host',
    async collect(ctx: ScrapeContext): Promise<void> {
      // Registered before the sample is looked at, so docs/metrics.md can list every family.
      const families = registerFamilies(ctx.registry);
      const sample = await hostSampleForScrape(sampler, ctx.signal);
      if (!sample) throw new WarrenError('STATE_UNAVAILABLE', 'no host sample yet: the first one is still being taken');
      writeHostMetrics(families, sample, ctx.now);
    },
  };
}

type HostFamilies = ReturnType<typeof registerFamilies>;

function registerFamilies(registry: MetricRegistry) {
  const filesystem = ['mountpoint', 'device', 'fstype'];
  return {
    sampleAge: registry.gauge('warren_host_sample_age_seconds', 'Seconds since the latest host sample completed (host metrics are sampled in the background, not per scrape).'),
    sampleDuration: registry.gauge('warren_host_sample_duration_seconds', 'Seconds the latest host sample took.'),
    partSuccess: registry.gauge('warren_host_sample_part_success', '1 when this part of the latest host sample was read, 0 when it failed or timed out.', ['part']),
    cpuUtilisation: registry.gauge('warren_host_cpu_utilisation_ratio', 'Busy share of all CPUs (user, nice, system, irq) between the two latest host samples, 0-1.'),
    cpus: registry.gauge('warren_host_cpus', 'Number of logical CPUs.'),
    load1: registry.gauge('warren_host_load1', '1-minute load average (not divided by the number of CPUs).'),
    load5: registry.gauge('warren_host_load5', '5-minute load average (not divided by the number of CPUs).'),
    load15: registry.gauge('warren_host_load15', '15-minute load average (not divided by the number of CPUs).'),
    memoryTotal: registry.gauge('warren_host_memory_total_bytes', 'Physical memory, bytes.'),
    memoryAvailable: registry.gauge('warren_host_memory_available_bytes', 'Memory available to new work without swapping (free plus reclaimable cache), bytes.'),
    swapTotal: registry.gauge('warren_host_swap_total_bytes', 'Swap space, bytes.'),
    swapUsed: registry.gauge('warren_host_swap_used_bytes', 'Swap space in use, bytes.'),
    filesystemSize: registry.gauge('warren_host_filesystem_size_bytes', 'Filesystem size, bytes.', filesystem),
    filesystemFree: registry.gauge('warren_host_filesystem_free_bytes', 'Free filesystem space including blocks reserved for root, bytes.', filesystem),
    filesystemAvail: registry.gauge('warren_host_filesystem_avail_bytes', 'Filesystem space available to unprivileged users, bytes.', filesystem),
    networkReceive: registry.counter('warren_host_network_receive_bytes_total', 'Bytes received by the network interface.', ['device']),
    networkTransmit: registry.counter('warren_host_network_transmit_bytes_total', 'Bytes transmitted by the network interface.', ['device']),
    processes: registry.gauge('warren_host_processes', 'Number of processes on the host.'),
    openFds: registry.gauge('warren_host_open_fds', 'File handles allocated system-wide (Linux /proc/sys/fs/file-nr).'),
    openFdsLimit: registry.gauge('warren_host_open_fds_limit', 'System-wide limit on file handles (fs.file-max).'),
  };
}

function writeHostMetrics(f: HostFamilies, sample: HostSample, nowMs: number): void {
  writeSampleHealth(f, sample, nowMs);
  writeCpuAndLoad(f, sample);
  writeMemory(f, sample);
  writeFilesystems(f, sample);
  writeNetwork(f, sample);
  writeProcessesAndFds(f, sample);
}

function writeSampleHealth(f: HostFamilies, sample: HostSample, nowMs: number): void {
  f.sampleAge.set([], Math.max(0, (nowMs - sample.timestampMs) / 1000));
  f.sampleDuration.set([], sample.durationMs / 1000);
  for (const part of HOST_PARTS) {
    if (sample.unsupported.includes(part)) continue;
    f.partSuccess.set([part], sample.failures.some((failure) => failure.part === part) ? 0 : 1);
  }
}

function writeCpuAndLoad(f: HostFamilies, sample: HostSample): void {
  if (sample.cpu) {
    f.cpuUtilisation.set([], sample.cpu.utilisationRatio);
    f.cpus.set([], sample.cpu.cores);
  }
  if (sample.load) {
    f.load1.set([], sample.load.load1);
    f.load5.set([], sample.load.load5);
    f.load15.set([], sample.load.load15);
  }
}

function writeMemory(f: HostFamilies, sample: HostSample): void {
  if (sample.memory) {
    f.memoryTotal.set([], sample.memory.totalBytes);
    f.memoryAvailable.set([], sample.memory.availableBytes);
  }
  if (sample.swap) {
    f.swapTotal.set([], sample.swap.totalBytes);
    f.swapUsed.set([], sample.swap.usedBytes);
  }
}

function writeFilesystems(f: HostFamilies, sample: HostSample): void {
  for (const fs of sample.filesystems ?? []) {
    const values = [fs.mountpoint, fs.device, fs.fstype];
    f.filesystemSize.set(values, fs.sizeBytes);
    f.filesystemFree.set(values, Math.max(0, fs.sizeBytes - fs.usedBytes));
    f.filesystemAvail.set(values, fs.availableBytes);
  }
}

function writeNetwork(f: HostFamilies, sample: HostSample): void {
  for (const nic of sample.network ?? []) {
    f.networkReceive.set([nic.device], nic.receiveBytes);
    f.networkTransmit.set([nic.device], nic.transmitBytes);
  }
}

function writeProcessesAndFds(f: HostFamilies, sample: HostSample): void {
  if (sample.processes !== undefined) f.processes.set([], sample.processes);
  if (sample.openFds) {
    f.openFds.set([], sample.openFds.open);
    f.openFdsLimit.set([], sample.openFds.limit);
  }
}
