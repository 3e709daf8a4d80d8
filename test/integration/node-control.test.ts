import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ClusterConfig } from '../../src/config/types.ts';
import { ManagementClient } from '../../src/rabbitmq/management/client.ts';
import { NodeControl } from '../../src/rabbitmq/node-control.ts';
import { localCluster, waitFor } from './support.ts';

const cluster = localCluster();
const control = new NodeControl(cluster);
const api = new ManagementClient(cluster);
afterAll(() => api.close());

async function runningInApi(node: string): Promise<boolean | undefined> {
  const { data } = await api.nodes();
  return data.find((n) => n.name === node)?.running;
}

describe('node control against the real cluster', () => {
  const node = 'rabbit3@localhost';

  it('stops and starts the RabbitMQ application on a node (stop_app, start_app)', async () => {
    expect(await control.isRunning(node)).toBe(true);
    const [stop] = await control.stopApp(node);
    try {
      // After the site's command prefix, if any (the 4.0 stack runs its CLI in a chroot).
      expect(stop?.exitCode).toBe(0);
      expect(stop?.args.slice(-3)).toEqual(['-n', node, 'stop_app']);
      expect(await control.isRunning(node)).toBe(false);
      expect(await waitFor(async () => (await runningInApi(node)) === false, 30_000)).toBe(true);
    } finally {
      await control.startApp(node);
      await control.awaitStartup(node, 120);
    }
    expect(await control.isRunning(node)).toBe(true);
    expect(await waitFor(async () => (await runningInApi(node)) === true, 30_000)).toBe(true);
  });

  it('reads structured status from the CLI', async () => {
    const status = await control.clusterStatus('rabbit1@localhost');
    expect(status).toMatchObject({ running_nodes: expect.arrayContaining(cluster.nodes.map((n) => n.name)) });
  });

  it('lists queues with the CLI, matching the management API', async () => {
    const name = 'warren-node-control-test';
    await api.request(`/api/queues/%2F/${name}`, { method: 'PUT', body: { durable: true }, schema: z.unknown() });
    try {
      const rows = await control.listQueues('rabbit1@localhost', '/', ['name', 'messages']);
      expect(rows).toContainEqual({ name, messages: 0 });
    } finally {
      await api.request(`/api/queues/%2F/${name}`, { method: 'DELETE', schema: z.unknown() });
    }
  });

  it.each([
    ['an injection attempt', 'rabbit1@localhost; touch /tmp/warren-pwned', 'INVALID_ARGUMENT'],
    ['an option in disguise', '--help', 'INVALID_ARGUMENT'],
    ['a well-formed but unconfigured node', 'rabbit9@localhost', 'UNKNOWN_NODE'],
  ])('refuses %s as a node name', async (_what, name, code) => {
    await expect(control.stopApp(name)).rejects.toMatchObject({ code });
    await expect(control.isRunning(name)).rejects.toMatchObject({ code });
  });

  it('reports a failing command with its exit code and the CLI\'s own words', async () => {
    const { capabilities } = await api.identify();
    // With mirroring, sync_queue on a queue that does not exist exits non-zero with its reason on the
    // line after `Error:`; without (4.0+), the command itself is missing and the error says so.
    const expected = capabilities.mirrorSync
      ? /sync_queue -p \/ warren-missing-queue exited \d+: Error:\n\S*not_found/
      : /sync_queue -p \/ warren-missing-queue exited \d+: this rabbitmqctl has no sync_queue command/;
    await expect(control.syncQueue('rabbit1@localhost', '/', 'warren-missing-queue')).rejects.toMatchObject({
      code: 'CLI_FAILED',
      message: expect.stringMatching(expected),
      result: expect.objectContaining({ exitCode: expect.any(Number) }),
    });
  });

  it('passes the configured CLI environment to the CLI', async () => {
    const first = cluster.nodes[0]?.name as string;
    const withEpmdPort = (port: string) => (c: ClusterConfig): ClusterConfig => ({
      ...c,
      nodes: c.nodes.map((n) => ({ ...n, cli: { ...n.cli, env: { ...n.cli.env, ERL_EPMD_PORT: port } } })),
    });
    // A port held by a listener that hangs up at once: not epmd, and not free for the CLI to start
    // an epmd of its own there (it would outlive the test).
    const notEpmd = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
    await once(notEpmd, 'listening');
    try {
      const port = String((notEpmd.address() as { port: number }).port);
      const wrong = new NodeControl(localCluster(withEpmdPort(port)));
      expect(await wrong.isRunning(first)).toBe(false);
      const error = await wrong.status(first).then(() => undefined, (e: unknown) => e as Error);
      expect(error).toMatchObject({ code: 'CLI_FAILED' });
      expect(error?.message).toContain(`rabbitmqctl -n ${first} status --formatter json exited `);
      expect(error?.message).toMatch(/ exited \d+: \S/);
    } finally {
      notEpmd.close();
    }
    // The port the stack's nodes register with (4369, epmd's default, unless the profile sets one).
    const right = new NodeControl(localCluster(withEpmdPort(cluster.nodes[0]?.cli.env.ERL_EPMD_PORT ?? '4369')));
    expect(await right.isRunning(first)).toBe(true);
  });
});
