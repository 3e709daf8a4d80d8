// The Debian programs the stack runs, and installing them when they are missing.

import { access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { LocalRabbitmqProfile } from '../src/config/local-stack.ts';
import { StackError } from './errors.ts';
import { runToLogFile } from './exec.ts';
import type { Reporter } from './progress.ts';

/**
 * The real RabbitMQ scripts: /usr/sbin/rabbitmq* are wrappers that `su` to the rabbitmq user,
 * who cannot write our root-owned state directory.
 */
const RABBITMQ_SCRIPTS = '/usr/lib/rabbitmq/bin';

export const BINARIES = {
  rabbitmqServer: `${RABBITMQ_SCRIPTS}/rabbitmq-server`,
  rabbitmqctl: `${RABBITMQ_SCRIPTS}/rabbitmqctl`,
  rabbitmqDiagnostics: `${RABBITMQ_SCRIPTS}/rabbitmq-diagnostics`,
  haproxy: '/usr/sbin/haproxy',
  prometheus: '/usr/bin/prometheus',
  promtool: '/usr/bin/promtool',
  alertmanager: '/usr/bin/prometheus-alertmanager',
  amtool: '/usr/bin/amtool',
} as const;

export interface RequiredTool {
  binary: string;
  debianPackage: string;
}

/** What `up` cannot do without whatever RabbitMQ it runs, and the Debian package providing each. */
const SERVICES: readonly RequiredTool[] = [
  { binary: BINARIES.prometheus, debianPackage: 'prometheus' },
  { binary: BINARIES.alertmanager, debianPackage: 'prometheus-alertmanager' },
  { binary: BINARIES.haproxy, debianPackage: 'haproxy' },
];

/** RabbitMQ 3.10 comes from the host's packages; 4.0 from a root filesystem built by the stack. */
const HOST_RABBITMQ: readonly RequiredTool[] = [
  { binary: BINARIES.rabbitmqServer, debianPackage: 'rabbitmq-server' },
  { binary: BINARIES.rabbitmqctl, debianPackage: 'rabbitmq-server' },
];

export function requiredPackages(profile: LocalRabbitmqProfile): readonly RequiredTool[] {
  return profile === '3.10' ? [...HOST_RABBITMQ, ...SERVICES] : SERVICES;
}

const REQUIRED = requiredPackages('3.10');

export async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** First executable called `name` on PATH, else the first existing fallback. */
export async function findExecutable(name: string, fallbacks: readonly string[] = []): Promise<string | null> {
  const onPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of [...onPath, ...fallbacks]) {
    if (await isExecutable(candidate)) {
      return candidate;
    }
  }
  return null;
}

export async function missingPackages(required: readonly RequiredTool[] = REQUIRED): Promise<string[]> {
  const missing = new Set<string>();
  for (const { binary, debianPackage } of required) {
    if (!(await isExecutable(binary))) {
      missing.add(debianPackage);
    }
  }
  return [...missing];
}

/** Installs whatever is missing when running as root; otherwise says what to install. */
export async function ensurePackages(aptLog: string, report: Reporter, required: readonly RequiredTool[] = REQUIRED): Promise<void> {
  const missing = await missingPackages(required);
  if (missing.length === 0) {
    report('packages: all present');
    return;
  }
  const installCommand = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new StackError('STACK_PACKAGES_MISSING',
      `missing Debian packages: ${missing.join(', ')}; install them as root (${installCommand}) or run the stack as root`);
  }
  await mkdir(path.dirname(aptLog), { recursive: true });
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    report(`packages: apt-get update (log: ${aptLog})`);
    await runToLogFile('apt-get', ['update'], aptLog, env);
    report(`packages: installing Debian packages: ${missing.join(' ')}`);
    await runToLogFile('apt-get', ['install', '-y', '--no-install-recommends', ...missing], aptLog, env);
  } catch (error) {
    throw new StackError('STACK_PACKAGES_INSTALL_FAILED', `${installCommand} failed; see ${aptLog}`, { cause: error });
  }
  const stillMissing = await missingPackages(required);
  if (stillMissing.length > 0) {
    throw new StackError('STACK_PACKAGES_INSTALL_FAILED',
      `installed, yet still missing programs from: ${stillMissing.join(', ')}; see ${aptLog}`);
  }
  report('packages: installed');
}
