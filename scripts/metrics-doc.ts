// docs/metrics.md, rendered from the metric catalogue. Kept apart from the script that writes it so
// that the unit test can render the same text and compare it with the committed file.
import { metricCatalogue, SCRAPER_SOURCE, type CatalogueEntry } from '../src/exporter/metrics/catalogue.ts';

export const METRICS_DOC_PATH = new URL('../docs/metrics.md', import.meta.url);

/** A sentence under a section's heading, where the table alone would not say enough. */
const SECTION_NOTES: Record<string, string> = {
  [SCRAPER_SOURCE]: 'Written by the scraper around the collectors, on every scrape.',
  queues: 'One series per queue, whichever node leads it. Families marked *details: full* need `exporter.queues.details: full`.',
  amqp_probe: 'Only with `exporter.amqp_probe.enabled` (the default).',
  host: 'The machine warren runs on, only on `/metrics` (not `/probe`) and without a `cluster` label.',
};

const INTRO = `# Metrics

<!-- Generated from the collectors by \`npm run docs:metrics\`; do not edit by hand. A unit test fails when it is stale. -->

Every metric family the exporter can expose, by collector, in the order a scrape writes them. A scrape
leaves out families without samples: mirrored-queue families appear only on 3.x clusters with mirrored
queues, message counters only while the management plugin collects message statistics, and so on.

- **Names.** Where kbudde's exporter named the same quantity, warren keeps its name and labels (the
  \`rabbitmq_\` names, in kbudde's units: \`rabbitmq_uptime\` is in milliseconds); see
  [design/metric-name-sources.md](design/metric-name-sources.md). Metrics warren derives or adds are named
  \`warren_\`, in base units (seconds, bytes, ratios 0-1), with counters ending in \`_total\`.
- **\`cluster\`** is the cluster's name in \`warren.yml\` (what \`/probe?target=\` takes), not RabbitMQ's
  \`cluster_name\`, which is in \`rabbitmq_version_info\`.
- **\`self\`** is always \`"1"\`. kbudde's exporter marked the series of the node it was connected to; warren
  reports each series once for the whole cluster (deduplicated, whichever node answers), and keeps the label
  so that dashboards filtering on \`self="1"\` keep working.
- **Queue details.** \`exporter.queues.details: basic\` (the default) exports depth and consumers; \`full\`
  also exports the families marked *details: full* (bytes, process memory, consumer utilisation, head
  message timestamp), read from the plugin's heavier \`queue_metrics\` family.
`;

export async function renderMetricsDoc(): Promise<string> {
  const sections = new Map<string, CatalogueEntry[]>();
  for (const entry of await metricCatalogue()) sections.set(entry.source, [...(sections.get(entry.source) ?? []), entry]);
  const parts = [INTRO];
  for (const [source, entries] of sections) {
    const note = SECTION_NOTES[source];
    parts.push(`\n## \`${source}\`\n\n${note ? `${note}\n\n` : ''}| metric | type | labels | help |\n|---|---|---|---|\n`);
    for (const entry of entries) parts.push(`${tableRow(entry)}\n`);
  }
  return parts.join('');
}

function tableRow({ name, type, labelNames, help, fullQueueDetailsOnly }: CatalogueEntry): string {
  const labels = labelNames.length > 0 ? labelNames.map((label) => `\`${label}\``).join(', ') : '';
  const description = `${fullQueueDetailsOnly ? '*details: full.* ' : ''}${help}`;
  return `| \`${name}\` | ${type} | ${labels} | ${escapeCell(description)} |`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
