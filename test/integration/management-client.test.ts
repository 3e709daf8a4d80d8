import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.ts';
import { ManagementApiError, ManagementClient, ManagementUnavailableError } from '../../src/rabbitmq/management/client.ts';
import { NodeControl } from '../../src/rabbitmq/node-control.ts';
import { blackHole, localCluster, waitFor } from './support.ts';

const cluster = localCluster();
const control = new NodeControl(cluster);
const clients: ManagementClient[] = [];
function client(c = cluster): ManagementClient {
  const created = new ManagementClient(c);
  clients.push(created);
  return created;
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

describe('management client against the real cluster', () => {
  it('reads typed overview, nodes and queues', async () => {
    const api = client();
    const identity = await api.identify();
    // The version the stack's own CLI reports for the node, and what follows from it.
    const status = await control.status('rabbit1@localhost');
    expect(identity.version.text).toBe(status.rabbitmq_version);
    expect(identity.capabilities).toMatchObject({ classicMirroring: identity.version.major === 3, quorumQueues: true, streams: true });
    const nodes = await api.nodes();
    expect(nodes.data.map((n) => n.name).sort()).toEqual(cluster.nodes.map((n) => n.name));
    // A node restarted by an earlier test reports its resources from its next stats emission on.
    const statsComplete = async () => (await api.nodes()).data.every((n) => n.running && typeof n.mem_used === 'number' && n.partitions.length === 0);
    expect(await waitFor(statsComplete, 30_000)).toBe(true);
    const queues = await api.queues({ query: { disable_stats: true, enable_queue_totals: true } });
    expect(Array.isArray(queues.data)).toBe(true);
  });

  it('passes health checks through, and treats a failing check as an answer', async () => {
    const api = client();
    await expect(api.healthCheck('alarms')).resolves.toMatchObject({ ok: true, status: 'ok' });
    const local = await api.healthCheck('node-is-quorum-critical', { node: 'rabbit2@localhost' });
    expect(local).toMatchObject({ node: 'rabbit2@localhost' });
    await expect(api.healthCheck('../../api/users')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('reports a raised alarm as a failing check (503), not as nodes failing', async () => {
    const api = client();
    // A real memory alarm: a watermark far below what the node uses.
    await control.cli('rabbitmqctl', 'rabbit2@localhost', ['set_vm_memory_high_watermark', '0.0001']);
    try {
      const alarmed = async () => !(await api.healthCheck('alarms')).ok;
      expect(await waitFor(alarmed, 30_000)).toBe(true);
      const result = await api.healthCheck('alarms');
      expect(result).toMatchObject({ ok: false, status: 'failed' });
      expect(result.reason).toMatch(/alarm/i);
      expect(api.nodeHealth().every((n) => n.healthy && n.failures === 0)).toBe(true);
    } finally {
      await control.cli('rabbitmqctl', 'rabbit2@localhost', ['set_vm_memory_high_watermark', '0.4']);
    }
    expect(await waitFor(async () => (await api.healthCheck('alarms')).ok, 30_000)).toBe(true);
  });

  it('carries status, error and reason from the API, without failing over on 4xx', async () => {
    const api = client();
    const error = await api.queue('/', 'warren-no-such-queue').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManagementApiError);
    expect(error).toMatchObject({ status: 404, apiError: 'Object Not Found', reason: 'Not Found', code: 'MANAGEMENT_API_ERROR' });
    expect(api.nodeHealth().every((n) => n.failures === 0)).toBe(true);
  });

  it('reports bad credentials as 401 on the first node, without trying the others', async () => {
    const api = client({ ...cluster, management: { ...cluster.management, password: new Secret('wrong', 'inline') } });
    await expect(api.overview()).rejects.toMatchObject({ status: 401, code: 'MANAGEMENT_API_ERROR' });
    expect(api.nodeHealth().reduce((sum, n) => sum + n.requests, 0)).toBe(0);
  });

  it('creates, reads and deletes through PUT/GET/DELETE with encoded names', async () => {
    const api = client();
    const name = 'warren test/queue #1';
    await api.request(`/api/queues/%2F/${encodeURIComponent(name)}`, { method: 'PUT', body: { durable: false, auto_delete: false }, schema: (await import('zod')).z.unknown() });
    await expect(api.queue('/', name)).resolves.toMatchObject({ data: { name, vhost: '/', type: 'classic' } });
    await api.request(`/api/queues/%2F/${encodeURIComponent(name)}`, { method: 'DELETE', schema: (await import('zod')).z.unknown() });
    await expect(api.queue('/', name)).rejects.toMatchObject({ status: 404 });
  });
});

describe('failover', () => {
  const stopped: string[] = [];
  afterEach(async () => {
    for (const node of stopped.splice(0)) {
      await control.startApp(node);
      await control.awaitStartup(node, 120);
    }
  });

  it('fails over while one node\'s management listener is down (stop_app) and the others answer', async () => {
    const down = 'rabbit1@localhost';
    await control.stopApp(down);
    stopped.push(down);
    const api = client();
    // round_robin starts at rabbit1: every third request begins on the stopped node.
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await api.nodes());
    expect(answers.every((a) => a.node !== down)).toBe(true);
    const seenDown = answers[0]?.data.find((n) => n.name === down);
    expect(seenDown?.running).toBe(false);
    const health = api.nodeHealth().find((n) => n.node === down);
    expect(health).toMatchObject({ healthy: false });
    expect(health?.lastError).toMatch(/ECONNREFUSED/);
    expect(api.nodeHealth().filter((n) => n.node !== down).every((n) => n.healthy && n.failures === 0)).toBe(true);

    await control.startApp(down);
    stopped.pop();
    await control.awaitStartup(down, 120);
    // The recovered node answers again once its listener is back.
    const direct = client();
    expect(await waitFor(async () => (await direct.overview()).node === down, 30_000)).toBe(true);
  });

  it('fails over when a node hangs, after the per-attempt timeout', async () => {
    const hole = await blackHole();
    try {
      const hung = { ...cluster.nodes[0]!, name: 'hung@localhost', managementUrl: `http://127.0.0.1:${hole.port}` };
      const api = client({ ...cluster, management: { ...cluster.management, timeoutMs: 1_000 }, nodes: [hung, ...cluster.nodes.slice(1)] });
      const answer = await api.overview();
      expect(answer.node).toBe('rabbit2@localhost');
      expect(api.nodeHealth()[0]?.lastError).toMatch(/MANAGEMENT_TIMEOUT|no answer within 1000 ms/);
    } finally {
      await hole.close();
    }
  });

  it('says which node failed how when none answers', async () => {
    const hole = await blackHole();
    try {
      const nodes = [
        { ...cluster.nodes[0]!, name: 'refusing@localhost', managementUrl: 'http://127.0.0.1:1' },
        { ...cluster.nodes[1]!, name: 'hung@localhost', managementUrl: `http://127.0.0.1:${hole.port}` },
      ];
      const api = client({ ...cluster, management: { ...cluster.management, timeoutMs: 500 }, nodes });
      const error = await api.overview().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ManagementUnavailableError);
      expect((error as ManagementUnavailableError).attempts.map((a) => a.node)).toEqual(['refusing@localhost', 'hung@localhost']);
      expect(String(error)).toMatch(/ECONNREFUSED.*no answer within 500 ms/);
    } finally {
      await hole.close();
    }
  });

  it('stops at the caller\'s deadline instead of trying further nodes', async () => {
    const hole = await blackHole();
    try {
      const hung = { ...cluster.nodes[0]!, name: 'hung@localhost', managementUrl: `http://127.0.0.1:${hole.port}` };
      const api = client({ ...cluster, nodes: [hung, ...cluster.nodes.slice(1)] });
      // Without the deadline the hung node would time out after 10 s and rabbit2 would answer.
      await expect(api.overview(AbortSignal.timeout(300))).rejects.toThrow();
      expect(api.nodeHealth().slice(1).every((n) => n.requests === 0)).toBe(true);
    } finally {
      await hole.close();
    }
  });
});
