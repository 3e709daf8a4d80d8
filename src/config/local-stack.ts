// The loopback topology of the local stack (`npm run stack`). The stack starts services on these
// ports and warren's configuration defaults point at them, so both read this one description.

import { readFileSync } from 'node:fs';

export interface LocalStackNode {
  /** Erlang node name, e.g. rabbit1@localhost. */
  readonly name: string;
  readonly index: number;
  readonly amqpPort: number;
  readonly managementPort: number;
  readonly prometheusPort: number;
  readonly distributionPort: number;
}

export const LOCAL_HOST = '127.0.0.1';

export const LOCAL_NODES: readonly LocalStackNode[] = [1, 2, 3].map((index) => ({
  name: `rabbit${index}@localhost`,
  index,
  amqpPort: 5671 + index, // 5672, 5673, 5674
  managementPort: 15671 + index, // 15672, 15673, 15674
  prometheusPort: 15691 + index, // 15692, 15693, 15694
  distributionPort: 25671 + index, // 25672, 25673, 25674
}));

export const LOCAL_PORTS = {
  haproxyAmqp: 5670,
  haproxyManagement: 15670,
  haproxyStats: 8404,
  prometheus: 9090,
  alertmanager: 9093,
  exporter: 9419,
  remediator: 9420,
} as const;

/** Default credentials of the local stack's broker (the Debian package's default user). */
export const LOCAL_USER = { username: 'guest', password: 'guest' } as const;

export const LOCAL_CLUSTER_NAME = 'local';

/** Where the local stack keeps all its state unless WARREN_STACK_DIR says otherwise. */
export function localStackDir(env: NodeJS.ProcessEnv, repoRoot: string): string {
  return env.WARREN_STACK_DIR ?? `${repoRoot}/.stack`;
}

/** The bearer token the local Alertmanager presents to `warren remediator` (written by `npm run stack -- up`). */
export function localRemediatorTokenFile(stackDir: string): string {
  return `${stackDir}/remediator.token`;
}

/** HOME holding the shared Erlang cookie, as seen by every node and every CLI call. */
export function localErlangHome(stackDir: string): string {
  return `${stackDir}/home`;
}

/**
 * Which RabbitMQ the local stack's three nodes run. `3.10` is Debian 12's package on the host;
 * `4.0` is Debian 13's package in a root filesystem under the stack directory (it needs a newer
 * glibc than the host has), and `4.0-khepri` the same with the Khepri metadata store switched on.
 */
export const LOCAL_RABBITMQ_PROFILES = ['3.10', '4.0', '4.0-khepri'] as const;
export type LocalRabbitmqProfile = (typeof LOCAL_RABBITMQ_PROFILES)[number];
export const DEFAULT_LOCAL_RABBITMQ_PROFILE: LocalRabbitmqProfile = '3.10';

export function isLocalRabbitmqProfile(value: string): value is LocalRabbitmqProfile {
  return (LOCAL_RABBITMQ_PROFILES as readonly string[]).includes(value);
}

/** Written by `npm run stack -- up`: the profile whose nodes the stack runs. */
export function localProfileFile(stackDir: string): string {
  return `${stackDir}/rabbitmq-profile`;
}

/** The profile recorded by the last `up`, or the default when the stack never ran. */
export function recordedLocalProfile(stackDir: string): LocalRabbitmqProfile {
  let recorded: string;
  try {
    recorded = readFileSync(localProfileFile(stackDir), 'utf8').trim();
  } catch {
    return DEFAULT_LOCAL_RABBITMQ_PROFILE;
  }
  return isLocalRabbitmqProfile(recorded) ? recorded : DEFAULT_LOCAL_RABBITMQ_PROFILE;
}

/** How the CLI reaches one profile's nodes: program location, argv prefix, environment. */
export interface LocalBrokerCli {
  /** Where the RabbitMQ scripts are, as the programs see it. */
  readonly binDir: string;
  /** argv put before every RabbitMQ program: empty on the host, unshare + chroot for a root filesystem. */
  readonly commandPrefix: readonly string[];
  /** HOME holding the cookie, as the programs see it. */
  readonly erlangHome: string;
  /** The same directory on the host. */
  readonly hostErlangHome: string;
  /** Variables the CLI needs besides HOME (the root filesystem's own epmd port). */
  readonly env: Readonly<Record<string, string>>;
  /** Host path of the root filesystem; null on the host. */
  readonly rootDir: string | null;
  readonly epmdPort: number;
}

/** Debian 13's RabbitMQ 4.0 lives here; both 4.0 profiles share it. */
export function localRootfsDir(stackDir: string): string {
  return `${stackDir}/rootfs/trixie`;
}

/** A port of its own, so the 4.0 nodes never register with (or meet) a host epmd on 4369. */
export const LOCAL_ROOTFS_EPMD_PORT = 4371;

export function localBrokerCli(stackDir: string, profile: LocalRabbitmqProfile): LocalBrokerCli {
  if (profile === '3.10') {
    return {
      binDir: '/usr/lib/rabbitmq/bin',
      commandPrefix: [],
      erlangHome: localErlangHome(stackDir),
      hostErlangHome: localErlangHome(stackDir),
      env: {},
      rootDir: null,
      epmdPort: 4369,
    };
  }
  const rootDir = localRootfsDir(stackDir);
  const erlangHome = '/var/lib/warren/home';
  return {
    binDir: '/usr/lib/rabbitmq/bin',
    // A private mount namespace with its own /proc (RabbitMQ reads memory and pids there), then chroot.
    commandPrefix: ['/usr/bin/unshare', '--mount', '--propagation', 'private', `--mount-proc=${rootDir}/proc`, '/usr/sbin/chroot', rootDir],
    erlangHome,
    hostErlangHome: `${rootDir}${erlangHome}`,
    // The CLI's own distribution listener stays on loopback too, like the servers'.
    env: { ERL_EPMD_PORT: String(LOCAL_ROOTFS_EPMD_PORT), RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}' },
    rootDir,
    epmdPort: LOCAL_ROOTFS_EPMD_PORT,
  };
}
