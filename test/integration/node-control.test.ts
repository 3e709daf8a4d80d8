import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
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
    expect(stop).toMatchObject({ exitCode: 0, args: ['-n', node, 'stop_app'] });
    try {
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
    // sync_queue on a queue that does not exist: rabbitmqctl exits non-zero.
    await expect(control.syncQueue('rabbit1@localhost', '/', 'warren-missing-queue')).rejects.toMatchObject({
      code: 'CLI_FAILED',
      message: expect.stringMatching(/sync_queue -p \/ warren-missing-queue exited \d+: .+/),
    });
  });
});
