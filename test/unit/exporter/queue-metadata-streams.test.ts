// RabbitMQ 3.x leaves a stream's members out of `GET /api/queues?disable_stats=true` (4.x includes
// them): the metadata cache reads them per stream, so that streams count as replicated, under a kind
// of their own. The answers below were recorded from RabbitMQ 3.10.8 (the local stack).
import { describe, expect, it } from 'vitest';
import { QueueMetadataCache, type QueueMetadata } from '../../../src/exporter/queue-metadata.ts';
import { replicationOf } from '../../../src/exporter/replication.ts';
import type { ManagementClient, RequestOptions } from '../../../src/rabbitmq/management/client.ts';

const NODES = ['rabbit1@localhost', 'rabbit2@localhost', 'rabbit3@localhost'];

/** `GET /api/queues?disable_stats=true&columns=...` on 3.10.8: the quorum queue has members, the stream none. */
const LIST_3_10 = `[{"durable":true,"name":"c3","node":"rabbit3@localhost","state":"live","type":"classic","vhost":"probe-exp"},
{"durable":true,"leader":"rabbit3@localhost","members":["rabbit3@localhost","rabbit2@localhost","rabbit1@localhost"],"name":"q3","online":["rabbit3@localhost","rabbit2@localhost","rabbit1@localhost"],"state":"live","type":"quorum","vhost":"probe-exp"},
{"durable":true,"name":"s3","node":"rabbit3@localhost","state":"live","type":"stream","vhost":"probe-exp"}]`;

/** `GET /api/queues/probe-exp/s3?columns=members,online` on 3.10.8: with statistics, so with members. */
const STREAM_3_10 = '{"members":["rabbit3@localhost","rabbit2@localhost","rabbit1@localhost"],"online":["rabbit3@localhost","rabbit2@localhost","rabbit1@localhost"]}';

function recordedApi(answers: Record<string, string | Error>): { api: ManagementClient; requests: string[] } {
  const requests: string[] = [];
  const api = {
    async request<T>(path: string, options: RequestOptions<T>) {
      requests.push(options.query?.columns && path !== '/api/queues' ? `${path}?columns=${options.query.columns}` : path);
      const answer = answers[path];
      if (answer === undefined) throw new Error(`unexpected request ${path}`);
      if (answer instanceof Error) throw answer;
      return { data: options.schema.parse(JSON.parse(answer)), node: 'rabbit1@localhost' };
    },
  };
  return { api: api as unknown as ManagementClient, requests };
}

const signal = new AbortController().signal;
const byName = (queues: readonly QueueMetadata[], name: string) => queues.find((q) => q.name === name)!;

describe('stream membership on RabbitMQ 3.x', () => {
  it('reads the members of a stream the list left without, and only of streams', async () => {
    const { api, requests } = recordedApi({ '/api/queues': LIST_3_10, '/api/policies': '[]', '/api/queues/probe-exp/s3': STREAM_3_10 });
    const snapshot = await new QueueMetadataCache(api, { maxAgeMs: 30_000, refetchEveryScrapeBelowMs: 250 }).get(signal);
    const stream = byName(snapshot.queues, 's3');
    expect(stream.members).toEqual(['rabbit3@localhost', 'rabbit2@localhost', 'rabbit1@localhost']);
    expect(stream.online).toEqual(['rabbit3@localhost', 'rabbit2@localhost', 'rabbit1@localhost']);
    expect(requests.filter((r) => r.startsWith('/api/queues/'))).toEqual(['/api/queues/probe-exp/s3?columns=members,online']);

    // Counted as a replicated stream, not as quorum and not left out; rabbit2 has stopped since.
    const running = new Set(['rabbit1@localhost', 'rabbit3@localhost']);
    expect(replicationOf(stream, running, NODES)).toMatchObject({ kind: 'stream', members: 3, online: 2, healthy: false });
    expect(replicationOf(byName(snapshot.queues, 'q3'), running, NODES)).toMatchObject({ kind: 'quorum' });
    expect(replicationOf(byName(snapshot.queues, 'c3'), running, NODES)).toBeUndefined();
  });

  it('keeps a stream as listed when its own read fails (deleted meanwhile)', async () => {
    const notFound = Object.assign(new Error('GET /api/queues/probe-exp/s3: HTTP 404'), { code: 'MANAGEMENT_API_ERROR' });
    const { api } = recordedApi({ '/api/queues': LIST_3_10, '/api/policies': '[]', '/api/queues/probe-exp/s3': notFound });
    const snapshot = await new QueueMetadataCache(api, { maxAgeMs: 30_000, refetchEveryScrapeBelowMs: 250 }).get(signal);
    expect(snapshot.queues.map((q) => q.name)).toEqual(['c3', 'q3', 's3']);
    expect(byName(snapshot.queues, 's3').members).toBeUndefined();
  });

  it('asks nothing more when the list has the members (4.x)', async () => {
    const list4 = '[{"name":"events","vhost":"/","type":"stream","durable":true,"leader":"rabbit@b","members":["rabbit@a","rabbit@b","rabbit@c"],"online":["rabbit@a","rabbit@b"],"state":"running"}]';
    const { api, requests } = recordedApi({ '/api/queues': list4, '/api/policies': '[]' });
    const snapshot = await new QueueMetadataCache(api, { maxAgeMs: 30_000, refetchEveryScrapeBelowMs: 250 }).get(signal);
    expect(requests.sort()).toEqual(['/api/policies', '/api/queues']);
    expect(replicationOf(snapshot.queues[0]!, new Set(['rabbit@a', 'rabbit@b', 'rabbit@c']), ['rabbit@a', 'rabbit@b', 'rabbit@c'])).toMatchObject({ kind: 'stream', healthy: false });
  });
});
