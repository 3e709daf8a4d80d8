// `npm run bench:webhook`: how fast the remediator acknowledges Alertmanager webhook deliveries,
// next to the floor (a bare express handler that only parses the same JSON), in the same run.
//
// Three sides, each a process of its own: the remediator as users run it (`bin/warren.js remediator`
// with a temporary warren.yml and state file, mode enforce with bearer auth, notify_only rules that
// match every generated alert, so each alert is deduplicated, routed and gets an action inserted),
// once with each `remediation.acknowledge_after` (flush: after the disk flush, the default; write:
// after the write, flushed in the background), and the floor as bench/express-floor.ts. notify_only never touches a cluster, so the
// RabbitMQ stack is not needed (nor used).
//
// Load is open-loop: a request is due every 1/rate seconds whether or not earlier ones have been
// answered, and latency runs from when it was due, so a stalled server cannot slow the load down and
// hide its own stall (coordinated omission). Each request is an Alertmanager v4 payload of N new
// alerts (distinct startsAt, and hash fingerprints like Alertmanager's). Keep-alive connections
// through an undici Pool, as Alertmanager does; a request unanswered --deadline seconds after it was
// due is an error. Rounds take the sides in turn, in a rotating order; the sides not being measured
// are frozen (SIGSTOP to their process groups, so a remediator's engine with its backlog takes no CPU
// from the others), and `sync` writes back what earlier phases left dirty first. Medians of the per-round figures. Each round ends with the disk alone (all
// servers frozen): one body's size appended and flushed (fdatasync) at the same rate, the least a
// durable acknowledgement waits for.
//
// Then a storm, on a fresh remediator: the same alert delivered 10,000 times must lead to exactly
// one action. Results go to docs/benchmarks.md (--no-write to skip) and, with --json, to stdout;
// --profile DIR writes CPU profiles of the remediators' processes (their engines' too). Diagnosis
// (never written to docs/benchmarks.md): --freeze-engine freezes the measured remediator's engine
// during its phases; --idle-spinner keeps a SCHED_IDLE busy loop running.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { LOCAL_CLUSTER_NAME, LOCAL_HOST, LOCAL_NODES, LOCAL_USER } from '../src/config/local-stack.ts';

const REPO = new URL('..', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '15' },
    rate: { type: 'string', default: '200' },
    alerts: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '64' },
    deadline: { type: 'string', default: '30' },
    storm: { type: 'string', default: '10000' },
    'storm-concurrency': { type: 'string', default: '50' },
    /** Write a V8 CPU profile of the remediator (at its exit) into this directory. */
    profile: { type: 'string' },
    json: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    /** Diagnosis: freeze the measured remediator's engine process during its phases (the acknowledgement path alone). */
    'freeze-engine': { type: 'boolean', default: false },
    /** Diagnosis: keep a busy loop running at the lowest scheduling class (SCHED_IDLE) through every phase. */
    'idle-spinner': { type: 'boolean', default: false },
  },
});

function positiveInt(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}
function nonNegative(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number >= 0, got ${JSON.stringify(text)}`);
  return value;
}
const settings = {
  freezeEngine: args['freeze-engine'] ?? false,
  idleSpinner: args['idle-spinner'] ?? false,
  rounds: positiveInt('rounds', args.rounds),
  seconds: positiveInt('seconds', args.seconds),
  rate: positiveInt('rate', args.rate),
  alerts: positiveInt('alerts', args.alerts),
  warmupSeconds: nonNegative('warmup', args.warmup),
  connections: positiveInt('connections', args.connections),
  /** A request not answered this many seconds after it was due counts as an error. */
  deadlineSeconds: positiveInt('deadline', args.deadline),
  stormDeliveries: positiveInt('storm', args.storm),
  stormConcurrency: positiveInt('storm-concurrency', args['storm-concurrency']),
};
const GOAL_P99_RATIO = 2;
const TOKEN = randomBytes(24).toString('hex');
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// ---- child processes and cleanup ----

const children = new Set<ChildProcess>();
let workDir: string | undefined;

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
/**
 * Each server runs in a process group of its own (the remediator's engine is a child process of
 * it): freezing, thawing and killing apply to the group, so that they reach the engine too.
 */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

function groupAlive(child: ChildProcess): boolean {
  try {
    process.kill(-child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the server (it closes its engine in order), SIGKILL to its group after `graceMs`; waits until the whole group is gone. */
async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  signalGroup(child, 'SIGCONT'); // it may be frozen (see main)
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  for (let waited = 0; groupAlive(child); waited += 50) {
    if (waited >= 5_000) signalGroup(child, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  children.delete(child);
}

function removeWorkDir(): void {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

// Last resort (an exception, process.exit): nothing survives the benchmark.
process.on('exit', () => {
  for (const child of children) signalGroup(child, 'SIGKILL');
  removeWorkDir();
});
// Ctrl-C: stop the servers (SIGKILL after 3 s), delete the work directory, exit. A second one kills at once.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130); // the exit handler kills the children and deletes the directory
    interrupted = true;
    progress(`${signal}: stopping the servers`);
    void Promise.all([...children].map((child) => stopChild(child, 3000))).finally(() => {
      removeWorkDir();
      process.exit(130);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOCAL_HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The V8 flags on bin/warren.js's shebang line, so the floor runs under the same heap settings. */
function warrenNodeFlags(): string[] {
  const shebang = readFileSync(join(REPO, 'bin/warren.js'), 'utf8').split('\n', 1)[0] ?? '';
  return shebang.split(/\s+/).filter((word) => word.startsWith('--'));
}

interface Server {
  name: 'floor' | 'remediator';
  /** Which process: floor, remediator, storm. */
  label: string;
  child: ChildProcess;
  origin: string;
  log: string;
  /** How it ended, once it has: `code 0`, `signal SIGKILL`. */
  exit?: string | undefined;
}

async function startServer(name: Server['name'], file: string, argv: string[], env: NodeJS.ProcessEnv, port: number, label: string): Promise<Server> {
  const log = join(workDir!, `${label}.log`);
  const fd = openSync(log, 'a');
  // Children inherit this Node (24) first on PATH: bin/warren.js finds `node` through env.
  const child = spawn(file, argv, { env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, ...env }, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  children.add(child);
  const origin = `http://${LOCAL_HOST}:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) break;
    if (await fetch(`${origin}/-/healthy`).then((r) => r.ok, () => false)) {
      const server: Server = { name, label, child, origin, log };
      child.once('exit', (code, signal) => (server.exit = signal ? `signal ${signal}` : `code ${code}`));
      return server;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stopChild(child);
  throw new Error(`${label} did not start on ${origin}:\n${readFileSync(log, 'utf8').slice(-2000)}`);
}

/** A warren.yml for the remediator: the local stack's cluster (never contacted), notify_only rules. */
function remediatorConfig(port: number, stateFile: string, acknowledgeAfter: 'flush' | 'write'): string {
  const nodes = LOCAL_NODES.map((node) => `      - { name: ${node.name}, management_url: "http://${LOCAL_HOST}:${node.managementPort}", amqp_url: "amqp://${LOCAL_HOST}:${node.amqpPort}", prometheus_url: "http://${LOCAL_HOST}:${node.prometheusPort}" }`);
  return [
    '# Written by bench/webhook.ts for one run; deleted afterwards.',
    'log: { level: info }',
    'remediation:',
    `  listen_address: ${LOCAL_HOST}:${port}`,
    '  mode: enforce',
    '  auth: { bearer_token_env: WARREN_BENCH_TOKEN }',
    `  acknowledge_after: ${acknowledgeAfter}`,
    `  state_file: ${stateFile}`,
    '  max_body_size: 1048576',
    '  default_rules: false',
    '  rules:',
    '    - name: bench-critical',
    `      matchers: ['fault=~"queue_.+|node_.+"', 'severity="critical"']`,
    '      strategies:',
    `        - { strategy: notify_only, params: { message: '{{ $labels.alertname }} on {{ $labels.vhost }}/{{ $labels.queue }}' } }`,
    '    - name: bench-other',
    `      matchers: ['fault=~"queue_.+|node_.+"']`,
    '      strategies:',
    '        - { strategy: notify_only }',
    'clusters:',
    `  ${LOCAL_CLUSTER_NAME}:`,
    `    management: { username: ${LOCAL_USER.username}, password: ${LOCAL_USER.password} }`,
    '    nodes:',
    ...nodes,
    '',
  ].join('\n');
}

// ---- payloads ----

const KINDS = [
  { alertname: 'RabbitMQQueueBacklog', fault: 'queue_backlog', summary: 'messages are piling up' },
  { alertname: 'RabbitMQMirrorUnsynchronised', fault: 'queue_mirror_unsynchronised', summary: 'a mirror is not synchronised' },
  { alertname: 'RabbitMQQueueNoConsumers', fault: 'queue_no_consumers', summary: 'no consumer is attached' },
  { alertname: 'RabbitMQNodeMemoryAlarm', fault: 'node_memory_alarm', summary: 'publishers are blocked' },
] as const;
const VHOSTS = ['/', 'orders', 'billing', 'telemetry'];
const SALT = randomBytes(4).readUInt32BE(0);
const BASE_TIME = Date.now() - 3_600_000;
let alertSeq = 0;

function newAlert(kind: (typeof KINDS)[number], severity: string): Record<string, unknown> {
  const seq = ++alertSeq;
  const node = LOCAL_NODES[seq % LOCAL_NODES.length]!;
  const vhost = VHOSTS[seq % VHOSTS.length]!;
  const queue = `${vhost === '/' ? 'default' : vhost}.work-${seq % 10_000}`;
  return {
    status: 'firing',
    labels: { alertname: kind.alertname, fault: kind.fault, cluster: LOCAL_CLUSTER_NAME, vhost, queue, severity, instance: `${node.name}`, job: 'rabbitmq' },
    annotations: { summary: `${queue} in ${vhost}: ${kind.summary}`, description: `${kind.alertname} fired for queue ${queue} in vhost ${vhost} on ${node.name}`, runbook_url: `https://runbooks.example.com/rabbitmq/${kind.fault}` },
    startsAt: new Date(BASE_TIME + seq).toISOString().replace('Z', `${String(seq % 1_000_000).padStart(6, '0')}Z`),
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: `http://prometheus:9090/graph?g0.expr=warren_${kind.fault}%7Bqueue%3D%22${encodeURIComponent(queue)}%22%7D&g0.tab=1`,
    // Alertmanager's fingerprints are hashes of the label set, so consecutive alerts' fingerprints are
    // far apart: a store keyed by them writes all over its indexes. Sequential ones would hide that.
    fingerprint: createHash('sha256').update(`${SALT}/${seq}`).digest('hex').slice(0, 16),
  };
}

function webhookBody(alerts: Record<string, unknown>[], kind: (typeof KINDS)[number]): string {
  return JSON.stringify({
    version: '4',
    groupKey: `{}/{fault=~".+"}:{alertname="${kind.alertname}", cluster="${LOCAL_CLUSTER_NAME}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'warren-remediator',
    groupLabels: { alertname: kind.alertname, cluster: LOCAL_CLUSTER_NAME },
    commonLabels: { alertname: kind.alertname, cluster: LOCAL_CLUSTER_NAME, fault: kind.fault, job: 'rabbitmq' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
  });
}

/** `count` request bodies of `settings.alerts` new alerts each (one alertname per group, as Alertmanager groups). */
function makeBodies(count: number): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = KINDS[i % KINDS.length]!;
    bodies.push(webhookBody(Array.from({ length: settings.alerts }, (_, j) => newAlert(kind, j % 5 === 0 ? 'critical' : 'warning')), kind));
  }
  return bodies;
}

// ---- load ----

interface PhaseResult {
  requests: number;
  /** Milliseconds from when each request was due until its whole answer was in, sorted. */
  latencies: Float64Array;
  /** Non-2xx answers and transport errors. */
  errors: number;
  /** 2xx answers that did not say what was expected (remediator: all alerts new, one action each). */
  unexpected: number;
  seconds: number;
  firstError?: string | undefined;
  /** Requests given up on (deadline) that the pool still holds when the phase ends. */
  outstanding: number;
}

const headers = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };

/**
 * Open-loop load: body i is due at start + i/rate and is sent then, even if earlier requests are
 * still out. A request not answered `deadline` seconds after it was due counts as an error at that
 * latency (the bench's own timer: undici does not reject a request still queued for a connection).
 */
function openLoop(pool: Pool, server: Server, bodies: string[]): Promise<PhaseResult> {
  const interval = 1000 / settings.rate;
  const deadlineMs = settings.deadlineSeconds * 1000;
  const latencies = new Float64Array(bodies.length);
  const result: PhaseResult = { requests: bodies.length, latencies, errors: 0, unexpected: 0, seconds: 0, outstanding: 0 };
  const start = performance.now() + 10;
  let next = 0;
  let done = 0;
  if (bodies.length === 0) return Promise.resolve(result);
  return new Promise((resolve) => {
    const send = (i: number) => {
      const due = start + i * interval;
      const controller = new AbortController();
      let settled = false;
      const settle = (problem?: { error: boolean; message: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        latencies[i] = performance.now() - due;
        if (problem) {
          if (problem.error) result.errors++;
          else result.unexpected++;
          result.firstError ??= problem.message;
        }
        if (++done === bodies.length) {
          result.seconds = (performance.now() - start) / 1000;
          result.outstanding = pool.stats.size;
          latencies.sort();
          resolve(result);
        }
      };
      const timer = setTimeout(() => {
        settle({ error: true, message: `no answer within ${settings.deadlineSeconds} s` });
        controller.abort();
      }, Math.max(0, due + deadlineMs - performance.now()));
      pool
        .request({ path: '/api/v1/alerts', method: 'POST', headers, body: bodies[i]!, signal: controller.signal })
        .then(async (response) => {
          const text = await response.body.text();
          if (response.statusCode < 200 || response.statusCode > 299) settle({ error: true, message: `HTTP ${response.statusCode}: ${text.slice(0, 200)}` });
          else if (!expectedAnswer(server.name, text)) settle({ error: false, message: `unexpected answer: ${text.slice(0, 200)}` });
          else settle();
        })
        .catch((error: unknown) => settle({ error: true, message: (error as Error).message }));
    };
    const tick = () => {
      const now = performance.now();
      while (next < bodies.length && start + next * interval <= now) send(next++);
      if (next < bodies.length) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, 10);
  });
}

function expectedAnswer(side: Server['name'], text: string): boolean {
  const body = JSON.parse(text) as { status?: string; delivery?: unknown; alerts?: number };
  if (body.status !== 'accepted') return false;
  // The remediator answers once the delivery is in its durable inbox, with the delivery's id.
  return side === 'floor' || (typeof body.delivery === 'number' && body.alerts === settings.alerts);
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * The disk's own share of a durable acknowledgement: appends of one request body's size, each
 * followed by fdatasync (what a commit with synchronous=FULL waits for), paced at the request rate,
 * latency from when each was due. Run with both servers frozen, in the same round as they are.
 */
function flushProbe(file: string, bytes: number, seconds: number, rate: number): { p50Ms: number; p99Ms: number; maxMs: number } {
  const fd = openSync(file, 'w');
  const buffer = Buffer.alloc(bytes, 0x61);
  const count = Math.max(1, Math.round(seconds * rate));
  const latencies = new Float64Array(count);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const start = performance.now();
  try {
    for (let i = 0; i < count; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
      writeSync(fd, buffer, 0, buffer.length, (i % 256) * buffer.length);
      fdatasyncSync(fd);
      latencies[i] = performance.now() - due;
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  latencies.sort();
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies[latencies.length - 1]! };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A server's process and its descendants (the remediator's engine process), from Linux /proc. */
function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    let children = '';
    try {
      children = readFileSync(`/proc/${tree[i]}/task/${tree[i]}/children`, 'utf8');
    } catch {
      // Exited meanwhile.
    }
    for (const child of children.split(' ').filter(Boolean)) tree.push(Number(child));
  }
  return tree;
}

/** Sums a /proc reading over a server's process tree; NaN once the server has exited. */
function sumOverTree(server: Server, read: (pid: number) => number): number {
  if (server.exit !== undefined) return Number.NaN;
  return processTree(server.child.pid!).reduce((sum, pid) => {
    try {
      return sum + read(pid);
    } catch {
      return sum; // exited meanwhile
    }
  }, 0);
}

/** CPU seconds (user + system) a server's processes have used so far (Linux /proc; clock ticks of 1/100 s). */
function cpuSecondsOf(server: Server): number {
  return sumOverTree(server, (pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  });
}

/** Bytes a server's processes have caused to be written to storage so far (Linux /proc/PID/io). */
function writeBytesOf(server: Server): number {
  return sumOverTree(server, (pid) => Number(/^write_bytes:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? Number.NaN));
}

/** Resident and peak resident memory of a server's processes together, bytes (Linux /proc); undefined once it has exited. */
function memoryOf(server: Server): { rss: number; peak: number } | undefined {
  if (server.exit !== undefined) return undefined;
  const kib = (pid: number, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  return { rss: sumOverTree(server, (pid) => kib(pid, 'VmRSS')), peak: sumOverTree(server, (pid) => kib(pid, 'VmHWM')) };
}

async function get(pool: Pool, path: string, timeoutMs = 120_000): Promise<{ status: number; text: string }> {
  const response = await pool.request({ path, method: 'GET', headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.statusCode, text: await response.body.text() };
}

function metricValue(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Actions waiting for the worker (GET /api/v1/status); `no answer` when it cannot say within 10 s. */
async function pendingActions(pool: Pool): Promise<number | string> {
  try {
    const status = JSON.parse((await get(pool, '/api/v1/status', 10_000)).text) as { actions?: Record<string, number> };
    return status.actions?.pending ?? 0;
  } catch (error) {
    const { name, code } = error as Error & { code?: string };
    return name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT' ? 'no answer' : `status failed: ${(error as Error).message}`;
  }
}

// ---- storm ----

interface StormResult {
  deliveries: number;
  concurrency: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  /** How long routing took to finish after the last delivery was acknowledged. */
  routedAfterSeconds: number;
  actionsListed: number;
  dedupMetric: number | undefined;
  ok: boolean;
}

async function storm(pool: Pool): Promise<StormResult> {
  const kind = KINDS[1];
  const alert = newAlert(kind, 'critical');
  const body = webhookBody([alert], kind);
  const latencies = new Float64Array(settings.stormDeliveries);
  let sent = 0;
  let errors = 0;
  const started = performance.now();
  const worker = async () => {
    while (sent < settings.stormDeliveries) {
      const i = sent++;
      const t0 = performance.now();
      try {
        const response = await pool.request({ path: '/api/v1/alerts', method: 'POST', headers, body });
        const text = await response.body.text();
        const answer = response.statusCode === 200 ? (JSON.parse(text) as { status?: string; delivery?: unknown }) : undefined;
        if (answer?.status !== 'accepted' || typeof answer.delivery !== 'number') errors++;
      } catch {
        errors++;
      }
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: settings.stormConcurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  // Acknowledged means persisted; routing (deduplication, rules) follows. Wait for the inbox to drain.
  const acknowledged = performance.now();
  for (;;) {
    const status = JSON.parse((await get(pool, '/api/v1/status', 10_000)).text) as { inbox?: number };
    if (status.inbox === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const routedAfterSeconds = (performance.now() - acknowledged) / 1000;
  const listed = JSON.parse((await get(pool, `/api/v1/actions?fingerprint=${alert.fingerprint as string}`)).text) as { actions: unknown[] };
  const dedupMetric = metricValue((await get(pool, '/metrics')).text, 'warren_remediation_alerts_deduplicated_total');
  const expectedDuplicates = settings.stormDeliveries - 1;
  return {
    deliveries: settings.stormDeliveries,
    concurrency: settings.stormConcurrency,
    seconds,
    perSecond: settings.stormDeliveries / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1]!,
    errors,
    routedAfterSeconds,
    actionsListed: listed.actions.length,
    dedupMetric,
    ok: errors === 0 && listed.actions.length === 1 && dedupMetric === expectedDuplicates,
  };
}

// ---- the run ----

/** The sides: the floor, and the remediator acknowledging after the flush (the default) or after the write. */
type SideKey = 'floor' | 'flush' | 'write';
const REMEDIATOR_SIDES = ['flush', 'write'] as const satisfies readonly SideKey[];

interface RoundResult {
  round: number;
  side: SideKey;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  unexpected: number;
  achievedRate: number;
  /** The server's CPU time during the phase, in % of one core. */
  cpuPercent: number;
  /** What the server wrote to storage during the phase, per alert sent (bytes). */
  writtenPerAlert: number;
  /** Remediator only: actions still waiting for the worker when the round ended. */
  pendingAfter?: number | string | undefined;
}

interface SideSummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  unexpected: number;
  requests: number;
  /** Median of the per-round CPU use, % of one core. */
  cpuPercent: number;
  /** Median of the per-round storage writes, bytes per alert sent. */
  writtenPerAlert: number;
}

interface Result {
  date: string;
  machine: string;
  node: string;
  settings: typeof settings;
  rounds: RoundResult[];
  sides: Record<SideKey, SideSummary>;
  /** Each remediator side over the floor. */
  ratios: Record<'flush' | 'write', { p50: number; p99: number }>;
  /** The goal for each remediator side; `met` is the default's (flush). */
  goal: { p99Ratio: number; met: boolean; metByAcknowledgeAfter: Record<'flush' | 'write', boolean> };
  /** Medians of the per-round disk flush probe (see flushProbe). */
  diskFlush: { p50Ms: number; p99Ms: number; maxMs: number } | undefined;
  remediatorMemoryBytes: Record<'flush' | 'write', { rss: number; peak: number } | undefined>;
  /** Set when a remediator died during the rounds (later rounds are then not run). */
  remediatorCrash?: { round: number; side: SideKey; exit: string; log: string } | undefined;
  storm: StormResult;
}

async function main(): Promise<void> {
  workDir = mkdtempSync(join(tmpdir(), 'warren-bench-webhook-'));
  const remediatorEnv: NodeJS.ProcessEnv = { WARREN_BENCH_TOKEN: TOKEN };
  if (args.profile) remediatorEnv.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${args.profile}`.trim();
  const startRemediator = async (name: string, acknowledgeAfter: 'flush' | 'write' = 'flush'): Promise<Server> => {
    const port = await freePort();
    const configFile = join(workDir!, `${name}.yml`);
    writeFileSync(configFile, remediatorConfig(port, join(workDir!, `${name}.db`), acknowledgeAfter));
    return startServer('remediator', join(REPO, 'bin/warren.js'), ['remediator', '--config', configFile], remediatorEnv, port, name);
  };
  const poolFor = (server: Server) => new Pool(server.origin, { connections: settings.connections, pipelining: 1, keepAliveTimeout: 60_000 });

  progress(`starting the floor (bench/express-floor.ts) and the remediator twice (bin/warren.js remediator, acknowledge_after flush and write); work dir ${workDir}`);
  if (args['idle-spinner']) {
    // Runs only when a core would otherwise be idle: what any background work costs the others here.
    const spinner = spawn('chrt', ['--idle', '0', process.execPath, '-e', 'for (;;);'], { stdio: 'ignore', detached: true });
    children.add(spinner);
    spinner.unref(); // the exit handler kills it
    progress('diagnosis: a SCHED_IDLE busy loop runs through every phase');
  }
  if (args['freeze-engine']) progress("diagnosis: each remediator's engine process is frozen while it is measured");
  const floorPort = await freePort();
  const floor = await startServer('floor', process.execPath, [...warrenNodeFlags(), join(REPO, 'bench/express-floor.ts'), `${LOCAL_HOST}:${floorPort}`], {}, floorPort, 'floor');
  const bySide: Record<SideKey, Server> = { floor, flush: await startRemediator('remediator-flush', 'flush'), write: await startRemediator('remediator-write', 'write') };
  const sideKeys = Object.keys(bySide) as SideKey[];
  const servers = sideKeys.map((key) => bySide[key]);
  const pools = new Map<Server, Pool>(servers.map((server) => [server, poolFor(server)]));
  const freezeAllBut = (measured: Server | undefined, signal: 'SIGSTOP' | 'SIGCONT') => {
    for (const key of REMEDIATOR_SIDES) if (bySide[key] !== measured) signalGroup(bySide[key].child, signal);
  };
  // While one side is measured the remediators of the others are frozen (SIGSTOP), so that their
  // engines, still busy with the actions of earlier rounds, take no CPU from it.
  const measure = async (server: Server, bodies: string[]): Promise<PhaseResult> => {
    freezeAllBut(server, 'SIGSTOP');
    // What earlier phases left for the kernel to write back is written now, not during this phase.
    execFileSync('sync');
    const engines = args['freeze-engine'] && server !== floor ? processTree(server.child.pid!).slice(1) : [];
    for (const pid of engines) process.kill(pid, 'SIGSTOP');
    try {
      return await openLoop(pools.get(server)!, server, bodies);
    } finally {
      for (const pid of engines) process.kill(pid, 'SIGCONT');
      freezeAllBut(server, 'SIGCONT');
    }
  };
  const perRound = settings.rate * settings.seconds;
  const rounds: RoundResult[] = [];
  const flushes: { p50Ms: number; p99Ms: number; maxMs: number }[] = [];
  let crash: Result['remediatorCrash'];
  let failed = false;
  try {
    for (const key of settings.warmupSeconds > 0 ? sideKeys : []) {
      progress(`warm-up ${key}: ${settings.warmupSeconds} s at ${settings.rate}/s (discarded)`);
      const warm = await measure(bySide[key], makeBodies(Math.round(settings.rate * settings.warmupSeconds)));
      if (warm.errors + warm.unexpected > 0) progress(`warm-up ${key}: ${warm.errors} errors, ${warm.unexpected} unexpected answers (first: ${warm.firstError})`);
    }
    for (let round = 1; round <= settings.rounds; round++) {
      // Every side gets identical bodies; the remediators have not seen these alerts before.
      const bodies = makeBodies(perRound);
      const shift = (round - 1) % sideKeys.length;
      for (const key of [...sideKeys.slice(shift), ...sideKeys.slice(0, shift)]) {
        const server = bySide[key];
        progress(`round ${round}/${settings.rounds} ${key}: ${perRound} requests of ${settings.alerts} alerts at ${settings.rate}/s`);
        const cpuBefore = cpuSecondsOf(server);
        const writtenBefore = writeBytesOf(server);
        const phase = await measure(server, bodies);
        const cpuPercent = ((cpuSecondsOf(server) - cpuBefore) / phase.seconds) * 100;
        const writtenPerAlert = (writeBytesOf(server) - writtenBefore) / (phase.requests * settings.alerts);
        if (phase.outstanding > 0) {
          // Requests given up on still hold connections: start the next phase on fresh ones.
          const stale = pools.get(server)!;
          pools.set(server, poolFor(server));
          await stale.destroy().catch(() => undefined);
        }
        const row: RoundResult = {
          round,
          side: key,
          requests: phase.requests,
          p50Ms: percentile(phase.latencies, 50),
          p99Ms: percentile(phase.latencies, 99),
          maxMs: phase.latencies[phase.latencies.length - 1]!,
          errors: phase.errors,
          unexpected: phase.unexpected,
          achievedRate: phase.requests / phase.seconds,
          cpuPercent,
          writtenPerAlert,
          pendingAfter: key !== 'floor' && server.exit === undefined ? await pendingActions(pools.get(server)!) : undefined,
        };
        rounds.push(row);
        progress(
          `round ${round}/${settings.rounds} ${key}: p50 ${ms(row.p50Ms)}, p99 ${ms(row.p99Ms)}, max ${ms(row.maxMs)}, all answered in ${phase.seconds.toFixed(1)} s, CPU ${row.cpuPercent.toFixed(0)}% of a core, disk writes ${kb(row.writtenPerAlert)} per alert, ${row.errors} errors` +
            (row.unexpected ? `, ${row.unexpected} unexpected answers` : '') +
            (phase.firstError ? ` (first: ${phase.firstError})` : '') +
            (row.pendingAfter !== undefined ? `; actions pending for the worker: ${row.pendingAfter}` : ''),
        );
        if (server.exit !== undefined) {
          const log = readFileSync(server.log, 'utf8');
          crash = { round, side: key, exit: server.exit, log: lastLines(log, 8) };
          progress(`the ${server.label} died during round ${round} (${server.exit}); no further rounds. Its log ends:\n${crash.log}`);
          break;
        }
      }
      if (crash) break;
      freezeAllBut(undefined, 'SIGSTOP');
      try {
        const flush = flushProbe(join(workDir!, 'flush-probe.bin'), Math.round(bodies.reduce((sum, body) => sum + body.length, 0) / bodies.length), Math.min(5, settings.seconds), settings.rate);
        flushes.push(flush);
        progress(`round ${round}/${settings.rounds} disk flush alone (one body's size, fdatasync, servers frozen): p50 ${ms(flush.p50Ms)}, p99 ${ms(flush.p99Ms)}, max ${ms(flush.maxMs)}`);
      } finally {
        freezeAllBut(undefined, 'SIGCONT');
      }
    }
    const memory = { flush: memoryOf(bySide.flush), write: memoryOf(bySide.write) };
    for (const key of REMEDIATOR_SIDES) if (memory[key]) progress(`remediator (${key}) resident memory ${mb(memory[key].rss)} (peak ${mb(memory[key].peak)})`);
    progress('stopping the servers');
    await Promise.all([...pools.values()].map((pool) => pool.close()));
    pools.clear();
    await Promise.all(servers.splice(0).map((server) => stopChild(server.child)));

    // The storm gets a fresh remediator: the rounds leave a worker backlog that is not what it measures.
    const stormServer = await startRemediator('storm');
    servers.push(stormServer);
    pools.set(stormServer, poolFor(stormServer));
    progress(`storm: ${settings.stormDeliveries} deliveries of one alert, ${settings.stormConcurrency} at a time, to a fresh remediator`);
    const stormResult = await storm(pools.get(stormServer)!);
    progress(
      `storm: ${stormResult.perSecond.toFixed(0)} deliveries/s, p99 ${ms(stormResult.p99Ms)}, routed ${stormResult.routedAfterSeconds.toFixed(2)} s after the last answer, ${stormResult.actionsListed} action(s) listed, deduplicated_total ${stormResult.dedupMetric}, ${stormResult.errors} errors: ${stormResult.ok ? 'ok' : 'NOT ok'}`,
    );
    const summarise = (side: SideKey): SideSummary => {
      const mine = rounds.filter((r) => r.side === side);
      return {
        p50Ms: median(mine.map((r) => r.p50Ms)),
        p99Ms: median(mine.map((r) => r.p99Ms)),
        maxMs: median(mine.map((r) => r.maxMs)),
        errors: mine.reduce((sum, r) => sum + r.errors, 0),
        unexpected: mine.reduce((sum, r) => sum + r.unexpected, 0),
        requests: mine.reduce((sum, r) => sum + r.requests, 0),
        cpuPercent: median(mine.map((r) => r.cpuPercent)),
        writtenPerAlert: median(mine.map((r) => r.writtenPerAlert)),
      };
    };
    const sides = { floor: summarise('floor'), flush: summarise('flush'), write: summarise('write') };
    const ratioOf = (key: 'flush' | 'write') => ({ p50: sides[key].p50Ms / sides.floor.p50Ms, p99: sides[key].p99Ms / sides.floor.p99Ms });
    const ratios = { flush: ratioOf('flush'), write: ratioOf('write') };
    const goalMet = (key: 'flush' | 'write') => ratios[key].p99 <= GOAL_P99_RATIO && sides[key].errors === 0 && sides[key].unexpected === 0;
    const result: Result = {
      date: new Date().toISOString(),
      machine: `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
      node: process.version,
      settings,
      rounds,
      sides,
      ratios,
      goal: { p99Ratio: GOAL_P99_RATIO, met: goalMet('flush'), metByAcknowledgeAfter: { flush: goalMet('flush'), write: goalMet('write') } },
      diskFlush: flushes.length ? { p50Ms: median(flushes.map((f) => f.p50Ms)), p99Ms: median(flushes.map((f) => f.p99Ms)), maxMs: median(flushes.map((f) => f.maxMs)) } : undefined,
      remediatorMemoryBytes: memory,
      remediatorCrash: crash,
      storm: stormResult,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`${summary(result)}\n`);
    if (args['freeze-engine'] || args['idle-spinner']) progress('a diagnosis run: not written to docs/benchmarks.md');
    else if (!args['no-write']) writeResults(result);
    if (sideKeys.some((key) => sides[key].errors + sides[key].unexpected > 0) || crash || !stormResult.ok) process.exitCode = 1;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await Promise.all([...pools.values()].map((pool) => pool.close()));
    await Promise.all(servers.map((server) => stopChild(server.child)));
    if (failed || process.exitCode) for (const server of servers) progress(`${server.label} log ends:\n${lastLines(readFileSync(server.log, 'utf8'), 8)}`);
    removeWorkDir();
  }
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).map((line) => (line.length > 300 ? `${line.slice(0, 300)}...` : line)).join('\n');
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(2)} ms`);
const mb = (v: number) => `${(v / 2 ** 20).toFixed(1)} MiB`;
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
const x = (v: number) => `${v.toFixed(2)}x`;

function memoryText(r: Result, key: 'flush' | 'write'): string {
  const memory = r.remediatorMemoryBytes[key];
  return memory ? `${mb(memory.rss)} (peak ${mb(memory.peak)})` : 'n/a (the process had died)';
}

/** The line of a crashed remediator's log that says why, else its last line. */
function crashCause(crash: NonNullable<Result['remediatorCrash']>): string {
  const lines = crash.log.split('\n');
  return (lines.find((line) => /FATAL|out of memory|Error/i.test(line)) ?? lines.at(-1) ?? '').trim().slice(0, 200);
}

function perRound(r: Result, key: 'flush' | 'write'): string {
  const mine = r.rounds.filter((row) => row.side === key);
  return `p99 ${mine.map((row) => ms(row.p99Ms)).join(' / ')}; actions left pending for the worker after each (\`GET /api/v1/status\`, 10 s): ${mine.map((row) => row.pendingAfter ?? '?').join(' / ')}`;
}

const SIDE_TITLES: Record<SideKey, string> = {
  floor: 'floor (express.json)',
  flush: 'remediator, ack after flush (default)',
  write: 'remediator, ack after write',
};

function summary(r: Result): string {
  const s = r.storm;
  const line = (key: SideKey) => {
    const side = r.sides[key];
    return `  ${SIDE_TITLES[key].padEnd(38)} p50 ${ms(side.p50Ms)}  p99 ${ms(side.p99Ms)}  max ${ms(side.maxMs)}  errors ${side.errors} of ${side.requests}${side.unexpected ? `, unexpected ${side.unexpected}` : ''}  CPU ${side.cpuPercent.toFixed(0)}%  disk writes ${kb(side.writtenPerAlert)} per alert`;
  };
  return [
    `webhook benchmark: ${r.settings.rate} requests/s of ${r.settings.alerts} new alerts, ${r.settings.rounds} rounds x ${r.settings.seconds} s per side (medians)`,
    line('floor'),
    line('flush'),
    line('write'),
    ...(r.diskFlush ? [`  ${'disk flush alone'.padEnd(38)} p50 ${ms(r.diskFlush.p50Ms)}  p99 ${ms(r.diskFlush.p99Ms)}  max ${ms(r.diskFlush.maxMs)}  (what a durable acknowledgement waits for at least)`] : []),
    ...REMEDIATOR_SIDES.map((key) => `  ${SIDE_TITLES[key]} / floor: p50 ${x(r.ratios[key].p50)}, p99 ${x(r.ratios[key].p99)} (goal p99 <= ${r.goal.p99Ratio}x: ${verdict(r.goal.metByAcknowledgeAfter[key])})`),
    ...REMEDIATOR_SIDES.map((key) => `  ${SIDE_TITLES[key]} per round: ${perRound(r, key)}`),
    ...(r.remediatorCrash ? [`  the remediator (${r.remediatorCrash.side}) DIED during round ${r.remediatorCrash.round} (${r.remediatorCrash.exit}): ${crashCause(r.remediatorCrash)}`] : []),
    `  resident memory after the rounds: ${REMEDIATOR_SIDES.map((key) => `${key} ${memoryText(r, key)}`).join(', ')}`,
    `  storm: ${s.deliveries} deliveries of one alert, ${s.concurrency} concurrent: ${s.perSecond.toFixed(0)}/s, p99 ${ms(s.p99Ms)}, ${s.actionsListed} action, routed ${s.routedAfterSeconds.toFixed(2)} s after the last answer, deduplicated_total ${s.dedupMetric}: ${s.ok ? 'ok' : 'NOT ok'}`,
  ].join('\n');
}

const BEGIN = '<!-- bench:webhook:begin -->';
const END = '<!-- bench:webhook:end -->';
const HEADING = '## Remediator: webhook acknowledgement';

function writeResults(r: Result): void {
  const file = join(REPO, 'docs/benchmarks.md');
  const s = r.storm;
  const row = (name: string, side: SideSummary) =>
    `| ${name} | ${ms(side.p50Ms)} | ${ms(side.p99Ms)} | ${ms(side.maxMs)} | ${side.errors} of ${side.requests}${side.unexpected ? ` (+${side.unexpected} unexpected answers)` : ''} | ${side.cpuPercent.toFixed(0)}% | ${kb(side.writtenPerAlert)} |`;
  const crash = r.remediatorCrash;
  const section = [
    BEGIN,
    `Command: \`npm run bench:webhook\` (${r.settings.rounds} rounds x ${r.settings.seconds} s per side, in rotating order, the other sides frozen, after ${r.settings.warmupSeconds} s of warm-up; medians of the per-round figures). Run ${r.date.slice(0, 10)} on ${r.machine}, Node ${r.node}.`,
    `Load: ${r.settings.rate} requests/s, open loop, each an Alertmanager v4 payload of ${r.settings.alerts} new alerts, over ${r.settings.connections} keep-alive connections; a request not answered ${r.settings.deadlineSeconds} s after it was due is an error and counts at that latency.`,
    '',
    '| side | p50 | p99 | max | errors | CPU (% of a core) | disk writes per alert |',
    '|---|---|---|---|---|---|---|',
    row('floor: bare express handler, `express.json()`', r.sides.floor),
    row('warren remediator, `acknowledge_after: flush` (the default): 200 after the disk flush', r.sides.flush),
    row('warren remediator, `acknowledge_after: write`: 200 after the write, flushed about every 100 ms', r.sides.write),
    ...(r.diskFlush ? [`| disk flush alone: one body's size appended, fdatasync (servers frozen) | ${ms(r.diskFlush.p50Ms)} | ${ms(r.diskFlush.p99Ms)} | ${ms(r.diskFlush.maxMs)} | | | |`] : []),
    ...REMEDIATOR_SIDES.map(
      (key) =>
        `| **${key} / floor** | **${x(r.ratios[key].p50)}** | **${x(r.ratios[key].p99)}** (goal <= ${r.goal.p99Ratio}x: ${verdict(r.goal.metByAcknowledgeAfter[key])}) | ${x(r.sides[key].maxMs / r.sides.floor.maxMs)} | | | |`,
    ),
    '',
    ...REMEDIATOR_SIDES.map((key) => `Remediator (${key}) per round: ${perRound(r, key)}.`),
    ...(crash ? [`**The remediator (${crash.side}) died during round ${crash.round}** (${crash.exit}); later rounds were not run. Its log: \`${crashCause(crash).replaceAll('`', "'")}\``] : []),
    `Resident memory after the rounds (each remediator with its engine process): ${REMEDIATOR_SIDES.map((key) => `${key} ${memoryText(r, key)}`).join(', ')}.`,
    `Storm: ${s.deliveries} deliveries of one alert, ${s.concurrency} at a time: ${s.perSecond.toFixed(0)} deliveries/s, p50 ${ms(s.p50Ms)}, p99 ${ms(s.p99Ms)}, ${s.errors} errors; ` +
      `all routed ${s.routedAfterSeconds.toFixed(2)} s after the last acknowledgement; ${s.actionsListed} action in the audit trail, \`warren_remediation_alerts_deduplicated_total\` ${s.dedupMetric} (${s.ok ? 'exactly one action: met' : 'NOT met'}).`,
    END,
  ].join('\n');
  const current = readFileSync(file, 'utf8');
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next = start >= 0 && end > start ? current.slice(0, start) + section + current.slice(end + END.length) : `${current.trimEnd()}\n\n${HEADING}\n\n${section}\n`;
  writeFileSync(file, next);
  progress('results written to docs/benchmarks.md');
}

await main();
