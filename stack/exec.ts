// Child processes, always as a program plus an argument array: no shell ever parses our input.

import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Aborting kills the program. */
  readonly signal?: AbortSignal;
}

/** A program that exited non-zero, timed out or could not be started. */
export class CommandFailure extends Error {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(command: string, exitCode: number | null, stdout: string, stderr: string, cause?: unknown) {
    const output = (stderr.trim() || stdout.trim()).split('\n').slice(-5).join('\n');
    super(`${command} failed${exitCode === null ? '' : ` (exit ${exitCode})`}${output ? `: ${output}` : ''}`, { cause });
    this.name = 'CommandFailure';
    this.command = command;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

function describe(file: string, args: readonly string[]): string {
  return [file, ...args].join(' ');
}

export async function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, [...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      signal: options.signal,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    });
    return { stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string; killed?: boolean; message?: string };
    const exitCode = typeof failed.code === 'number' ? failed.code : null;
    const stopped = options.signal?.aborted ? 'aborted' : 'timed out';
    const stderr = failed.killed ? `${stopped}\n${failed.stderr ?? ''}` : (failed.stderr || failed.message || '');
    throw new CommandFailure(describe(file, args), exitCode, failed.stdout ?? '', stderr, error);
  }
}

export async function commandSucceeds(file: string, args: readonly string[], options: RunOptions = {}): Promise<boolean> {
  try {
    await runCommand(file, args, options);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a program with stdout and stderr appended to a log file, resolving when it exits.
 * Waits for 'exit' rather than 'close': a program that forks a daemon (rabbitmq-server -detached)
 * may hand its stdio to that daemon.
 */
export async function runToLogFile(file: string, args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const logFd = openSync(logFile, 'a');
  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(file, [...args], { env: env ?? process.env, stdio: ['ignore', logFd, logFd] });
      child.once('error', reject);
      child.once('exit', (code) => resolve(code));
    });
    if (exitCode !== 0) {
      throw new CommandFailure(describe(file, args), exitCode, '', `see ${logFile}`);
    }
  } finally {
    closeSync(logFd);
  }
}

/**
 * Starts a long-running server in its own session with output appended to a log file, and lets
 * this process exit without it. Returns the server's pid.
 */
export async function spawnDaemon(file: string, args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): Promise<number> {
  const logFd = openSync(logFile, 'a');
  try {
    const child = spawn(file, [...args], { env: env ?? process.env, stdio: ['ignore', logFd, logFd], detached: true });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid ?? -1));
    });
    child.unref();
    return pid;
  } finally {
    closeSync(logFd);
  }
}
