// The RabbitMQ the stack runs, per profile: where its programs and files are, how every server and
// CLI call is launched (on the host for 3.10; through unshare + chroot into Debian 13's root
// filesystem for 4.0), and building that root filesystem when it is missing.

import { access, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LocalBrokerCli, LocalRabbitmqProfile } from '../src/config/local-stack.ts';
import { isLocalRabbitmqProfile, LOCAL_RABBITMQ_PROFILES, localBrokerCli, recordedLocalProfile } from '../src/config/local-stack.ts';
import { StackError } from './errors.ts';
import type { CommandResult, RunOptions } from './exec.ts';
import { runCommand, runToLogFile } from './exec.ts';
import { ensurePackages } from './packages.ts';
import type { StackPaths } from './paths.ts';
import type { Reporter } from './progress.ts';

export type RabbitmqTool = 'rabbitmq-server' | 'rabbitmqctl' | 'rabbitmq-diagnostics' | 'rabbitmq-upgrade' | 'rabbitmq-queues' | 'rabbitmq-plugins';

export interface Broker {
  readonly profile: LocalRabbitmqProfile;
  /** What runs, in words, for progress and status lines. */
  readonly description: string;
  readonly cli: LocalBrokerCli;
  /** Host directory holding one directory per node (config, data, pid file). */
  readonly nodesDir: string;
  /** Host directory holding one log directory per node. */
  readonly logsDir: string;
  readonly cookieFile: string;
  /** Switch the cluster to the Khepri metadata store once formed. */
  readonly khepri: boolean;
}

/** The environment variable that picks the profile when `up` is given none. */
export const PROFILE_ENV = 'WARREN_STACK_RABBITMQ';

export function parseProfile(value: string, source: string): LocalRabbitmqProfile {
  if (!isLocalRabbitmqProfile(value)) {
    throw new StackError('STACK_USAGE', `${source}: unknown RabbitMQ profile ${JSON.stringify(value)}; use one of ${LOCAL_RABBITMQ_PROFILES.join(', ')}`);
  }
  return value;
}

/** `--rabbitmq`, else $WARREN_STACK_RABBITMQ, else what the stack last ran, else 3.10. */
export function chooseProfile(paths: StackPaths, requested: string | undefined, env: NodeJS.ProcessEnv): LocalRabbitmqProfile {
  if (requested !== undefined) return parseProfile(requested, '--rabbitmq');
  const fromEnv = env[PROFILE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return parseProfile(fromEnv, PROFILE_ENV);
  return recordedLocalProfile(paths.stackDir);
}

export function brokerFor(paths: StackPaths, profile: LocalRabbitmqProfile): Broker {
  const cli = localBrokerCli(paths.stackDir, profile);
  if (cli.rootDir === null) {
    // Where 3.10 kept its files before profiles existed, so an existing stack keeps its data.
    return {
      profile,
      description: 'RabbitMQ 3.10 (Debian 12 package on the host)',
      cli,
      nodesDir: paths.stackDir,
      logsDir: paths.logsDir,
      cookieFile: path.join(cli.hostErlangHome, '.erlang.cookie'),
      khepri: false,
    };
  }
  const khepri = profile === '4.0-khepri';
  return {
    profile,
    description: `RabbitMQ 4.0 (Debian 13 package in ${cli.rootDir}${khepri ? ', Khepri metadata store' : ''})`,
    cli,
    // Inside the root filesystem: the chrooted programs see no other part of the host.
    nodesDir: path.join(cli.rootDir, 'var/lib/warren', profile),
    logsDir: path.join(cli.rootDir, 'var/log/warren', profile),
    cookieFile: path.join(cli.hostErlangHome, '.erlang.cookie'),
    khepri,
  };
}

/** Every profile's broker: `down` stops whichever nodes run. */
export function allBrokers(paths: StackPaths): Broker[] {
  return LOCAL_RABBITMQ_PROFILES.map((profile) => brokerFor(paths, profile));
}

/** A host path as the broker's programs see it (inside the root filesystem for 4.0). */
export function brokerView(broker: Broker, hostPath: string): string {
  const root = broker.cli.rootDir;
  if (root === null) return hostPath;
  const relative = path.relative(root, hostPath);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new Error(`${hostPath} is outside the root filesystem ${root}`);
  }
  return `/${relative}`;
}

/**
 * Environment for the broker's servers and CLI calls: HOME holds the cookie. On the host, the
 * caller's environment less RABBITMQ_* (a developer's shell cannot point a call at another node's
 * files); in the root filesystem, nothing of the host's at all.
 */
export function brokerEnv(broker: Broker, baseEnv: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const common = {
    HOME: broker.cli.erlangHome,
    LC_ALL: 'C.UTF-8', // the Elixir CLI warns about (and mangles) non-UTF-8 locales
    // /etc/rabbitmq/rabbitmq-env.conf is ignored (/dev/null is not a regular file, so the scripts skip it).
    RABBITMQ_CONF_ENV_FILE: '/dev/null',
    ERL_EPMD_ADDRESS: '127.0.0.1', // if a call starts epmd, keep it on loopback
    ...broker.cli.env,
  };
  if (broker.cli.rootDir !== null) {
    return { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...common };
  }
  const inherited = Object.fromEntries(Object.entries(baseEnv).filter(([key]) => !key.startsWith('RABBITMQ_')));
  return { ...inherited, ...common };
}

/** argv of a program run in the broker's world (after the unshare + chroot prefix for 4.0). */
function argvIn(broker: Broker, program: string, args: readonly string[]): [string, ...string[]] {
  const [first, ...rest] = [...broker.cli.commandPrefix, program, ...args];
  return [first as string, ...rest];
}

/** argv of one RabbitMQ program of this broker: [file, ...args]. */
export function brokerArgv(broker: Broker, tool: RabbitmqTool, args: readonly string[]): [string, ...string[]] {
  return argvIn(broker, `${broker.cli.binDir}/${tool}`, args);
}

export type BrokerCommandOptions = Pick<RunOptions, 'timeoutMs' | 'signal'> & { readonly env?: NodeJS.ProcessEnv };

/** Runs a program in the broker's world (its root filesystem for 4.0), default timeout 60 s. */
export async function brokerExec(broker: Broker, program: string, args: readonly string[], options: BrokerCommandOptions = {}): Promise<CommandResult> {
  const [file, ...argv] = argvIn(broker, program, args);
  return await runCommand(file, argv, { env: options.env ?? brokerEnv(broker), timeoutMs: options.timeoutMs ?? 60_000, signal: options.signal });
}

/** Runs a RabbitMQ CLI tool of this broker. */
export async function brokerCommand(broker: Broker, tool: RabbitmqTool, args: readonly string[], options: BrokerCommandOptions = {}): Promise<CommandResult> {
  return await brokerExec(broker, `${broker.cli.binDir}/${tool}`, args, options);
}

async function exists(file: string): Promise<boolean> {
  return await access(file).then(() => true, () => false);
}

/** The RabbitMQ version directory the root filesystem holds, e.g. `4.0.5`. */
async function rootfsRabbitmqVersion(rootDir: string): Promise<string | null> {
  const entries = await readdir(path.join(rootDir, 'usr/lib/rabbitmq/lib')).catch(() => [] as string[]);
  const version = entries.map((entry) => /^rabbitmq_server-(.+)$/.exec(entry)?.[1]).find((found) => found !== undefined);
  return version ?? null;
}

/**
 * Makes sure the broker's programs exist: for 4.0, builds Debian 13's root filesystem with
 * mmdebstrap once (about 20-80 s and 240 MB; the packages come from Debian's archive), into a
 * temporary directory renamed into place, so an interrupted build never looks finished.
 */
export async function ensureBrokerInstalled(broker: Broker, paths: StackPaths, report: Reporter): Promise<void> {
  const rootDir = broker.cli.rootDir;
  if (rootDir === null) return;
  const server = path.join(rootDir, broker.cli.binDir, 'rabbitmq-server');
  if (await exists(server)) {
    report(`rabbitmq ${broker.profile}: root filesystem ${rootDir} (RabbitMQ ${(await rootfsRabbitmqVersion(rootDir)) ?? 'unknown version'})`);
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new StackError('STACK_PACKAGES_MISSING', `the ${broker.profile} profile builds and chroots into a root filesystem, which needs root; run the stack as root`);
  }
  await ensurePackages(paths.aptLog, report, [{ binary: '/usr/bin/mmdebstrap', debianPackage: 'mmdebstrap' }]);
  const building = `${rootDir}.partial`;
  const log = path.join(paths.logsDir, 'rootfs.log');
  await rm(building, { recursive: true, force: true });
  await mkdir(path.dirname(rootDir), { recursive: true });
  report(`rabbitmq ${broker.profile}: building a Debian 13 root filesystem with rabbitmq-server (mmdebstrap; log: ${log})`);
  const started = Date.now();
  try {
    await runToLogFile('/usr/bin/mmdebstrap', ['--variant=apt', '--include=rabbitmq-server,ca-certificates', 'trixie', building], log, {
      ...process.env,
      DEBIAN_FRONTEND: 'noninteractive',
    });
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw new StackError('STACK_PACKAGES_INSTALL_FAILED', `building the RabbitMQ 4.0 root filesystem failed; see ${log}`, { cause: error });
  }
  await rename(building, rootDir);
  const version = await rootfsRabbitmqVersion(rootDir);
  report(`rabbitmq ${broker.profile}: root filesystem ready in ${((Date.now() - started) / 1000).toFixed(0)} s (RabbitMQ ${version ?? 'unknown version'})`);
}
