// Shared wiring for integration tests: the local stack's config and clients on it.
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { localStackConfig } from '../../src/config/load.ts';
import { LOCAL_CLUSTER_NAME, localStackDir } from '../../src/config/local-stack.ts';
import type { ClusterConfig } from '../../src/config/types.ts';

export const REPO_ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

export function localCluster(overrides: (cluster: ClusterConfig) => ClusterConfig = (c) => c): ClusterConfig {
  const cluster = localStackConfig(localStackDir(process.env, REPO_ROOT), { env: {} }).clusters.get(LOCAL_CLUSTER_NAME);
  if (!cluster) throw new Error('local stack config has no local cluster');
  return overrides(cluster);
}

/**
 * A real TCP listener on loopback that accepts connections and never answers: the behaviour of a
 * hung process or a black-holed route, for timeout tests.
 */
export async function blackHole(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
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

/** Polls until `check` returns true or the deadline passes; returns the last result. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
