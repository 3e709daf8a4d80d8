import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { metricCatalogue } from '../../../src/exporter/metrics/catalogue.ts';
import { METRICS_DOC_PATH, renderMetricsDoc } from '../../../scripts/metrics-doc.ts';

describe('docs/metrics.md', () => {
  it('matches the collectors', async () => {
    const committed = await readFile(METRICS_DOC_PATH, 'utf8').catch(() => '');
    expect(await renderMetricsDoc(), 'docs/metrics.md is stale: run `npm run docs:metrics` and commit the result').toBe(committed);
  });
});

describe('metric catalogue', () => {
  it('lists the scraper and every collector, each with families', async () => {
    const catalogue = await metricCatalogue();
    const sources = [...new Set(catalogue.map((entry) => entry.source))];
    expect(sources).toEqual(['scrape', 'overview', 'nodes', 'queues', 'health_checks', 'amqp_probe', 'host', 'health_score', 'process']);
    expect(catalogue.map((entry) => entry.name)).toEqual(expect.arrayContaining(['rabbitmq_up', 'rabbitmq_queue_messages', 'warren_host_load1', 'warren_health_score']));
  });

  it('is complete: every collector registers its families before it reads data', async () => {
    // A family registered only after a read (or only when a value is present) would be missing here.
    expect(await metricCatalogue('failing'), 'register every family at the start of collect(), before the first await').toEqual(await metricCatalogue('empty'));
  });

  it('follows the Prometheus naming conventions', async () => {
    for (const { name, type, labelNames, help, source } of await metricCatalogue()) {
      // process_*: the client libraries' names for a target's own process, which dashboards expect.
      expect(name, name).toMatch(source === 'process' ? /^process_[a-z0-9_]+$/ : /^(rabbitmq|warren)_[a-z0-9_]+$/);
      expect(name.endsWith('_total'), `${name}: only counters end in _total`).toBe(type === 'counter');
      expect(help, `${name} has help`).not.toBe('');
      for (const label of labelNames) expect(label, `${name} label`).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(new Set(labelNames).size, `${name}: duplicate label`).toBe(labelNames.length);
    }
  });

  it('gives a name one type and one label set across collectors', async () => {
    const seen = new Map<string, string>();
    for (const { name, type, labelNames, source } of await metricCatalogue()) {
      const signature = `${type} {${labelNames.join(',')}}`;
      const previous = seen.get(name);
      if (previous !== undefined) expect(signature, `${name} in ${source}`).toBe(previous);
      seen.set(name, signature);
    }
  });

  it('marks only the queue detail families as needing details: full', async () => {
    const fullOnly = (await metricCatalogue()).filter((entry) => entry.fullQueueDetailsOnly);
    expect(new Set(fullOnly.map((entry) => entry.source))).toEqual(new Set(['queues']));
    expect(fullOnly.map((entry) => entry.name)).toContain('rabbitmq_queue_message_bytes');
    expect(fullOnly.map((entry) => entry.name)).not.toContain('rabbitmq_queue_messages');
  });
});
