// process_* from Node and /proc/self, checked against what the kernel and the shell report.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { processSnapshot, writeProcessMetrics } from '../../../src/metrics/process.ts';
import { MetricRegistry } from '../../../src/metrics/registry.ts';

describe('processSnapshot', () => {
  it('reads this process as the kernel sees it', () => {
    const before = processSnapshot();
    // Busy for a moment: CPU time moves forward.
    for (const until = Date.now() + 50; Date.now() < until; );
    const descriptor = openSync('/proc/self/status', 'r');
    let during;
    try {
      during = processSnapshot();
    } finally {
      closeSync(descriptor);
    }
    expect(during.cpuSeconds).toBeGreaterThan(before.cpuSeconds);
    expect(during.openFds).toBe((before.openFds as number) + 1);
    // The soft limit, as a child started from here inherits it.
    expect(String(during.maxFds)).toBe(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    expect(during.virtualBytes).toBeGreaterThan(kib('VmSize') * 0.8);
    expect(during.virtualBytes).toBeLessThan(kib('VmSize') * 1.2);
    expect(during.residentBytes).toBeGreaterThan(kib('VmRSS') * 0.8);
    expect(during.heapBytes).toBeGreaterThan(kib('VmData') * 0.8);
    expect(Math.abs(during.startTimeSeconds - (Date.now() / 1000 - process.uptime()))).toBeLessThanOrEqual(1);
    expect(processSnapshot().startTimeSeconds).toBe(before.startTimeSeconds); // fixed, not recomputed
  });

  it('renders under the client libraries\' names, or under a prefix for another process', () => {
    const registry = new MetricRegistry();
    writeProcessMetrics(registry, { cpuSeconds: 1.5, residentBytes: 100, startTimeSeconds: 1_700_000_000 });
    writeProcessMetrics(registry, { cpuSeconds: 2, residentBytes: 200, heapBytes: 60, startTimeSeconds: 1_700_000_001, openFds: 9, maxFds: 1024, virtualBytes: 4096 }, 'warren_remediation_engine_process', 'the engine');
    const text = registry.render();
    expect(text).toContain('# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n');
    expect(text).toContain('process_start_time_seconds 1700000000\n');
    // Unknown values are left out, not written as 0.
    expect(text).not.toMatch(/^process_open_fds /m);
    expect(text).toContain('warren_remediation_engine_process_open_fds 9\n');
    expect(text).toContain('warren_remediation_engine_process_max_fds 1024\n');
  });
});
