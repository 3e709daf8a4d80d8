// sync_queue's capability gate, against a real management client talking to a loopback HTTP server
// that answers like a RabbitMQ 4.0 or 3.x broker: on a broker without classic mirroring the strategy
// refuses with a stable code after one GET /api/overview, and neither the CLI nor any other API call
// runs. The sync itself is exercised against the real cluster in test/integration/remediator.test.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.ts';
import { ManagementClient } from '../../../src/rabbitmq/management/client.ts';
import { NodeControl, type CommandSpec } from '../../../src/rabbitmq/node-control.ts';
import { createNotifier } from '../../../src/remediator/notifier.ts';
import { syncQueue } from '../../../src/remediator/strategies/sync-queue.ts';
import type { StepRecorder, StrategyContext } from '../../../src/remediator/strategies/strategy.ts';
import { silentLogger } from './support.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A management API answering as `version`, with one mirrored queue `orders` whose mirror is behind. */
async function broker(version: string): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const routes: Record<string, unknown> = {
    '/api/overview': { rabbitmq_version: version, product_version: version, cluster_name: 'c' },
    '/api/nodes': [{ name: 'rabbit1@localhost', running: true, partitions: [], mem_alarm: false }],
    '/api/queues/%2F/orders': { name: 'orders', vhost: '/', node: 'rabbit1@localhost', slave_nodes: ['rabbit2@localhost'], synchronised_slave_nodes: [], messages: 5 },
  };
  const server: Server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const body = routes[request.url ?? ''];
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'Object Not Found', reason: 'Not Found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function contextOn(url: string): { context: StrategyContext; ran: CommandSpec[] } {
  const config = parseConfigText(`clusters:\n  local:\n    nodes:\n      - { name: rabbit1@localhost, management_url: "${url}" }\n`, 'test.yml', { env: {} });
  const cluster = config.clusters.get('local');
  if (!cluster) throw new Error('no cluster');
  const ran: CommandSpec[] = [];
  const management = new ManagementClient(cluster);
  closers.push(async () => management.close());
  const notifier = createNotifier(undefined, silentLogger);
  closers.push(async () => notifier.close());
  const recorder: StepRecorder = { begin: () => ({ ok: () => undefined, fail: () => undefined }) };
  const context: StrategyContext = {
    actionId: 1,
    rule: 'r',
    alert: { fingerprint: 'abc', status: 'firing', startsAt: '2026-11-22T06:00:00.000Z', labels: { alertname: 'MirrorUnsynchronised', vhost: '/', queue: 'orders' }, annotations: {} },
    cluster,
    params: { vhost: '/', queue: 'orders' },
    management,
    // Records instead of running: the gate must refuse before any CLI call.
    nodeControl: new NodeControl(cluster, {
      runner: async (spec) => {
        ran.push(spec);
        return { file: spec.file, args: spec.args, exitCode: 0, stdout: '', stderr: '', durationMs: 1 };
      },
    }),
    notifier,
    steps: recorder,
    logger: silentLogger,
    signal: new AbortController().signal,
  };
  return { context, ran };
}

describe('sync_queue gates on classic mirroring', () => {
  it.each(['4.0.5', '4.2.1'])('refuses on RabbitMQ %s with CAPABILITY_MISSING, before any other call and without the CLI', async (version) => {
    const { url, requests } = await broker(version);
    const { context, ran } = contextOn(url);
    const verdict = await syncQueue.precheck(context);
    expect(verdict).toEqual({
      verdict: 'unsafe',
      reason: `CAPABILITY_MISSING: RabbitMQ ${version} lacks classicMirroring: classic queue mirroring was removed in RabbitMQ 4.0; sync_queue applies to classic mirrored queues only`,
      detail: { code: 'CAPABILITY_MISSING', capability: 'classicMirroring', version, reason: expect.any(String) },
    });
    expect(requests).toEqual(['GET /api/overview']);
    expect(ran).toEqual([]);
  });

  it('goes on to its other checks on RabbitMQ 3.x', async () => {
    const { url, requests } = await broker('3.10.7');
    const { context, ran } = contextOn(url);
    const verdict = await syncQueue.precheck(context);
    expect(verdict).toMatchObject({ verdict: 'proceed', detail: { unsynchronised: ['rabbit2@localhost'] } });
    expect(requests).toEqual(expect.arrayContaining(['GET /api/overview', 'GET /api/nodes', 'GET /api/queues/%2F/orders']));
    expect(ran).toEqual([]);
  });
});
