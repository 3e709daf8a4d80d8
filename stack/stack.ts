// The local stack's programmatic API: what `npm run stack` and the test suite's global setup call.

import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { LOCAL_HOST, LOCAL_NODES, LOCAL_PORTS, localProfileFile, recordedLocalProfile } from '../src/config/local-stack.ts';
import { alertmanagerDaemon, alertmanagerUrl } from './alertmanager.ts';
import type { Broker } from './broker.ts';
import { allBrokers, brokerEnv, brokerExec, brokerFor, chooseProfile, ensureBrokerInstalled } from './broker.ts';
import type { DaemonSpec } from './daemons.ts';
import { daemonStatus, ensureDaemon, stopDaemon } from './daemons.ts';
import { StackError } from './errors.ts';
import { runCommand } from './exec.ts';
import { haproxyDaemon } from './haproxy.ts';
import { ensurePackages, findExecutable, requiredPackages } from './packages.ts';
import type { StackPaths } from './paths.ts';
import { REPO_ROOT, stackPaths } from './paths.ts';
import { prometheusDaemon, prometheusUrl } from './prometheus.ts';
import type { Reporter } from './progress.ts';
import { createReporter } from './progress.ts';
import { ensureClusterFormed, ensureDefaultUser, ensureMetadataStore } from './rabbitmq-cluster.ts';
import { ensureErlangCookie } from './rabbitmq-cli.ts';
import { ensureNodesRunning, findNodePid, probeNode, stopNode } from './rabbitmq-nodes.ts';
import type { StackStatus } from './status.ts';
import { nodeStatus } from './status.ts';

export { StackError, isStackError } from './errors.ts';
export type { StackErrorCode } from './errors.ts';
export { haproxyRuntimeCommand } from './haproxy.ts';
export { ensurePackages, type RequiredTool } from './packages.ts';
export { nodePaths, stackPaths } from './paths.ts';
export type { NodePaths, StackPaths } from './paths.ts';
export { rabbitmqctl } from './rabbitmq-cli.ts';
export { PROFILE_ENV, brokerFor, brokerCommand, type Broker } from './broker.ts';
export type { ComponentStatus, RabbitNodeStatus, StackStatus } from './status.ts';
export { formatStatusTable } from './status.ts';

export interface StackOptions {
  /** No progress lines on stderr. */
  readonly quiet?: boolean;
  /** Where progress lines go instead of stderr (ignored when quiet). */
  readonly report?: Reporter;
  /** Environment to read WARREN_STACK_DIR from; defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  readonly repoRoot?: string;
}

export interface StackUpOptions extends StackOptions {
  /** Which RabbitMQ to run; default: $WARREN_STACK_RABBITMQ, else what the stack last ran, else 3.10. */
  readonly rabbitmq?: string;
}

export interface StackDownOptions extends StackOptions {
  /** Also delete the state directory (data, logs, cookie). */
  readonly purge?: boolean;
}

export interface StackEndpoints {
  readonly amqp: string;
  readonly management: string;
  readonly nodeManagement: Readonly<Record<string, string>>;
  readonly prometheus: string;
  readonly alertmanager: string;
  readonly haproxyStats: string;
  readonly haproxyMetrics: string;
  readonly haproxySocket: string;
  readonly logsDir: string;
  readonly stackDir: string;
  readonly rabbitmq: string;
  readonly rabbitmqLogsDir: string;
}

export interface StackUpResult {
  readonly endpoints: StackEndpoints;
  readonly elapsedMs: number;
}

interface Context {
  readonly paths: StackPaths;
  readonly report: Reporter;
}

function context(options: StackOptions): Context {
  const paths = stackPaths(options.env ?? process.env, options.repoRoot ?? REPO_ROOT);
  const report = options.quiet ? createReporter(true) : (options.report ?? createReporter(false));
  return { paths, report };
}

/** In start order: Prometheus last, so its first scrapes and alert deliveries find their targets. */
function serviceDaemons(paths: StackPaths): DaemonSpec[] {
  return [haproxyDaemon(paths), alertmanagerDaemon(paths), prometheusDaemon(paths)];
}

export function stackEndpoints(paths: StackPaths, broker: Broker): StackEndpoints {
  const http = (port: number): string => `http://${LOCAL_HOST}:${port}`;
  return {
    amqp: `amqp://${LOCAL_HOST}:${LOCAL_PORTS.haproxyAmqp}`,
    management: http(LOCAL_PORTS.haproxyManagement),
    nodeManagement: Object.fromEntries(LOCAL_NODES.map((node) => [node.name, http(node.managementPort)])),
    prometheus: prometheusUrl(),
    alertmanager: alertmanagerUrl(),
    haproxyStats: `${http(LOCAL_PORTS.haproxyStats)}/stats`,
    haproxyMetrics: `${http(LOCAL_PORTS.haproxyStats)}/metrics`,
    haproxySocket: paths.haproxy.adminSocket,
    logsDir: paths.logsDir,
    stackDir: paths.stackDir,
    rabbitmq: broker.description,
    rabbitmqLogsDir: broker.logsDir,
  };
}

async function exists(file: string): Promise<boolean> {
  return await access(file).then(() => true, () => false);
}

async function prepareStateDir(paths: StackPaths, broker: Broker, report: Reporter): Promise<void> {
  await mkdir(paths.logsDir, { recursive: true });
  if (!(await exists(paths.markerFile))) {
    await writeFile(paths.markerFile, 'State of `npm run stack` (warren). `npm run stack -- down --purge` deletes this directory.\n');
  }
  const cookie = await ensureErlangCookie(broker);
  report(`state: ${paths.stackDir} (rabbitmq ${broker.profile}; Erlang cookie ${cookie === 'created' ? 'created' : 'kept'})`);
}

/** The stack runs one profile's nodes at a time (they share ports): stop any other profile's. */
async function stopOtherProfiles(paths: StackPaths, broker: Broker, report: Reporter): Promise<void> {
  for (const other of allBrokers(paths).filter((candidate) => candidate.profile !== broker.profile)) {
    const probes = await Promise.all(LOCAL_NODES.map((node) => findNodePid(other, node)));
    if (probes.some((pid) => pid !== null)) {
      report(`rabbitmq ${other.profile}: running; stopping its nodes to start ${broker.profile}`);
      await Promise.all(LOCAL_NODES.map((node) => stopNode(other, node, report)));
      await killEpmd(other, report);
    }
  }
}

/** Starts whatever is not running yet; safe to repeat. Resolves once everything is ready. */
export async function stackUp(options: StackUpOptions = {}): Promise<StackUpResult> {
  const started = Date.now();
  const { paths, report } = context(options);
  const broker = brokerFor(paths, chooseProfile(paths, options.rabbitmq, options.env ?? process.env));
  report(`rabbitmq: ${broker.description}`);
  await ensurePackages(paths.aptLog, report, requiredPackages(broker.profile));
  await mkdir(paths.logsDir, { recursive: true });
  await ensureBrokerInstalled(broker, paths, report);
  await prepareStateDir(paths, broker, report);
  const daemons = serviceDaemons(paths);
  for (const daemon of daemons) {
    await daemon.validate(); // before the slow broker boot, so a config typo fails fast
  }
  report('configs: haproxy, prometheus, alertmanager valid');
  await stopOtherProfiles(paths, broker, report);
  // Recorded before the nodes start: warren's built-in defaults and `down` read it.
  await writeFile(localProfileFile(paths.stackDir), `${broker.profile}\n`);
  await ensureNodesRunning(broker, report);
  await ensureClusterFormed(broker, report);
  await ensureMetadataStore(broker, report);
  await ensureDefaultUser(broker, report);
  for (const daemon of daemons) {
    await ensureDaemon(daemon, report);
  }
  return { endpoints: stackEndpoints(paths, broker), elapsedMs: Date.now() - started };
}

/** Stops the profile's epmd once its nodes are gone (it outlives them otherwise). */
async function killEpmd(broker: Broker, report: Reporter): Promise<void> {
  const label = `epmd (port ${broker.cli.epmdPort})`;
  try {
    if (broker.cli.rootDir === null) {
      const epmd = await findExecutable('epmd', await ertsEpmdCandidates());
      if (epmd === null) {
        report(`${label}: program not found, skipped`);
        return;
      }
      await runCommand(epmd, ['-kill'], { env: brokerEnv(broker), timeoutMs: 10_000 });
    } else {
      if (!(await exists(`${broker.cli.rootDir}/usr/bin/epmd`))) return;
      await brokerExec(broker, '/usr/bin/epmd', ['-kill'], { timeoutMs: 10_000 });
    }
    report(`${label}: stopped`);
  } catch (error) {
    const message = (error as Error).message;
    // Not running, or other Erlang nodes still registered (epmd then refuses): both fine here.
    report(message.includes('Cannot connect') ? `${label}: not running` : `${label}: left alone (${message.split('\n').pop()?.trim() ?? ''})`);
  }
}

async function ertsEpmdCandidates(): Promise<string[]> {
  const entries = await readdir('/usr/lib/erlang').catch(() => [] as string[]);
  return entries.filter((entry) => entry.startsWith('erts-')).map((entry) => `/usr/lib/erlang/${entry}/bin/epmd`);
}

async function purgeStateDir(paths: StackPaths, report: Reporter): Promise<void> {
  if (!(await exists(paths.stackDir))) {
    report(`purge: ${paths.stackDir} does not exist`);
    return;
  }
  if (!(await exists(paths.markerFile))) {
    throw new StackError('STACK_PURGE_REFUSED',
      `${paths.stackDir} has no ${paths.markerFile}, so it may not be a stack directory; not deleting it`);
  }
  await rm(paths.stackDir, { recursive: true, force: true });
  report(`purge: removed ${paths.stackDir}`);
}

/** Stops everything the stack started; safe to repeat. */
export async function stackDown(options: StackDownOptions = {}): Promise<void> {
  const { paths, report } = context(options);
  try {
    await Promise.all(serviceDaemons(paths).map((daemon) => stopDaemon(daemon, report)));
    for (const broker of allBrokers(paths)) {
      const pids = await Promise.all(LOCAL_NODES.map((node) => findNodePid(broker, node)));
      if (pids.every((pid) => pid === null) && broker.profile !== recordedLocalProfile(paths.stackDir)) continue;
      // Concurrently: a restart starts them together too, whichever node stopped last.
      await Promise.all(LOCAL_NODES.map((node) => stopNode(broker, node, report)));
      await killEpmd(broker, report);
    }
  } catch (error) {
    throw error instanceof StackError ? error
      : new StackError('STACK_STOP_FAILED', `stopping the stack failed: ${(error as Error).message}`, { cause: error });
  }
  if (options.purge) {
    await purgeStateDir(paths, report);
  }
}

/** Probes every component; never throws for a stopped component (it is reported as such). */
export async function stackStatus(options: StackOptions = {}): Promise<StackStatus> {
  const { paths } = context(options);
  const broker = brokerFor(paths, recordedLocalProfile(paths.stackDir));
  const [probes, services] = await Promise.all([
    Promise.all(LOCAL_NODES.map((node) => probeNode(broker, node))),
    Promise.all(serviceDaemons(paths).map((daemon) => daemonStatus(daemon))),
  ]);
  const nodes = probes.map(nodeStatus);
  return {
    stackDir: paths.stackDir,
    rabbitmq: broker.profile,
    healthy: [...nodes, ...services].every((component) => component.healthy),
    nodes,
    services,
  };
}
