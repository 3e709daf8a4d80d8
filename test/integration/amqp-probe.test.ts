import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Secret } from '../../src/config/secret.ts';
import { probeAmqp } from '../../src/rabbitmq/amqp-probe.ts';
import { ManagementClient } from '../../src/rabbitmq/management/client.ts';
import { blackHole, localCluster, waitFor } from './support.ts';

const cluster = localCluster();
const api = new ManagementClient(cluster);
afterAll(() => api.close());

const connectionsSchema = z.array(z.looseObject({ client_properties: z.looseObject({ connection_name: z.string().optional() }).optional() }));
async function probeConnectionsOpen(): Promise<number> {
  const { data } = await api.request('/api/connections', { schema: connectionsSchema });
  return data.filter((c) => c.client_properties?.connection_name === 'warren-amqp-probe').length;
}

describe('AMQP round-trip probe', () => {
  it.each(cluster.nodes.map((n) => [n.name, n.amqpUrl!]))('round-trips through %s', async (_node, url) => {
    const result = await probeAmqp({ ...cluster.amqp, url });
    expect(result.error).toBeUndefined();
    expect(result.success).toBe(true);
    expect(result.roundTripSeconds).toBeGreaterThan(0);
    expect(result.publishConfirmSeconds).toBeGreaterThan(0);
    expect(result.totalSeconds).toBeGreaterThanOrEqual(result.roundTripSeconds!);
  });

  it('round-trips through HAProxy in front of the nodes', async () => {
    const results = await Promise.all([1, 2, 3].map(() => probeAmqp({ ...cluster.amqp, url: cluster.amqp.loadBalancerUrl! })));
    expect(results.map((r) => r.success)).toEqual([true, true, true]);
  });

  it('cleans up: no probe connection or queue is left behind', async () => {
    await probeAmqp({ ...cluster.amqp, url: cluster.nodes[0]!.amqpUrl! });
    expect(await waitFor(async () => (await probeConnectionsOpen()) === 0, 10_000)).toBe(true);
    const { data } = await api.queues({ query: { disable_stats: true } });
    expect(data.filter((q) => q.name.startsWith('amq.gen-'))).toEqual([]);
  });

  it('reports refused credentials as a failure, not an exception, without leaking the password', async () => {
    const result = await probeAmqp({ ...cluster.amqp, password: new Secret('wrong-pass-123', 'inline'), url: cluster.nodes[0]!.amqpUrl! });
    expect(result).toMatchObject({ success: false, errorCode: 'AMQP_PROBE_FAILED' });
    expect(result.error).toMatch(/ACCESS_REFUSED|403/);
    expect(JSON.stringify(result)).not.toContain('wrong-pass-123');
  });

  it('reports a closed port as a failure', async () => {
    const result = await probeAmqp({ ...cluster.amqp, url: 'amqp://127.0.0.1:1' });
    expect(result).toMatchObject({ success: false, errorCode: 'AMQP_PROBE_FAILED' });
    expect(result.error).toMatch(/ECONNREFUSED/);
  });

  it('gives up at its timeout when the peer never speaks AMQP', async () => {
    const hole = await blackHole();
    try {
      const result = await probeAmqp({ ...cluster.amqp, url: `amqp://127.0.0.1:${hole.port}`, timeoutMs: 500 });
      expect(result).toMatchObject({ success: false, errorCode: 'AMQP_PROBE_TIMEOUT' });
    } finally {
      await hole.close();
    }
  });

  it('stops when the caller aborts', async () => {
    const hole = await blackHole();
    try {
      const result = await probeAmqp({ ...cluster.amqp, url: `amqp://127.0.0.1:${hole.port}`, timeoutMs: 60_000 }, AbortSignal.timeout(200));
      expect(result).toMatchObject({ success: false, error: expect.stringMatching(/aborted/) });
    } finally {
      await hole.close();
    }
  });
});
