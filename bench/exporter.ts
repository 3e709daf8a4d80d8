// `npm run bench:exporter`: warren's full scrape at 10,000 queues, side by side in the same run with
// what the alternatives cost on the same cluster: the rabbitmq_prometheus plugin's
// /metrics/per-object (summed over the nodes, since each node reports only its own queues) and
// GET /api/queues (what a management-API exporter such as kbudde's downloads every scrape).
// Several rounds, interleaved, medians. Results go to docs/benchmarks.md (and --json to stdout).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../src/config/load.ts';
import { ManagementClient } from '../src/rabbitmq/management/client.ts';
import { stackUp } from '../stack/stack.ts';
import { DEFAULT_FLEET, createFleet, deleteFleet, planFleet } from './fixtures/queue-fleet.ts';

const REPO = new URL('..', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    queues: { type: 'string', default: String(DEFAULT_FLEET.queues) },
    messages: { type: 'string', default: String(DEFAULT_FLEET.messages) },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

interface Timing {
  seconds: number;
  bytes: number;
}

/** Times a GET of the whole body; `check` then looks at the body (outside the timing) and throws if it is not what was to be measured. */
async function timeGet(url: string, headers: Record<string, string> = {}, check?: (body: string) => void): Promise<Timing> {
  const started = performance.now();
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(120_000) });
  const body = await response.arrayBuffer();
  const seconds = (performance.now() - started) / 1000;
  if (response.status !== 200) throw new Error(`GET ${url}: HTTP ${response.status}`);
  check?.(Buffer.from(body).toString('utf8'));
  return { seconds, bytes: body.byteLength };
}

/**
 * A warren scrape counts only when it is complete: the broker up, every collector successful, every
 * node's queue depth read and every queue of the fleet exported (a scrape that timed out or lost a
 * node would be fast and wrong; a node's unreadable plugin no longer fails the queues collector).
 */
function completeScrape(queues: number): (body: string) => void {
  return (body) => {
    const problems: string[] = [];
    if (!/^rabbitmq_up\{[^}]*\} 1$/m.test(body)) problems.push('rabbitmq_up is not 1');
    for (const match of body.matchAll(/^warren_scrape_collector_success\{[^}]*collector="([^"]+)"[^}]*\} (\S+)$/gm)) {
      if (match[2] !== '1') problems.push(`collector ${match[1]} failed`);
    }
    for (const match of body.matchAll(/^warren_queue_stats_node_up\{[^}]*node="([^"]+)"[^}]*\} (\S+)$/gm)) {
      if (match[2] !== '1') problems.push(`no queue depth from ${match[1]}`);
    }
    const exported = Number(/^warren_queues_exported\{[^}]*\} (\S+)$/m.exec(body)?.[1]);
    if (!(exported >= queues)) problems.push(`warren_queues_exported is ${exported}, the fleet has ${queues} queues`);
    if (problems.length > 0) throw new Error(`an incomplete scrape cannot be timed: ${problems.join('; ')}`);
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Resident and peak resident memory of a process, bytes (Linux /proc). */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

async function startExporter(configFile: string, port: number): Promise<ChildProcess> {
  // Through the `warren` executable, as users run it (its shebang sets the heap flags).
  const child = spawn(join(REPO, 'bin/warren.js'), ['exporter', '--config', configFile, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${port}/-/healthy`).then((r) => r.ok, () => false)) return child;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill();
  throw new Error(`exporter on port ${port} did not start: ${log}`);
}

/** The example config with full queue details, written under the stack's state directory. */
function fullDetailsConfig(): string {
  const file = join(REPO, '.stack', 'bench-full-details.yml');
  const example = readFileSync(join(REPO, 'warren.example.yml'), 'utf8')
    .replace('erlang_home: .stack/home', `erlang_home: ${join(REPO, '.stack/home')}`)
    .replace(/^(\s+details:) basic\b/m, '$1 full');
  if (!/^\s+details: full\b/m.test(example)) throw new Error('warren.example.yml no longer has exporter.queues.details: basic');
  writeFileSync(file, example);
  return file;
}

async function main(): Promise<void> {
  progress('local stack: up');
  await stackUp({ report: (line) => progress(`stack: ${line}`) });
  const configFile = join(REPO, 'warren.example.yml');
  const config = loadConfigFile(configFile);
  const cluster = config.clusters.get(config.defaultCluster)!;
  const api = new ManagementClient(cluster);
  const fleet = planFleet({ ...DEFAULT_FLEET, queues: Number(args.queues), messages: Number(args.messages) });
  const started = Date.now();
  await deleteFleet(api, fleet, () => undefined);
  await createFleet(api, cluster, fleet, progress);
  progress(`fleet ready in ${((Date.now() - started) / 1000).toFixed(0)} s; letting statistics settle`);
  await new Promise((resolve) => setTimeout(resolve, 10_000));

  const exporters: ChildProcess[] = [];
  const nodes = cluster.nodes;
  const auth = { authorization: `Basic ${Buffer.from(`${cluster.management.username}:${cluster.management.password.reveal()}`).toString('base64')}` };
  const scrapeHeaders = { 'x-prometheus-scrape-timeout-seconds': '30' };
  const measurements: Record<string, Timing[]> = { warren: [], warrenFull: [], perObject: [], apiQueues: [] };
  try {
    const basic = await startExporter(configFile, 19419);
    exporters.push(basic);
    const full = await startExporter(fullDetailsConfig(), 19420);
    exporters.push(full);
    progress('warm-up');
    const complete = completeScrape(fleet.queues.length);
    await timeGet('http://127.0.0.1:19419/metrics', scrapeHeaders, complete);
    await timeGet('http://127.0.0.1:19420/metrics', scrapeHeaders, complete);
    for (let round = 1; round <= rounds; round++) {
      measurements.warren!.push(await timeGet('http://127.0.0.1:19419/metrics', scrapeHeaders, complete));
      measurements.warrenFull!.push(await timeGet('http://127.0.0.1:19420/metrics', scrapeHeaders, complete));
      const perNode: Timing[] = [];
      for (const node of nodes) perNode.push(await timeGet(`${node.prometheusUrl}/metrics/per-object`));
      measurements.perObject!.push({ seconds: perNode.reduce((s, t) => s + t.seconds, 0), bytes: perNode.reduce((s, t) => s + t.bytes, 0) });
      measurements.apiQueues!.push(await timeGet(`${nodes[0]!.managementUrl}/api/queues`, auth));
      const last = (key: string) => measurements[key]!.at(-1)!.seconds.toFixed(2);
      progress(`round ${round}/${rounds}: warren ${last('warren')} s, warren full ${last('warrenFull')} s, per-object ${last('perObject')} s, /api/queues ${last('apiQueues')} s`);
    }
    const memory = { basic: memoryOf(basic.pid!), full: memoryOf(full.pid!) };
    const med = (key: string) => median(measurements[key]!.map((t) => t.seconds));
    const bytes = (key: string) => median(measurements[key]!.map((t) => t.bytes));
    const result = {
      date: new Date().toISOString(),
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
      queues: fleet.queues.length,
      messages: fleet.spec.messages,
      rounds,
      medianSeconds: { warren: med('warren'), warrenFullDetails: med('warrenFull'), perObjectSummed: med('perObject'), apiQueues: med('apiQueues') },
      medianBytes: { warren: bytes('warren'), warrenFullDetails: bytes('warrenFull'), perObjectSummed: bytes('perObject'), apiQueues: bytes('apiQueues') },
      ratios: {
        warrenToPerObject: med('warren') / med('perObject'),
        warrenToApiQueues: med('warren') / med('apiQueues'),
        warrenFullToPerObject: med('warrenFull') / med('perObject'),
        warrenFullToApiQueues: med('warrenFull') / med('apiQueues'),
      },
      memoryBytes: memory,
      // The issue's "200 MB", in decimal megabytes (190.7 MiB).
      goals: { perObjectRatio: 0.5, apiQueuesRatio: 0.15, memoryBytes: 200e6 },
    };
    if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`${summary(result)}\n`);
    if (!args['no-write']) writeResults(result);
  } finally {
    for (const child of exporters) child.kill();
    await Promise.all(exporters.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined)));
    if (!args.keep) {
      progress('deleting the fleet');
      await deleteFleet(api, fleet, progress);
    }
    await api.close();
  }
}

type Result = {
  date: string;
  machine: string;
  queues: number;
  messages: number;
  rounds: number;
  medianSeconds: Record<string, number>;
  medianBytes: Record<string, number>;
  ratios: Record<string, number>;
  memoryBytes: { basic: { rss: number; peak: number }; full: { rss: number; peak: number } };
  goals: { perObjectRatio: number; apiQueuesRatio: number; memoryBytes: number };
};

const s = (v: number) => `${v.toFixed(3)} s`;
const mb = (v: number) => `${(v / 2 ** 20).toFixed(1)} MiB`;
/** Memory in both units: MiB, as /proc reports it, and decimal MB, as the goal is stated. */
const mem = (v: number) => `${mb(v)} (${(v / 1e6).toFixed(1)} MB)`;
const memGoal = (v: number) => `${(v / 1e6).toFixed(0)} MB = ${mb(v)}`;
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

function summary(r: Result): string {
  const m = r.medianSeconds;
  return [
    `exporter benchmark: ${r.queues} queues, ${r.messages} messages, 3 nodes, ${r.rounds} rounds (medians)`,
    `  warren /metrics (details: basic)   ${s(m.warren!)}  ${mb(r.medianBytes.warren!)}`,
    `  warren /metrics (details: full)    ${s(m.warrenFullDetails!)}  ${mb(r.medianBytes.warrenFullDetails!)}`,
    `  plugin /metrics/per-object, summed ${s(m.perObjectSummed!)}  ${mb(r.medianBytes.perObjectSummed!)}`,
    `  GET /api/queues                    ${s(m.apiQueues!)}  ${mb(r.medianBytes.apiQueues!)}`,
    `  warren / per-object: ${r.ratios.warrenToPerObject!.toFixed(2)}x (goal <= ${r.goals.perObjectRatio}x: ${verdict(r.ratios.warrenToPerObject! <= r.goals.perObjectRatio)})`,
    `  warren / api-queues: ${r.ratios.warrenToApiQueues!.toFixed(3)}x (goal <= ${r.goals.apiQueuesRatio}x: ${verdict(r.ratios.warrenToApiQueues! <= r.goals.apiQueuesRatio)})`,
    `  warren (details: full) / per-object: ${r.ratios.warrenFullToPerObject!.toFixed(2)}x (${verdict(r.ratios.warrenFullToPerObject! <= r.goals.perObjectRatio)} with full details), / api-queues: ${r.ratios.warrenFullToApiQueues!.toFixed(3)}x`,
    `  warren resident memory: ${mem(r.memoryBytes.basic.rss)}, peak ${mem(r.memoryBytes.basic.peak)} (goal < ${memGoal(r.goals.memoryBytes)}: ${verdict(r.memoryBytes.basic.peak < r.goals.memoryBytes)})`,
    `  warren (full details) memory: ${mem(r.memoryBytes.full.rss)}, peak ${mem(r.memoryBytes.full.peak)}`,
  ].join('\n');
}

const BEGIN = '<!-- bench:exporter:begin -->';
const END = '<!-- bench:exporter:end -->';

function writeResults(r: Result): void {
  const file = join(REPO, 'docs/benchmarks.md');
  const m = r.medianSeconds;
  const section = [
    BEGIN,
    `Command: \`npm run bench:exporter\` (${r.rounds} rounds, interleaved; medians). Run ${r.date.slice(0, 10)} on ${r.machine}, with the three RabbitMQ 3.10 nodes on the same machine.`,
    `Fleet: ${r.queues} durable queues in 4 vhosts (60 quorum, 120 mirrored, the rest classic with leaders spread over the nodes), ${r.messages} messages.`,
    '',
    '| what | median time | median size | warren basic / this |',
    '|---|---|---|---|',
    `| warren \`/metrics\`, queue details basic (default) | ${s(m.warren!)} | ${mb(r.medianBytes.warren!)} | 1 |`,
    `| warren \`/metrics\`, queue details full | ${s(m.warrenFullDetails!)} | ${mb(r.medianBytes.warrenFullDetails!)} | ${(m.warren! / m.warrenFullDetails!).toFixed(2)} |`,
    `| plugin \`/metrics/per-object\`, summed over the 3 nodes | ${s(m.perObjectSummed!)} | ${mb(r.medianBytes.perObjectSummed!)} | **${r.ratios.warrenToPerObject!.toFixed(2)}x** (goal <= ${r.goals.perObjectRatio}x: ${verdict(r.ratios.warrenToPerObject! <= r.goals.perObjectRatio)}) |`,
    `| \`GET /api/queues\` (management-API exporters) | ${s(m.apiQueues!)} | ${mb(r.medianBytes.apiQueues!)} | **${r.ratios.warrenToApiQueues!.toFixed(3)}x** (goal <= ${r.goals.apiQueuesRatio}x: ${verdict(r.ratios.warrenToApiQueues! <= r.goals.apiQueuesRatio)}) |`,
    '',
    `Every timed warren scrape was checked complete: \`rabbitmq_up\` 1, every collector successful, all ${r.queues} queues exported. With \`details: full\` (adds bytes, memory, persistent messages, consumer utilisation and head-message age per queue) warren takes **${r.ratios.warrenFullToPerObject!.toFixed(2)}x** per-object (0.5x ${verdict(r.ratios.warrenFullToPerObject! <= r.goals.perObjectRatio)} with full details) and ${r.ratios.warrenFullToApiQueues!.toFixed(3)}x \`/api/queues\`.`,
    '',
    `warren's resident memory after the run: ${mem(r.memoryBytes.basic.rss)}, peak ${mem(r.memoryBytes.basic.peak)} (goal < ${memGoal(r.goals.memoryBytes)}: ${verdict(r.memoryBytes.basic.peak < r.goals.memoryBytes)}); with full details ${mem(r.memoryBytes.full.rss)}, peak ${mem(r.memoryBytes.full.peak)}.`,
    END,
  ].join('\n');
  const current = readFileSync(file, 'utf8');
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next = start >= 0 && end > start ? current.slice(0, start) + section + current.slice(end + END.length) : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
  progress(`results written to docs/benchmarks.md`);
}

await main();
