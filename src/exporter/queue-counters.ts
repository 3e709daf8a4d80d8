// Per-queue message counters (published, delivered, acknowledged, ...) with kbudde's names. On
// RabbitMQ 3.x the only monotonic per-queue source is the management API's `message_stats`: the
// plugin's per-queue counters live per channel and vanish when a channel closes (see
// docs/design/per-queue-rates.md). Reading them for every queue costs what kbudde pays per scrape,
// so warren reads them page by page in the background at its own interval, and scrapes serve the
// latest complete pass; a scrape never waits for it.
import { z } from 'zod';
import { describeError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import type { ManagementClient } from '../rabbitmq/management/client.ts';
import { queueKey } from '../rabbitmq/prometheus-plugin.ts';

/** message_stats field -> kbudde's counter name and help. */
export const QUEUE_COUNTERS = [
  ['publish', 'rabbitmq_queue_messages_published_total', 'Messages published into the queue (management API message_stats.publish).'],
  ['deliver', 'rabbitmq_queue_messages_delivered_total', 'Messages delivered to consumers in acknowledgement mode.'],
  ['deliver_no_ack', 'rabbitmq_queue_messages_delivered_noack_total', 'Messages delivered to consumers in no-ack mode.'],
  ['get', 'rabbitmq_queue_messages_get_total', 'Messages fetched with basic.get in acknowledgement mode.'],
  ['get_no_ack', 'rabbitmq_queue_messages_get_noack_total', 'Messages fetched with basic.get in no-ack mode.'],
  ['redeliver', 'rabbitmq_queue_messages_redelivered_total', 'Messages redelivered (delivered again after a requeue or a lost consumer).'],
  ['ack', 'rabbitmq_queue_messages_ack_total', 'Acknowledgements received for messages of the queue.'],
] as const;

export type CounterField = (typeof QUEUE_COUNTERS)[number][0];
export type QueueCounterValues = Partial<Record<CounterField, number>>;

const COLUMNS = ['name', 'vhost', ...QUEUE_COUNTERS.map(([field]) => `message_stats.${field}`)].join(',');

const pageSchema = z.looseObject({
  items: z.array(z.looseObject({ name: z.string(), vhost: z.string(), message_stats: z.record(z.string(), z.unknown()).optional() })),
  page: z.number(),
  page_count: z.number(),
});

export interface QueueCounterSnapshot {
  /** By queueKey(vhost, name). A queue without traffic has no entry: its counters are 0. */
  byQueue: ReadonlyMap<string, QueueCounterValues>;
  /** When the pass that produced it finished. */
  finishedAt: number;
  durationMs: number;
  pages: number;
}

export interface QueueCounterPollerOptions {
  intervalMs: number;
  pageSize: number;
  logger?: Logger | undefined;
  now?: () => number;
}

export class QueueCounterPoller {
  readonly #client: ManagementClient;
  readonly #options: QueueCounterPollerOptions;
  readonly #now: () => number;
  #snapshot: QueueCounterSnapshot | undefined;
  #lastError: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #controller: AbortController | undefined;
  #running: Promise<void> | undefined;

  constructor(client: ManagementClient, options: QueueCounterPollerOptions) {
    this.#client = client;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    if (this.#timer || this.#running) return;
    this.#controller = new AbortController();
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#controller?.abort();
    await this.#running?.catch(() => undefined);
  }

  /** The latest complete pass, if any. */
  latest(): QueueCounterSnapshot | undefined {
    return this.#snapshot;
  }

  /** Why the last pass failed, if it did. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** One full pass over every page; resolves when done (also used by tests). */
  async poll(signal?: AbortSignal): Promise<QueueCounterSnapshot> {
    const started = performance.now();
    const byQueue = new Map<string, QueueCounterValues>();
    let page = 1;
    let pageCount: number;
    do {
      // sort=name keeps pages stable while queues come and go; only the requested page gets stats.
      const { data } = await this.#client.request('/api/queues', {
        query: { page, page_size: this.#options.pageSize, sort: 'name', columns: COLUMNS },
        schema: pageSchema,
        signal,
        timeoutMs: 120_000,
      });
      for (const item of data.items) {
        const values = countersOf(item.message_stats);
        if (values) byQueue.set(queueKey(item.vhost, item.name), values);
      }
      pageCount = data.page_count;
      page++;
    } while (page <= pageCount);
    const snapshot = { byQueue, finishedAt: this.#now(), durationMs: performance.now() - started, pages: pageCount };
    this.#snapshot = snapshot;
    this.#lastError = undefined;
    return snapshot;
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.poll(this.#controller?.signal)
        .then(
          () => undefined,
          (error: unknown) => {
            if (this.#controller?.signal.aborted) return;
            this.#lastError = describeError(error);
            this.#options.logger?.warn({ err: this.#lastError }, 'queue counter pass failed; serving the previous one');
          },
        )
        .finally(() => {
          this.#running = undefined;
          if (!this.#controller?.signal.aborted) this.#schedule(this.#options.intervalMs);
        });
    }, delayMs);
    this.#timer.unref();
  }
}

export function countersOf(stats: Record<string, unknown> | undefined): QueueCounterValues | undefined {
  if (!stats) return undefined;
  const values: QueueCounterValues = {};
  let any = false;
  for (const [field] of QUEUE_COUNTERS) {
    const value = stats[field];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
      values[field] = value;
      any = true;
    }
  }
  return any ? values : undefined;
}
