// Shared wiring for integration tests: the local stack's config and clients on it.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { localStackConfig } from '../../src/config/load.ts';
import { LOCAL_CLUSTER_NAME, localStackDir } from '../../src/config/local-stack.ts';
import { z } from 'zod';
import type { ClusterConfig } from '../../src/config/types.ts';
import type { Capabilities } from '../../src/rabbitmq/capabilities.ts';
import { ManagementClient } from '../../src/rabbitmq/management/client.ts';

export const REPO_ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

export function localCluster(overrides: (cluster: ClusterConfig) => ClusterConfig = (c) => c): ClusterConfig {
  const cluster = localStackConfig(localStackDir(process.env, REPO_ROOT), { env: {} }).clusters.get(LOCAL_CLUSTER_NAME);
  if (!cluster) throw new Error('local stack config has no local cluster');
  return overrides(cluster);
}

/**
 * A TCP server on a free loopback port. Every connection it accepts, and every socket handed to
 * `track`, is ended by close(); their errors are ignored (the tests break connections on purpose).
 */
async function loopbackServer(onConnection: (socket: Socket, track: (socket: Socket) => void) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };
  const server: Server = createServer((socket) => {
    track(socket);
    onConnection(socket, track);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * A real TCP listener on loopback that accepts connections and never answers: the behaviour of a
 * hung process or a black-holed route, for timeout tests.
 */
export function blackHole(): Promise<{ port: number; close: () => Promise<void> }> {
  return loopbackServer(() => undefined);
}

/**
 * A real TCP proxy on loopback in front of `target` (an HTTP server) that records each HTTP request
 * line passing through ("GET /api/overview") and holds every piece of a request `delayMs` before
 * forwarding it, so that a request is surely still in flight while another arrives.
 */
export async function countingProxy(target: URL, delayMs: number): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const { port, close } = await loopbackServer((client, track) => {
    const upstream = connect(Number(target.port), target.hostname);
    track(upstream);
    // Whole lines only: a request line split across two pieces is counted once it is complete.
    let partial = '';
    client.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('latin1')).split('\r\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const request = /^(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP\/1\.1$/.exec(line);
        if (request) requests.push(`${request[1]} ${request[2]}`);
      }
      setTimeout(() => !upstream.destroyed && upstream.write(chunk), delayMs);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return { url: `http://127.0.0.1:${port}`, requests, close };
}

/** Polls until `check` returns true or the deadline passes; returns the last result. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The cluster from a config file, with the CLI settings the local stack's running profile needs. */
export function withLocalCli(cluster: ClusterConfig): ClusterConfig {
  const stack = localCluster();
  return { ...cluster, nodes: cluster.nodes.map((node) => ({ ...node, cli: stack.nodes.find((candidate) => candidate.name === node.name)?.cli ?? node.cli })) };
}

export interface BrokerFacts {
  readonly version: string;
  readonly capabilities: Capabilities;
  /** The Khepri metadata store is on (khepri_db enabled): no Mnesia partitions. */
  readonly khepri: boolean;
}

/**
 * What the running broker can do, for tests that gate on capabilities rather than on the
 * RabbitMQ version (mirroring exists only on 3.x; the 4.0 replication tests use quorum queues
 * and streams).
 */
export async function brokerFacts(): Promise<BrokerFacts> {
  const api = new ManagementClient(localCluster());
  try {
    const identity = await api.identify();
    const flags = await api.request('/api/feature-flags', { schema: z.array(z.object({ name: z.string(), state: z.string() })) });
    return {
      version: identity.version.text,
      capabilities: identity.capabilities,
      khepri: flags.data.some((flag) => flag.name === 'khepri_db' && flag.state === 'enabled'),
    };
  } finally {
    await api.close();
  }
}
