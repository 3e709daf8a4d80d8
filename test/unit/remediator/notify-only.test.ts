// notify_only against a real escalation webhook (a loopback HTTP server): it succeeds only when the
// notification was taken, so that a chain ending in it never reports success for an unsent message.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isWarrenError } from '../../../src/errors.ts';
import { ManagementClient } from '../../../src/rabbitmq/management/client.ts';
import { NodeControl } from '../../../src/rabbitmq/node-control.ts';
import { createNotifier } from '../../../src/remediator/notifier.ts';
import type { StepRecorder, StrategyContext } from '../../../src/remediator/strategies/strategy.ts';
import { configWith, notifyOnly, silentLogger } from './support.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** An escalation webhook answering `status`; returns its URL and the bodies it received. */
async function webhook(status: number): Promise<{ url: string; received: unknown[] }> {
  const received: unknown[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

function contextWith(url: string | undefined) {
  const config = configWith(`  mode: dry_run\n  default_rules: false\n${url ? `  escalation_webhook: { url: "${url}", timeout: 2s }\n` : ''}`);
  const cluster = config.clusters.get('local');
  if (!cluster) throw new Error('no cluster');
  const steps: { phase: string; status?: string; detail?: unknown }[] = [];
  const recorder: StepRecorder = {
    begin(phase) {
      const step: (typeof steps)[number] = { phase };
      steps.push(step);
      return { ok: (detail) => Object.assign(step, { status: 'ok', detail }), fail: (detail) => Object.assign(step, { status: 'failed', detail }) };
    },
  };
  const notifier = createNotifier(config.remediation.escalationWebhook, silentLogger);
  const context: StrategyContext = {
    actionId: 7,
    rule: 'r',
    alert: { fingerprint: 'abc', status: 'firing', startsAt: '2026-11-22T06:00:00.000Z', labels: { alertname: 'QueueBacklog' }, annotations: { summary: 'orders is backing up' } },
    cluster,
    params: {},
    management: new ManagementClient(cluster),
    nodeControl: new NodeControl(cluster),
    notifier,
    steps: recorder,
    logger: silentLogger,
    signal: new AbortController().signal,
  };
  return { context, steps, close: () => notifier.close() };
}

describe('notify_only', () => {
  it('succeeds once the escalation webhook took the notification', async () => {
    const hook = await webhook(200);
    const { context, steps, close } = contextWith(hook.url);
    try {
      await notifyOnly.execute(context, []);
      expect(steps.map((s) => [s.phase, s.status])).toEqual([['execute', 'ok'], ['notify', 'ok']]);
      expect(hook.received).toEqual([expect.objectContaining({ source: 'warren-remediator', kind: 'notify', actionId: 7, message: 'orders is backing up' })]);
    } finally {
      close();
    }
  });

  it('fails when the escalation webhook refuses it, so the chain escalates instead of reporting success', async () => {
    const hook = await webhook(503);
    const { context, steps, close } = contextWith(hook.url);
    try {
      const outcome = await notifyOnly.execute(context, []).then(() => undefined, (error: unknown) => error);
      expect(isWarrenError(outcome, 'STRATEGY_FAILED')).toBe(true);
      expect(steps.map((s) => [s.phase, s.status])).toEqual([['execute', 'ok'], ['notify', 'failed']]);
      expect(hook.received).toHaveLength(1);
    } finally {
      close();
    }
  });

  it('without an escalation webhook the log line is the notification, and it succeeds', async () => {
    const { context, steps, close } = contextWith(undefined);
    try {
      await notifyOnly.execute(context, []);
      expect(steps.map((s) => [s.phase, s.status])).toEqual([['execute', 'ok']]);
    } finally {
      close();
    }
  });
});
