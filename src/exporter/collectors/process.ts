// The exporter's own process (process_cpu_seconds_total, process_resident_memory_bytes, ...), under
// the names Prometheus client libraries use, on /metrics only: /probe reports its target cluster.
import type { Collector, ScrapeContext } from '../collector.ts';
import { processSnapshot, writeProcessMetrics } from '../../metrics/process.ts';

export const processCollector: Collector = {
  name: 'process',
  async collect(ctx: ScrapeContext): Promise<void> {
    writeProcessMetrics(ctx.registry, processSnapshot());
  },
};
