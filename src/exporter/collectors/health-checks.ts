// RabbitMQ's health check endpoints as gauges: 1 passing, 0 failing. Node-local checks carry the
// node they ran on; a check that could not run at all is reported failing with reason "error".
// The checks run on their own schedule (health-check-scheduler.ts); this reports the latest round
// and its age. A result older than evidence that its node is gone reads 0 (ScrapeData.healthChecks).
import type { Collector } from '../collector.ts';

export const healthChecksCollector: Collector = {
  name: 'health_checks',
  async collect({ registry, data, clusterLabel, now }) {
    // Registered before the data is read, so docs/metrics.md can list them.
    const passing = registry.gauge(
      'warren_health_check_passing',
      'RabbitMQ health check outcome: 1 passing, 0 failing (alarms, virtual-hosts, node-is-quorum-critical, node-is-mirror-sync-critical, certificate-expiration within 4 weeks); ' +
        'also 0 when a scrape found its node not running, or no node answering, after the check answered.',
      ['cluster', 'check', 'node'],
    );
    const age = registry.gauge('warren_health_checks_age_seconds', 'Age of the latest health-check round reported here (the checks run every exporter.health_checks.interval).', ['cluster']);
    const round = await data.healthChecks();
    age.set([clusterLabel], Math.max(0, (now - round.finishedAt) / 1000));
    // A round that could not list the nodes has no results: the collector fails rather than report none.
    if (round.error !== undefined) throw new Error(`health checks could not run: ${round.error}`);
    for (const check of round.checks) passing.set([clusterLabel, check.check, check.node], check.ok ? 1 : 0);
  },
};
