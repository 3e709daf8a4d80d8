// RabbitMQ's health check endpoints as gauges: 1 passing, 0 failing. Node-local checks carry the
// node they ran on; a check that could not run at all is reported failing with reason "error".
import type { Collector } from '../collector.ts';

export const healthChecksCollector: Collector = {
  name: 'health_checks',
  async collect({ registry, data, clusterLabel }) {
    // Registered before the data is read, so docs/metrics.md can list it.
    const passing = registry.gauge(
      'warren_health_check_passing',
      'RabbitMQ health check outcome: 1 passing, 0 failing (alarms, virtual-hosts, node-is-quorum-critical, node-is-mirror-sync-critical, certificate-expiration within 4 weeks).',
      ['cluster', 'check', 'node'],
    );
    const checks = await data.healthChecks();
    for (const check of checks) passing.set([clusterLabel, check.check, check.node], check.ok ? 1 : 0);
  },
};
