// Talking to the stack's nodes with rabbitmqctl: the shared Erlang cookie and the environment
// every CLI call needs to authenticate against the servers.

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { localErlangHome } from '../src/config/local-stack.ts';
import type { CommandResult, RunOptions } from './exec.ts';
import { runCommand } from './exec.ts';
import { BINARIES } from './packages.ts';
import type { StackPaths } from './paths.ts';

/** Creates `<stack>/home/.erlang.cookie` once: random, owner-read-only as Erlang insists. */
export async function ensureErlangCookie(paths: StackPaths): Promise<'created' | 'exists'> {
  await mkdir(paths.erlangHome, { recursive: true, mode: 0o700 });
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const cookie = [...randomBytes(32)].map((byte) => alphabet[byte % alphabet.length]).join('');
  try {
    await writeFile(paths.cookieFile, cookie, { mode: 0o400, flag: 'wx' });
    return 'created';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return 'exists';
    }
    throw error;
  }
}

/**
 * Environment for RabbitMQ's CLI tools (and the basis of the servers' environment): HOME holds
 * the cookie. Inherited RABBITMQ_* variables are dropped so a developer's shell cannot point a
 * call at another node's files, and /etc/rabbitmq/rabbitmq-env.conf is ignored (/dev/null is
 * not a regular file, so the scripts skip it).
 */
export function rabbitmqctlEnv(stackDir: string, baseEnv: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(baseEnv).filter(([key]) => !key.startsWith('RABBITMQ_')));
  return {
    ...inherited,
    HOME: localErlangHome(stackDir),
    LC_ALL: 'C.UTF-8', // the Elixir CLI warns about (and mangles) non-UTF-8 locales
    RABBITMQ_CONF_ENV_FILE: '/dev/null',
    ERL_EPMD_ADDRESS: '127.0.0.1', // if a call starts epmd, keep it on loopback
  };
}

export type RabbitmqctlOptions = Pick<RunOptions, 'timeoutMs' | 'signal'>;

/** `rabbitmqctl -q -n NODE ...args` with the stack's HOME (default timeout 60 s). */
export async function rabbitmqctl(stackDir: string, nodeName: string, args: readonly string[], options: RabbitmqctlOptions = {}): Promise<CommandResult> {
  return await runCommand(BINARIES.rabbitmqctl, ['-q', '-n', nodeName, ...args], {
    env: rabbitmqctlEnv(stackDir),
    timeoutMs: options.timeoutMs ?? 60_000,
    signal: options.signal,
  });
}
