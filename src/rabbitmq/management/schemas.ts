// Response shapes of the management HTTP API. Objects are loose (new fields in newer releases are
// kept, not rejected) and statistics are optional: 4.x deprecates the stats subsystem, nodes that are
// down report almost nothing, and `disable_stats=true` drops them on purpose.
import { z } from 'zod';

// Not nonnegative: the stats database lags behind deletions and reports e.g. negative
// queue_totals.messages for a moment after a vhost is deleted (seen on 3.10). Consumers clamp.
const count = z.number();
const rate = z.looseObject({ rate: z.number() });

export const messageStatsSchema = z.looseObject({
  publish: count.optional(),
  publish_details: rate.optional(),
  deliver_get: count.optional(),
  deliver_get_details: rate.optional(),
  deliver: count.optional(),
  deliver_details: rate.optional(),
  ack: count.optional(),
  ack_details: rate.optional(),
  redeliver: count.optional(),
  redeliver_details: rate.optional(),
  confirm: count.optional(),
  confirm_details: rate.optional(),
  return_unroutable: count.optional(),
  return_unroutable_details: rate.optional(),
  drop_unroutable: count.optional(),
  drop_unroutable_details: rate.optional(),
});
export type MessageStats = z.infer<typeof messageStatsSchema>;

export const overviewSchema = z.looseObject({
  rabbitmq_version: z.string().optional(),
  product_version: z.string().optional(),
  product_name: z.string().optional(),
  management_version: z.string().optional(),
  erlang_version: z.string().optional(),
  cluster_name: z.string().optional(),
  node: z.string().optional(),
  message_stats: messageStatsSchema.optional(),
  queue_totals: z
    .looseObject({ messages: count.optional(), messages_ready: count.optional(), messages_unacknowledged: count.optional() })
    .optional(),
  object_totals: z
    .looseObject({
      channels: count.optional(),
      connections: count.optional(),
      consumers: count.optional(),
      exchanges: count.optional(),
      queues: count.optional(),
    })
    .optional(),
});
export type Overview = z.infer<typeof overviewSchema>;

export const nodeSchema = z.looseObject({
  name: z.string(),
  running: z.boolean().default(false),
  type: z.string().optional(),
  partitions: z.array(z.string()).default([]),
  mem_used: count.optional(),
  mem_limit: count.optional(),
  mem_alarm: z.boolean().optional(),
  disk_free: count.optional(),
  disk_free_limit: count.optional(),
  disk_free_alarm: z.boolean().optional(),
  fd_used: count.optional(),
  fd_total: count.optional(),
  sockets_used: count.optional(),
  sockets_total: count.optional(),
  proc_used: count.optional(),
  proc_total: count.optional(),
  uptime: count.optional(),
  being_drained: z.boolean().optional(),
});
export type RabbitNode = z.infer<typeof nodeSchema>;
export const nodesSchema = z.array(nodeSchema);

export const queueSchema = z.looseObject({
  name: z.string(),
  vhost: z.string(),
  // Queues declared before 3.8 carry no type; they are classic.
  type: z.string().default('classic'),
  durable: z.boolean().optional(),
  auto_delete: z.boolean().optional(),
  exclusive: z.boolean().optional(),
  arguments: z.record(z.string(), z.unknown()).optional(),
  node: z.string().optional(),
  state: z.string().optional(),
  policy: z.string().nullable().optional(),
  // Replication state: classic mirrored queues (3.x) ...
  slave_nodes: z.array(z.string()).optional(),
  synchronised_slave_nodes: z.array(z.string()).optional(),
  // ... and quorum queues and streams.
  leader: z.string().optional(),
  members: z.array(z.string()).optional(),
  online: z.array(z.string()).optional(),
  messages: count.optional(),
  messages_ready: count.optional(),
  messages_unacknowledged: count.optional(),
  message_bytes: count.optional(),
  consumers: count.optional(),
  // Reported as '' or null by some versions when there are no consumers.
  consumer_utilisation: z.union([z.number(), z.string(), z.null()]).optional(),
  head_message_timestamp: z.union([z.number(), z.null()]).optional(),
  message_stats: messageStatsSchema.optional(),
});
export type Queue = z.infer<typeof queueSchema>;
export const queuesSchema = z.array(queueSchema);

/** `GET /api/queues?page=N`: the paged envelope. */
export const queuePageSchema = z.looseObject({
  items: queuesSchema,
  page: z.number(),
  page_count: z.number(),
  page_size: z.number(),
  total_count: z.number().optional(),
  filtered_count: z.number().optional(),
});
export type QueuePage = z.infer<typeof queuePageSchema>;

export const vhostSchema = z.looseObject({ name: z.string(), tracing: z.boolean().optional() });
export const vhostsSchema = z.array(vhostSchema);
export type Vhost = z.infer<typeof vhostSchema>;

/** Health check endpoints answer 200 `{status:"ok"}` or 503 `{status:"failed", reason}`. */
export const healthCheckSchema = z.looseObject({ status: z.string(), reason: z.string().optional() });

export const whoamiSchema = z.looseObject({ name: z.string(), tags: z.union([z.array(z.string()), z.string()]).optional() });

/** The body RabbitMQ sends with 4xx/5xx answers. */
export const apiErrorBodySchema = z.looseObject({ error: z.string().optional(), reason: z.string().optional() });

/** Definitions are passed through untouched: warren exports, checksums and re-imports them. */
export const definitionsSchema = z.looseObject({
  rabbit_version: z.string().optional(),
  rabbitmq_version: z.string().optional(),
  queues: z.array(z.unknown()).optional(),
  exchanges: z.array(z.unknown()).optional(),
  bindings: z.array(z.unknown()).optional(),
  policies: z.array(z.unknown()).optional(),
  vhosts: z.array(z.unknown()).optional(),
  users: z.array(z.unknown()).optional(),
  permissions: z.array(z.unknown()).optional(),
});
export type Definitions = z.infer<typeof definitionsSchema>;
