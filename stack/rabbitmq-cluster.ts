// Forming the three-node cluster and making sure the stack's well-known user exists.

import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_NODES, LOCAL_USER } from '../src/config/local-stack.ts';
import type { LocalStackNode } from '../src/config/local-stack.ts';
import { StackError } from './errors.ts';
import type { Broker } from './broker.ts';
import { nodePaths } from './paths.ts';
import type { Reporter } from './progress.ts';
import { brokerRabbitmqctl } from './rabbitmq-cli.ts';
import { allOrAbort } from './tasks.ts';

export interface ClusterView {
  /** Nodes the queried node considers cluster members (disc and RAM). */
  readonly members: readonly string[];
  /** Members whose rabbit app is running. */
  readonly running: readonly string[];
}

export function parseClusterStatus(json: string): ClusterView {
  const parsed = JSON.parse(json) as { disk_nodes?: string[]; ram_nodes?: string[]; running_nodes?: string[] };
  return {
    members: [...(parsed.disk_nodes ?? []), ...(parsed.ram_nodes ?? [])].sort(),
    running: [...(parsed.running_nodes ?? [])].sort(),
  };
}

/** Needs the rabbit app running on nodeName (the CLI refuses otherwise). */
export async function readClusterView(broker: Broker, nodeName: string): Promise<ClusterView> {
  const { stdout } = await brokerRabbitmqctl(broker, nodeName, ['cluster_status', '--formatter', 'json']);
  return parseClusterStatus(stdout);
}

function seedNode(): LocalStackNode {
  const seed = LOCAL_NODES[0];
  if (seed === undefined) {
    throw new Error('LOCAL_NODES is empty');
  }
  return seed;
}

async function clusterStep(broker: Broker, node: LocalStackNode, args: string[], report: Reporter, signal?: AbortSignal): Promise<void> {
  report(`${node.name}: ${args.join(' ')}`);
  try {
    await brokerRabbitmqctl(broker, node.name, args, { timeoutMs: 180_000, signal });
  } catch (error) {
    throw new StackError('STACK_CLUSTER_FAILED',
      `${node.name}: ${args.join(' ')} failed: ${(error as Error).message}; log: ${nodePaths(broker, node).mainLog}`, { cause: error });
  }
}

/**
 * stop_app, join_cluster, start_app. The joins change the cluster schema, so they go one at a
 * time; stop_app (about 5 s: the management plugin waits for its stats collector) and start_app
 * do not, so those run together.
 */
async function joinCluster(broker: Broker, nodes: readonly LocalStackNode[], seed: LocalStackNode, report: Reporter): Promise<void> {
  await allOrAbort(nodes.map((node) => (signal) => clusterStep(broker, node, ['stop_app'], report, signal)));
  for (const node of nodes) {
    await clusterStep(broker, node, ['join_cluster', seed.name], report);
  }
  await allOrAbort(nodes.map((node) => (signal) => clusterStep(broker, node, ['start_app'], report, signal)));
}

async function waitUntilAllRunning(broker: Broker, seed: LocalStackNode, firstView: ClusterView, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let view = firstView; ; view = await readClusterView(broker, seed.name)) {
    const notRunning = LOCAL_NODES.filter((node) => !view.running.includes(node.name)).map((node) => node.name);
    if (notRunning.length === 0) {
      return;
    }
    if (Date.now() >= deadline) {
      throw new StackError('STACK_CLUSTER_FAILED',
        `${seed.name} does not see ${notRunning.join(', ')} running after ${timeoutMs / 1000}s; logs: ${broker.logsDir}`);
    }
    await sleep(1_000);
  }
}

/** Joins every other node to the first one unless the first already counts it as a member. */
export async function ensureClusterFormed(broker: Broker, report: Reporter): Promise<void> {
  const seed = seedNode();
  const view = await readClusterView(broker, seed.name);
  const absent = LOCAL_NODES.filter((node) => node !== seed
    && !view.members.includes(node.name) && !view.running.includes(node.name));
  if (absent.length > 0) {
    await joinCluster(broker, absent, seed, report);
  }
  const current = absent.length === 0 ? view : await readClusterView(broker, seed.name);
  await waitUntilAllRunning(broker, seed, current, 60_000);
  report(`cluster: ${LOCAL_NODES.map((node) => node.name).join(', ')} running`);
}

/** The Debian package creates guest/guest on first boot; recreate it if someone deleted it. */
export async function ensureDefaultUser(broker: Broker, report: Reporter): Promise<void> {
  const seed = seedNode().name;
  const { username, password } = LOCAL_USER;
  try {
    const { stdout } = await brokerRabbitmqctl(broker, seed, ['list_users', '--formatter', 'json']);
    const users = JSON.parse(stdout) as { user: string }[];
    if (users.some((entry) => entry.user === username)) {
      report(`user: ${username} exists`);
      return;
    }
    report(`user: creating ${username} (administrator, full permissions on "/")`);
    await brokerRabbitmqctl(broker, seed, ['add_user', username, password]);
    await brokerRabbitmqctl(broker, seed, ['set_user_tags', username, 'administrator']);
    await brokerRabbitmqctl(broker, seed, ['set_permissions', '-p', '/', username, '.*', '.*', '.*']);
  } catch (error) {
    throw new StackError('STACK_USER_SETUP_FAILED', `could not check or create user ${username} on ${seed}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The 4.0-khepri profile: switch the formed cluster's metadata store to Khepri (the default of
 * 4.2+, the only store of 4.3). One-way, and a no-op once enabled.
 */
export async function ensureMetadataStore(broker: Broker, report: Reporter): Promise<void> {
  if (!broker.khepri) {
    return;
  }
  const seed = seedNode().name;
  try {
    const { stdout } = await brokerRabbitmqctl(broker, seed, ['list_feature_flags', 'name', 'state', '--formatter', 'json']);
    const flags = JSON.parse(stdout) as { name: string; state: string }[];
    if (flags.find((flag) => flag.name === 'khepri_db')?.state === 'enabled') {
      report('metadata store: Khepri (khepri_db enabled)');
      return;
    }
    report('metadata store: enabling Khepri (rabbitmqctl enable_feature_flag --opt-in khepri_db)');
    await brokerRabbitmqctl(broker, seed, ['enable_feature_flag', '--opt-in', 'khepri_db'], { timeoutMs: 180_000 });
    report('metadata store: Khepri enabled');
  } catch (error) {
    throw new StackError('STACK_CLUSTER_FAILED', `could not switch ${seed}'s cluster to Khepri: ${(error as Error).message}`, { cause: error });
  }
}
