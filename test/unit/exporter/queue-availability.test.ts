import { describe, expect, it } from 'vitest';
import { replicationComponent } from '../../../src/exporter/collectors/health-score.ts';
import { queueAvailability } from '../../../src/exporter/queue-availability.ts';
import type { QueueMetadata } from '../../../src/exporter/queue-metadata.ts';
import { replicationOf } from '../../../src/exporter/replication.ts';
import type { RabbitNode } from '../../../src/rabbitmq/management/schemas.ts';

const R1 = 'rabbit@r1';
const R2 = 'rabbit@r2';
const R3 = 'rabbit@r3';
const CLUSTER = [R1, R2, R3];
const ALL_RUNNING = new Set(CLUSTER);
const R3_DOWN = new Set([R1, R2]);
const ONLY_R1 = new Set([R1]);

function queue(overrides: Partial<QueueMetadata>): QueueMetadata {
  return { key: `/\u0000${overrides.name ?? 'q'}`, vhost: '/', name: 'q', type: 'classic', policy: '', durable: true, node: R1, state: 'live', ...overrides };
}
const quorum = (overrides: Partial<QueueMetadata> = {}) => queue({ type: 'quorum', members: CLUSTER, online: CLUSTER, ...overrides });
const node = (name: string, running = true) => ({ name, running, partitions: [] }) as unknown as RabbitNode;

describe('queueAvailability', () => {
  it.each([
    // `columns=` answers say "live" for a running queue.
    { case: 'classic queue on a running node', meta: queue({}), running: ALL_RUNNING, expected: { state: 'running', available: true } },
    { case: 'classic queue RabbitMQ reports idle', meta: queue({ state: 'idle' }), running: ALL_RUNNING, expected: { state: 'idle', available: true } },
    // What 3.10 answered for a classic queue while its node's app was stopped.
    { case: 'classic queue RabbitMQ reports down', meta: queue({ node: R3, state: 'down' }), running: R3_DOWN, expected: { state: 'down', available: false } },
    // Metadata cached before the node stopped still says "live": the nodes running now decide.
    { case: 'classic queue whose node stopped since the metadata was read', meta: queue({ node: R3 }), running: R3_DOWN, expected: { state: 'down', available: false } },
    { case: 'classic queue RabbitMQ reports crashed', meta: queue({ state: 'crashed' }), running: ALL_RUNNING, expected: { state: 'crashed', available: false } },
    {
      case: 'mirrored queue whose leader stopped, with a synchronised mirror running (RabbitMQ promotes it)',
      meta: queue({ node: R3, mirrors: [R1], synchronisedMirrors: [R1] }),
      running: R3_DOWN,
      expected: { state: 'running', available: true },
    },
    {
      case: 'mirrored queue whose leader stopped, with only an unsynchronised mirror running',
      meta: queue({ node: R3, mirrors: [R1], synchronisedMirrors: [] }),
      running: R3_DOWN,
      expected: { state: 'down', available: false },
    },
    { case: 'quorum queue with its leader stopped but a majority running', meta: quorum({ node: R3 }), running: R3_DOWN, expected: { state: 'running', available: true } },
    { case: 'quorum queue with a minority running', meta: quorum(), running: ONLY_R1, expected: { state: 'down', available: false } },
    { case: 'stream with a minority running', meta: quorum({ type: 'stream' }), running: ONLY_R1, expected: { state: 'down', available: false } },
  ])('$case', ({ meta, running, expected }) => {
    expect(queueAvailability(meta, running)).toEqual(expected);
  });
});

describe('replication kinds', () => {
  it('counts streams as streams, quorum queues as quorum, mirrored classic queues as mirrored', () => {
    expect(replicationOf(quorum({ type: 'stream' }), ALL_RUNNING, CLUSTER)?.kind).toBe('stream');
    expect(replicationOf(quorum(), ALL_RUNNING, CLUSTER)?.kind).toBe('quorum');
    expect(replicationOf(queue({ mirroring: { mode: 'all' }, mirrors: [R2, R3], synchronisedMirrors: [R2, R3] }), ALL_RUNNING, CLUSTER)?.kind).toBe('mirrored');
  });
});

describe('the cluster score\'s replication component and queues that are down', () => {
  const nodesR3Down = [node(R1), node(R2), node(R3, false)];

  it('counts a classic queue whose node is stopped: the lower of replication health and the share of queues not down', () => {
    // 4 healthy quorum queues; 4 classic queues, one on the stopped node.
    const queues = [...['a', 'b', 'c', 'd'].map((name) => quorum({ name, members: [R1, R2], online: [R1, R2] })), ...['e', 'f', 'g'].map((name) => queue({ name })), queue({ name: 'h', node: R3, state: 'down' })];
    expect(replicationComponent(queues, nodesR3Down)).toBeCloseTo(100 * (7 / 8), 10);
  });

  it('is not lifted by healthy classic queues when replicated queues are degraded', () => {
    const queues = [quorum({ name: 'a' }), quorum({ name: 'b', members: [R1, R2], online: [R1, R2] }), ...Array.from({ length: 50 }, (_, i) => queue({ name: `c${i}` }))];
    expect(replicationComponent(queues, nodesR3Down)).toBe(50);
  });

  it('is 100 for classic queues all on running nodes, and without queues', () => {
    expect(replicationComponent([queue({ name: 'a' }), queue({ name: 'b', node: R2 })], nodesR3Down)).toBe(100);
    expect(replicationComponent([], nodesR3Down)).toBe(100);
  });
});
