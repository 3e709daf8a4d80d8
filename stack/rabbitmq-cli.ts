// Talking to the stack's nodes with rabbitmqctl: the Erlang cookie each profile's servers and CLI
// calls share, and the CLI call itself.

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { recordedLocalProfile } from '../src/config/local-stack.ts';
import type { Broker, BrokerCommandOptions } from './broker.ts';
import { brokerCommand, brokerFor } from './broker.ts';
import type { CommandResult } from './exec.ts';
import { stackPaths } from './paths.ts';

/** Creates the profile's `.erlang.cookie` once: random, owner-read-only as Erlang insists. */
export async function ensureErlangCookie(broker: Broker): Promise<'created' | 'exists'> {
  await mkdir(path.dirname(broker.cookieFile), { recursive: true, mode: 0o700 });
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const cookie = [...randomBytes(32)].map((byte) => alphabet[byte % alphabet.length]).join('');
  try {
    await writeFile(broker.cookieFile, cookie, { mode: 0o400, flag: 'wx' });
    return 'created';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return 'exists';
    }
    throw error;
  }
}

export type RabbitmqctlOptions = BrokerCommandOptions;

/** `rabbitmqctl -q -n NODE ...args` against the given profile's nodes (default timeout 60 s). */
export async function brokerRabbitmqctl(broker: Broker, nodeName: string, args: readonly string[], options: RabbitmqctlOptions = {}): Promise<CommandResult> {
  return await brokerCommand(broker, 'rabbitmqctl', ['-q', '-n', nodeName, ...args], options);
}

/** The broker the stack in `stackDir` runs now (the profile its last `up` recorded). */
export function runningBroker(stackDir: string): Broker {
  const paths = stackPaths({ ...process.env, WARREN_STACK_DIR: stackDir });
  return brokerFor(paths, recordedLocalProfile(paths.stackDir));
}

/** For tests and scripts: rabbitmqctl against whatever RabbitMQ the stack in `stackDir` runs. */
export async function rabbitmqctl(stackDir: string, nodeName: string, args: readonly string[], options: RabbitmqctlOptions = {}): Promise<CommandResult> {
  return await brokerRabbitmqctl(runningBroker(stackDir), nodeName, args, options);
}
