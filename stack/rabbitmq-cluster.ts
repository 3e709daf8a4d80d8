// Forming the three-node cluster and making sure the stack's well-known user exists.

import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_NODES, LOCAL_USER } from '../src/config/local-stack.ts';
import type { LocalStackNode } from '../src/config/local-stack.ts';
import { StackError } from './errors.ts';
import type { StackPaths } from './paths.ts';
import { nodePaths } from './paths.ts';
import type { Reporter } from './progress.ts';
import { rabbitmqctl } from './rabbitmq-cli.ts';
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
export async function readClusterView(stackDir: string, nodeName: string): Promise<ClusterView> {
  const { stdout } = await rabbitmqctl(stackDir, nodeName, ['cluster_status', '--formatter', 'json']);
  return parseClusterStatus(stdout);
}

function seedNode(): LocalStackNode {
  const seed = LOCAL_NODES[0];
  if (seed === undefined) {
    throw new Error('LOCAL_NODES is empty');
  }
  return seed;
}

async function clusterStep(paths: StackPaths, node: LocalStackNode, args: string[], report: Reporter, signal?: AbortSignal): Promise<void> {
  report(`${node.name}: ${args.join(' ')}`);
  try {
    await rabbitmqctl(paths.stackDir, node.name, args, { timeoutMs: 180_000, signal });
  } catch (error) {
    throw new StackError('STACK_CLUSTER_FAILED',
      `${node.name}: ${args.join(' ')} failed: ${(error as Error).message}; log: ${nodePaths(paths, node).mainLog}`, { cause: error });
  }
}

/**
 * stop_app, join_cluster, start_app. The joins change the cluster schema, so they go one at a
 * time; stop_app (about 5 s: the management plugin waits for its stats collector) and start_app
 * do not, so those run together.
 */
async function joinCluster(paths: StackPaths, nodes: readonly LocalStackNode[], seed: LocalStackNode, report: Reporter): Promise<void> {
  await allOrAbort(nodes.map((node) => (signal) => clusterStep(paths, node, ['stop_app'], report, signal)));
  for (const node of nodes) {
    await clusterStep(paths, node, ['join_cluster', seed.name], report);
  }
  await allOrAbort(nodes.map((node) => (signal) => clusterStep(paths, node, ['start_app'], report, signal)));
}

async function waitUntilAllRunning(paths: StackPaths, seed: LocalStackNode, firstView: ClusterView, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let view = firstView; ; view = await readClusterView(paths.stackDir, seed.name)) {
    const notRunning = LOCAL_NODES.filter((node) => !view.running.includes(node.name)).map((node) => node.name);
    if (notRunning.length === 0) {
      return;
    }
    if (Date.now() >= deadline) {
      throw new StackError('STACK_CLUSTER_FAILED',
        `${seed.name} does not see ${notRunning.join(', ')} running after ${timeoutMs / 1000}s; logs: ${paths.logsDir}`);
    }
    await sleep(1_000);
  }
}

/** Joins every other node to the first one unless the first already counts it as a member. */
export async function ensureClusterFormed(paths: StackPaths, report: Reporter): Promise<void> {
  const seed = seedNode();
  const view = await readClusterView(paths.stackDir, seed.name);
  const absent = LOCAL_NODES.filter((node) => node !== seed
    && !view.members.includes(node.name) && !view.running.includes(node.name));
  if (absent.length > 0) {
    await joinCluster(paths, absent, seed, report);
  }
  const current = absent.length === 0 ? view : await readClusterView(paths.stackDir, seed.name);
  await waitUntilAllRunning(paths, seed, current, 60_000);
  report(`cluster: ${LOCAL_NODES.map((node) => node.name).join(', ')} running`);
}

/** The Debian package creates guest/guest on first boot; recreate it if someone deleted it. */
export async function ensureDefaultUser(paths: StackPaths, report: Reporter): Promise<void> {
  const seed = seedNode().name;
  const { username, password } = LOCAL_USER;
  try {
    const { stdout } = await rabbitmqctl(paths.stackDir, seed, ['list_users', '--formatter', 'json']);
    const users = JSON.parse(stdout) as { user: string }[];
    if (users.some((entry) => entry.user === username)) {
      report(`user: ${username} exists`);
      return;
    }
    report(`user: creating ${username} (administrator, full permissions on "/")`);
    await rabbitmqctl(paths.stackDir, seed, ['add_user', username, password]);
    await rabbitmqctl(paths.stackDir, seed, ['set_user_tags', username, 'administrator']);
    await rabbitmqctl(paths.stackDir, seed, ['set_permissions', '-p', '/', username, '.*', '.*', '.*']);
  } catch (error) {
    throw new StackError('STACK_USER_SETUP_FAILED', `could not check or create user ${username} on ${seed}: ${(error as Error).message}`, { cause: error });
  }
}
