// Writes docs/metrics.md from the collectors: `npm run docs:metrics`.
import { writeFile } from 'node:fs/promises';
import { METRICS_DOC_PATH, renderMetricsDoc } from './metrics-doc.ts';

await writeFile(METRICS_DOC_PATH, await renderMetricsDoc());
process.stdout.write(`wrote ${METRICS_DOC_PATH.pathname}\n`);
