// The AMQP round trip probe: connect, declare a private queue, publish with a confirm, consume the
// message back, and time each phase. It proves what the management API cannot: that a client can
// actually move a message through the broker (or through the load balancer in front of it).
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { Secret } from '../config/secret.ts';
import type { ClusterConfig } from '../config/types.ts';
import { WarrenError, describeError } from '../errors.ts';

export interface AmqpProbeTarget {
  /** amqp:// or amqps:// URL without credentials. */
  url: string;
  username: string;
  password: Secret;
  vhost: string;
  timeoutMs: number;
}

export interface AmqpProbeResult {
  success: boolean;
  url: string;
  /** Connection and channel set-up. */
  connectSeconds?: number | undefined;
  /** Publish until the broker confirmed the message. */
  publishConfirmSeconds?: number | undefined;
  /** Publish until the message came back to our consumer: the round trip. */
  roundTripSeconds?: number | undefined;
  totalSeconds: number;
  error?: string | undefined;
  errorCode?: 'AMQP_PROBE_FAILED' | 'AMQP_PROBE_TIMEOUT' | undefined;
}

/** The `target` of the probe through the cluster's load balancer. */
export const LOAD_BALANCER_TARGET = 'load_balancer';

/** Where a cluster is probed: each node with an AMQP URL, then the load balancer if configured. */
export function amqpProbeTargets(cluster: ClusterConfig): { target: string; url: string }[] {
  const targets = cluster.nodes.flatMap((node) => (node.amqpUrl ? [{ target: node.name, url: node.amqpUrl }] : []));
  if (cluster.amqp.loadBalancerUrl) targets.push({ target: LOAD_BALANCER_TARGET, url: cluster.amqp.loadBalancerUrl });
  return targets;
}

/** Runs one probe. Never throws: failures are reported in the result, with the phase reached. */
export async function probeAmqp(target: AmqpProbeTarget, signal?: AbortSignal): Promise<AmqpProbeResult> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const result: AmqpProbeResult = { success: false, url: target.url, totalSeconds: 0 };
  let connection: ChannelModel | undefined;
  let timer: NodeJS.Timeout | undefined;
  let abortListener: (() => void) | undefined;
  let finished = false;

  // The deadline closes the connection, which fails whatever step is pending.
  const deadline = new Promise<never>((_, reject) => {
    const fail = (code: 'AMQP_PROBE_TIMEOUT' | 'AMQP_PROBE_FAILED', message: string) => reject(new WarrenError(code, message));
    timer = setTimeout(() => fail('AMQP_PROBE_TIMEOUT', `no round trip within ${target.timeoutMs} ms`), target.timeoutMs);
    abortListener = () => fail('AMQP_PROBE_FAILED', 'probe aborted');
    if (signal?.aborted) abortListener();
    signal?.addEventListener('abort', abortListener, { once: true });
  });
  deadline.catch(() => undefined);

  try {
    await Promise.race([
      deadline,
      (async () => {
        const opened = await amqp.connect(connectUrl(target), { timeout: target.timeoutMs, clientProperties: { connection_name: 'warren-amqp-probe' } });
        opened.on('error', () => undefined); // reported through the failing step instead
        // The deadline may have fired while connecting: the probe is over, close what arrived late.
        if (finished) {
          await opened.close().catch(() => undefined);
          return;
        }
        connection = opened;
        const channel = await connection.createConfirmChannel();
        result.connectSeconds = elapsed();
        await roundTrip(channel, result, elapsed);
      })(),
    ]);
    result.success = true;
  } catch (error) {
    result.error = describeError(error);
    result.errorCode = error instanceof WarrenError && error.code === 'AMQP_PROBE_TIMEOUT' ? 'AMQP_PROBE_TIMEOUT' : 'AMQP_PROBE_FAILED';
  } finally {
    finished = true;
    clearTimeout(timer);
    if (abortListener) signal?.removeEventListener('abort', abortListener);
    // Closing the connection deletes the exclusive queue, whatever step failed.
    await connection?.close().catch(() => undefined);
    result.totalSeconds = elapsed();
  }
  return result;
}

async function roundTrip(channel: ConfirmChannel, result: AmqpProbeResult, elapsed: () => number): Promise<void> {
  // Server-named, exclusive, auto-delete: invisible to other clients and gone with the connection.
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  const correlationId = randomUUID();
  const received = new Promise<void>((resolve) => {
    void channel.consume(
      queue,
      (message) => {
        if (message?.properties.correlationId === correlationId) resolve();
      },
      { noAck: true, exclusive: true },
    );
  });
  const publishedAt = elapsed();
  await new Promise<void>((resolve, reject) => {
    channel.publish('', queue, Buffer.from('warren probe'), { correlationId, mandatory: true, persistent: false }, (error) =>
      error ? reject(new WarrenError('AMQP_PROBE_FAILED', 'the broker refused (nacked) the probe message')) : resolve(),
    );
  });
  result.publishConfirmSeconds = elapsed() - publishedAt;
  await received;
  result.roundTripSeconds = elapsed() - publishedAt;
}

function connectUrl(target: AmqpProbeTarget): string {
  const url = new URL(target.url);
  url.username = encodeURIComponent(target.username);
  url.password = encodeURIComponent(target.password.reveal());
  // The vhost is the URL path, percent-encoded ("/" is %2F).
  url.pathname = `/${encodeURIComponent(target.vhost)}`;
  return url.toString();
}
