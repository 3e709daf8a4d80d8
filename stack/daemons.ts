// HAProxy, Prometheus and Alertmanager share one life cycle: spawned detached with output to a log
// file, tracked by a pid file we write, ready when a probe says so, stopped with SIGTERM.

import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_HOST } from '../src/config/local-stack.ts';
import { StackError } from './errors.ts';
import { runCommand, spawnDaemon } from './exec.ts';
import { isExecutable } from './packages.ts';
import type { ServicePaths } from './paths.ts';
import { assertPortsFree, isProcessAlive, livePidFromFile, removeFile, terminateProcess, writePidFile } from './processes.ts';
import type { Reporter } from './progress.ts';
import type { ComponentStatus } from './status.ts';

export interface DaemonSpec {
  readonly name: string;
  readonly binary: string;
  readonly args: readonly string[];
  readonly paths: ServicePaths;
  /** Ports it listens on, by purpose, e.g. { web: 9090 }. */
  readonly ports: Readonly<Record<string, number>>;
  /** Whether it is serving, e.g. GET /-/ready answers 200. */
  readonly isReady: () => Promise<boolean>;
  /** Checks configuration before a start; throws STACK_CONFIG_INVALID. */
  readonly validate: () => Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

async function livePid(spec: DaemonSpec): Promise<number | null> {
  return await livePidFromFile(spec.paths.pidFile, path.basename(spec.binary));
}

async function waitUntilReady(spec: DaemonSpec, pid: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await spec.isReady())) {
    if (!(await isProcessAlive(pid))) {
      throw new StackError('STACK_SERVICE_START_FAILED', `${spec.name} exited during startup; log: ${spec.paths.logFile}`);
    }
    if (Date.now() >= deadline) {
      throw new StackError('STACK_SERVICE_START_FAILED',
        `${spec.name} (pid ${pid}) not ready after ${READY_TIMEOUT_MS / 1000}s; log: ${spec.paths.logFile}`);
    }
    await sleep(200);
  }
}

/** Starts the daemon unless its pid file names a live process, then waits until it is ready. */
export async function ensureDaemon(spec: DaemonSpec, report: Reporter): Promise<void> {
  const running = await livePid(spec);
  if (running !== null) {
    await waitUntilReady(spec, running);
    report(`${spec.name}: already running (pid ${running})`);
    return;
  }
  await spec.validate();
  const claims = Object.entries(spec.ports).map(([purpose, port]) => ({ port, owner: `${spec.name} ${purpose}` }));
  await assertPortsFree(claims, LOCAL_HOST);
  await mkdir(spec.paths.dir, { recursive: true });
  await mkdir(path.dirname(spec.paths.logFile), { recursive: true });
  report(`${spec.name}: starting (log: ${spec.paths.logFile})`);
  const pid = await spawnDaemon(spec.binary, spec.args, spec.paths.logFile);
  await writePidFile(spec.paths.pidFile, pid);
  await waitUntilReady(spec, pid);
  report(`${spec.name}: ready (pid ${pid})`);
}

export async function stopDaemon(spec: DaemonSpec, report: Reporter): Promise<void> {
  const pid = await livePid(spec);
  if (pid === null) {
    report(`${spec.name}: not running`);
  } else {
    report(`${spec.name}: stopping (pid ${pid})`);
    const outcome = await terminateProcess(pid, 15_000);
    report(`${spec.name}: ${outcome === 'killed' ? 'killed after SIGTERM timed out' : 'stopped'}`);
  }
  await removeFile(spec.paths.pidFile);
}

export async function daemonStatus(spec: DaemonSpec): Promise<ComponentStatus> {
  const pid = await livePid(spec);
  const healthy = pid !== null && (await spec.isReady());
  return {
    name: spec.name,
    running: pid !== null,
    healthy,
    pid,
    ports: { ...spec.ports },
    detail: pid === null ? 'not running' : healthy ? 'ready' : 'running but not ready',
  };
}

export interface RepoConfigCheck {
  configFile: string;
  /** Differences from src/config/local-stack.ts, as readable lines. */
  findDrift: (configText: string) => string[];
  /** The service's own checker (promtool, amtool), skipped when it is not installed. */
  tool: string;
  toolArgs: readonly string[];
  cwd?: string;
}

/** A repo config must agree with the stack's topology and pass the service's own checker. */
export async function validateRepoConfig(check: RepoConfigCheck): Promise<void> {
  const drift = check.findDrift(await readFile(check.configFile, 'utf8'));
  if (drift.length > 0) {
    throw new StackError('STACK_CONFIG_INVALID', `${check.configFile} disagrees with src/config/local-stack.ts: ${drift.join('; ')}`);
  }
  if (!(await isExecutable(check.tool))) return;
  try {
    await runCommand(check.tool, check.toolArgs, { cwd: check.cwd });
  } catch (error) {
    throw new StackError('STACK_CONFIG_INVALID', `${path.basename(check.tool)} rejects ${check.configFile}: ${(error as Error).message}`, { cause: error });
  }
}
