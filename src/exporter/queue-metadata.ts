// What the exporter knows about each queue beyond its depth: type, policy, leader, and replication
// membership. It comes from `GET /api/queues?disable_stats=true&columns=...` (0.8-1.1 s at 10,000
// queues), so it is cached: refetched on every scrape while that is cheap, and at most every
// `maxAgeMs` once it is not (in the background after the scrape that found it due, serving the
// previous snapshot meanwhile).
import { z } from 'zod';
import { untilAborted } from '../abort.ts';
import type { ManagementClient } from '../rabbitmq/management/client.ts';
import { queueSchema } from '../rabbitmq/management/schemas.ts';
import { queueKey } from '../rabbitmq/prometheus-plugin.ts';

const QUEUE_COLUMNS = ['name', 'vhost', 'type', 'policy', 'durable', 'node', 'leader', 'members', 'online', 'slave_nodes', 'synchronised_slave_nodes', 'state'];

export const queueMetadataSchema = z.array(
  queueSchema.pick({ name: true, vhost: true, type: true, policy: true, durable: true, node: true, leader: true, members: true, online: true, slave_nodes: true, synchronised_slave_nodes: true, state: true }),
);

const streamMembersSchema = queueSchema.pick({ members: true, online: true });

export const policiesSchema = z.array(z.looseObject({ vhost: z.string(), name: z.string(), definition: z.record(z.string(), z.unknown()) }));

export interface QueueMetadata {
  key: string;
  vhost: string;
  name: string;
  type: string;
  policy: string;
  durable: boolean;
  /** The node hosting the queue (classic) or its leader (quorum, stream). */
  node: string;
  state: string;
  /** Quorum queues and streams. */
  members?: readonly string[] | undefined;
  online?: readonly string[] | undefined;
  /** Classic mirrored queues (3.x). */
  mirrors?: readonly string[] | undefined;
  synchronisedMirrors?: readonly string[] | undefined;
  /** ha-mode/ha-params of the queue's policy, when it mirrors. */
  mirroring?: MirroringPolicy | undefined;
}

export type MirroringPolicy = { mode: 'all' } | { mode: 'exactly'; count: number } | { mode: 'nodes'; nodes: readonly string[] };

export interface QueueMetadataSnapshot {
  queues: readonly QueueMetadata[];
  fetchedAt: number;
  fetchMs: number;
}

export interface QueueMetadataCacheOptions {
  maxAgeMs: number;
  /** A fetch faster than this is repeated on every scrape, so small clusters are always current. */
  refetchEveryScrapeBelowMs: number;
  now?: () => number;
}

export class QueueMetadataCache {
  readonly #client: ManagementClient;
  readonly #options: QueueMetadataCacheOptions;
  readonly #now: () => number;
  #snapshot: QueueMetadataSnapshot | undefined;
  #inFlight: Promise<QueueMetadataSnapshot> | undefined;
  #refreshAfterScrape = false;

  constructor(client: ManagementClient, options: QueueMetadataCacheOptions) {
    this.#client = client;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** A snapshot fit for this scrape: fresh when fetching is cheap or the cache is old; else cached. */
  async get(signal: AbortSignal): Promise<QueueMetadataSnapshot> {
    const snapshot = this.#snapshot;
    if (!snapshot) return untilAborted(this.#refresh(), signal);
    const cheap = snapshot.fetchMs < this.#options.refetchEveryScrapeBelowMs;
    const old = this.#now() - snapshot.fetchedAt > this.#options.maxAgeMs;
    if (cheap) {
      // One failed refetch should not cost the scrape its queues while a recent snapshot exists.
      const fresh = this.#refresh().catch((error: unknown) => {
        if (old) throw error;
        return snapshot;
      });
      return untilAborted(fresh, signal);
    }
    // Serve the previous snapshot; the refresh starts once this scrape is done (afterScrape), since
    // it serves the next scrapes anyway: at 10,000 queues it is 0.8-1.6 s of broker work, which made
    // the scrape that started it wait longer for the brokers' other answers.
    if (old) this.#refreshAfterScrape = true;
    return snapshot;
  }

  /** Called when a scrape has finished: starts the refresh a scrape found due, in the background. */
  afterScrape(): void {
    if (!this.#refreshAfterScrape) return;
    this.#refreshAfterScrape = false;
    this.#refresh().catch(() => undefined);
  }

  /** One fetch at a time, shared by every scrape that wants it. */
  #refresh(): Promise<QueueMetadataSnapshot> {
    this.#inFlight ??= this.#fetch().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #fetch(): Promise<QueueMetadataSnapshot> {
    const started = performance.now();
    // Not tied to one scrape's deadline: a slow fetch finishes and serves the next scrapes.
    const [queues, policies] = await Promise.all([
      this.#client.request('/api/queues', { query: { disable_stats: true, columns: QUEUE_COLUMNS.join(',') }, schema: queueMetadataSchema, timeoutMs: 120_000 }),
      this.#client.request('/api/policies', { schema: policiesSchema }),
    ]);
    const rows = await withStreamMembers(this.#client, queues.data);
    const snapshot: QueueMetadataSnapshot = {
      queues: toQueueMetadata(rows, policies.data),
      fetchedAt: this.#now(),
      fetchMs: performance.now() - started,
    };
    this.#snapshot = snapshot;
    return snapshot;
  }
}

/** Streams read at once while filling in their members. */
const STREAM_READS_IN_PARALLEL = 4;

/**
 * RabbitMQ 3.x leaves the members of streams out of a `disable_stats=true` answer (4.x includes
 * them, as it does for quorum queues); without them a stream would count as unreplicated. Those are
 * read one stream at a time, a few at once: streams are few, and a slow fill makes the cache serve
 * older snapshots (refetchEveryScrapeBelowMs) rather than slow every scrape. A stream whose read
 * fails (deleted meanwhile) keeps what the list said.
 */
async function withStreamMembers(client: ManagementClient, rows: z.infer<typeof queueMetadataSchema>): Promise<z.infer<typeof queueMetadataSchema>> {
  const missing = rows.filter((row) => row.type === 'stream' && row.members === undefined);
  if (missing.length === 0) return rows;
  const found = new Map<object, z.infer<typeof streamMembersSchema>>();
  const readNext = async (): Promise<void> => {
    for (let row = missing.pop(); row !== undefined; row = missing.pop()) {
      const path = `/api/queues/${encodeURIComponent(row.vhost)}/${encodeURIComponent(row.name)}`;
      try {
        found.set(row, (await client.request(path, { query: { columns: 'members,online' }, schema: streamMembersSchema })).data);
      } catch {
        // keep the row as listed
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(STREAM_READS_IN_PARALLEL, missing.length) }, readNext));
  return rows.map((row) => {
    const members = found.get(row);
    return members ? { ...row, members: members.members, online: members.online } : row;
  });
}

/** Queue metadata from `GET /api/queues` rows and the vhosts' policies (for ha-mode/ha-params). */
export function toQueueMetadata(queues: z.infer<typeof queueMetadataSchema>, policies: z.infer<typeof policiesSchema>): QueueMetadata[] {
  const mirroringByPolicy = new Map(policies.map((p) => [queueKey(p.vhost, p.name), mirroringOf(p.definition)]));
  return queues.map((q) => ({
    key: queueKey(q.vhost, q.name),
    vhost: q.vhost,
    name: q.name,
    type: q.type,
    policy: q.policy ?? '',
    durable: q.durable ?? false,
    node: q.leader ?? q.node ?? '',
    state: q.state ?? '',
    members: q.members,
    online: q.online,
    mirrors: q.slave_nodes,
    synchronisedMirrors: q.synchronised_slave_nodes,
    mirroring: q.policy ? mirroringByPolicy.get(queueKey(q.vhost, q.policy)) : undefined,
  }));
}

export function mirroringOf(definition: Record<string, unknown>): MirroringPolicy | undefined {
  const mode = definition['ha-mode'];
  const params = definition['ha-params'];
  if (mode === 'all') return { mode: 'all' };
  if (mode === 'exactly' && typeof params === 'number') return { mode: 'exactly', count: params };
  if (mode === 'nodes' && Array.isArray(params)) return { mode: 'nodes', nodes: params.filter((n): n is string => typeof n === 'string') };
  return undefined;
}

/** How many mirrors (replicas besides the leader) a policy asks for in a cluster of these nodes. */
export function expectedMirrors(policy: MirroringPolicy, clusterNodes: readonly string[]): number {
  switch (policy.mode) {
    case 'all':
      return Math.max(0, clusterNodes.length - 1);
    case 'exactly':
      return Math.max(0, Math.min(policy.count, clusterNodes.length) - 1);
    case 'nodes':
      return Math.max(0, policy.nodes.filter((node) => clusterNodes.includes(node)).length - 1);
  }
}
