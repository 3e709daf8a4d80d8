// Pid files, liveness and termination of the stack's server processes (Linux /proc based).

import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError } from './errors.ts';

export async function readPidFile(pidFile: string): Promise<number | null> {
  try {
    const pid = Number.parseInt((await readFile(pidFile, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export async function writePidFile(pidFile: string, pid: number): Promise<void> {
  await writeFile(pidFile, `${pid}\n`);
}

export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

async function readProcFile(pid: number, name: string): Promise<string | null> {
  try {
    return await readFile(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * True if pid is a live (not zombie) process whose program is `programName` (basename of argv[0]),
 * so a stale pid file pointing at a recycled pid is not mistaken for our server.
 */
export async function isProcessAlive(pid: number, programName?: string): Promise<boolean> {
  const stat = await readProcFile(pid, 'stat');
  if (stat === null) {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') {
    return false;
  }
  if (programName === undefined) {
    return true;
  }
  const argv0 = (await readProcFile(pid, 'cmdline'))?.split('\0')[0] ?? '';
  return path.basename(argv0) === programName;
}

/** The pid recorded in pidFile if that process is still alive and is `programName`. */
export async function livePidFromFile(pidFile: string, programName: string): Promise<number | null> {
  const pid = await readPidFile(pidFile);
  return pid !== null && (await isProcessAlive(pid, programName)) ? pid : null;
}

/**
 * Finds a live `programName` process started with environment variable key=value. Used when a pid
 * file is missing: e.g. RabbitMQ deletes its pid file when a second boot of the same node fails.
 */
export async function findPidByEnvironment(programName: string, key: string, value: string, root?: string): Promise<number | null> {
  const wanted = `${key}=${value}`;
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || !(await isProcessAlive(pid, programName))) {
      continue;
    }
    const environ = await readProcFile(pid, 'environ');
    if (environ?.split('\0').includes(wanted) && (root === undefined || (await hasRoot(pid, root)))) {
      return pid;
    }
  }
  return null;
}

/**
 * Whether a process sees `root` as its `/` (its chroot): two stacks' chrooted nodes carry the same
 * in-root paths, so a path alone does not say which stack a process belongs to. Compared by device
 * and inode, since /proc/PID/root's link text depends on the reader's own root and mounts.
 */
export async function hasRoot(pid: number, root: string): Promise<boolean> {
  try {
    const [seen, wanted] = await Promise.all([stat(`/proc/${pid}/root/`), stat(root)]);
    return seen.dev === wanted.dev && seen.ino === wanted.ino;
  } catch {
    return false;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isProcessAlive(pid)) {
    if (Date.now() >= deadline) {
      return false;
    }
    await sleep(100);
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
      throw error;
    }
  }
}

/** SIGTERM, then SIGKILL if the process outlives the grace period. */
export async function terminateProcess(pid: number, graceMs: number): Promise<'terminated' | 'killed'> {
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, graceMs)) {
    return 'terminated';
  }
  signal(pid, 'SIGKILL');
  await waitForExit(pid, 5_000);
  return 'killed';
}

/** Whether something accepts TCP connections on host:port. */
export async function isPortListening(port: number, host: string): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = net.connect({ port, host });
    const finish = (listening: boolean): void => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(1_000, () => finish(true));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export interface PortClaim {
  readonly port: number;
  /** Who will listen there, for the error message, e.g. "rabbit2@localhost AMQP". */
  readonly owner: string;
}

/**
 * Fails before starting anything if another program holds a port we are about to bind, which
 * otherwise shows up much later as an obscure boot failure (e.g. a distro-started RabbitMQ on 5672).
 */
export async function assertPortsFree(claims: readonly PortClaim[], host: string): Promise<void> {
  const taken = [];
  for (const claim of claims) {
    if (await isPortListening(claim.port, host)) {
      taken.push(claim);
    }
  }
  if (taken.length > 0) {
    const list = taken.map((claim) => `${host}:${claim.port} (${claim.owner})`).join(', ');
    throw new StackError('STACK_PORT_IN_USE', `ports already in use by another program: ${list}`);
  }
}
