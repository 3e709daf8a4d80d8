import { describe, expect, it } from 'vitest';
import { replicationOf } from '../../../src/exporter/replication.ts';
import { expectedMirrors, mirroringOf, type MirroringPolicy, type QueueMetadata } from '../../../src/exporter/queue-metadata.ts';

const R1 = 'rabbit@r1';
const R2 = 'rabbit@r2';
const R3 = 'rabbit@r3';
const CLUSTER = [R1, R2, R3];
const ALL_RUNNING = new Set(CLUSTER);
const R3_DOWN = new Set([R1, R2]);

function queue(overrides: Partial<QueueMetadata>): QueueMetadata {
  return { key: '/\u0000q', vhost: '/', name: 'q', type: 'classic', policy: '', durable: true, node: R1, state: 'running', ...overrides };
}

const quorum = (overrides: Partial<QueueMetadata> = {}) => queue({ type: 'quorum', members: CLUSTER, online: CLUSTER, ...overrides });
const mirrored = (mirroring: MirroringPolicy, overrides: Partial<QueueMetadata> = {}) => queue({ policy: 'ha', mirroring, ...overrides });

describe('replicationOf', () => {
  it.each([
    {
      case: 'quorum, every member online',
      meta: quorum(),
      running: ALL_RUNNING,
      expected: { kind: 'quorum', members: 3, online: 3, expectedReplicas: 2, synchronisedReplicas: 2, leaderPresent: true, healthy: true },
    },
    {
      // The cached metadata still lists r3 online; the running nodes of this scrape say otherwise.
      case: 'quorum, a member on a stopped node',
      meta: quorum(),
      running: R3_DOWN,
      expected: { kind: 'quorum', members: 3, online: 2, expectedReplicas: 2, synchronisedReplicas: 1, leaderPresent: true, healthy: false },
    },
    {
      case: 'quorum, leader on a stopped node',
      meta: quorum({ node: R3 }),
      running: R3_DOWN,
      expected: { kind: 'quorum', members: 3, online: 2, expectedReplicas: 2, synchronisedReplicas: 2, leaderPresent: false, healthy: false },
    },
    {
      case: 'mirrored, exactly 2, the mirror synchronised',
      meta: mirrored({ mode: 'exactly', count: 2 }, { mirrors: [R2], synchronisedMirrors: [R2] }),
      running: ALL_RUNNING,
      expected: { kind: 'mirrored', members: 2, online: 2, expectedReplicas: 1, synchronisedReplicas: 1, leaderPresent: true, healthy: true },
    },
    {
      case: 'mirrored, exactly 2, the mirror not synchronised',
      meta: mirrored({ mode: 'exactly', count: 2 }, { mirrors: [R2], synchronisedMirrors: [] }),
      running: ALL_RUNNING,
      expected: { kind: 'mirrored', members: 2, online: 2, expectedReplicas: 1, synchronisedReplicas: 0, leaderPresent: true, healthy: false },
    },
    {
      case: 'mirrored, ha-mode all, one of three nodes down',
      meta: mirrored({ mode: 'all' }, { mirrors: [R2, R3], synchronisedMirrors: [R2, R3] }),
      running: R3_DOWN,
      expected: { kind: 'mirrored', members: 2, online: 2, expectedReplicas: 2, synchronisedReplicas: 1, leaderPresent: true, healthy: false },
    },
    {
      case: 'mirrored, ha-mode nodes naming a node outside the cluster',
      meta: mirrored({ mode: 'nodes', nodes: [R1, R2, 'rabbit@gone'] }, { mirrors: [R2], synchronisedMirrors: [R2] }),
      running: ALL_RUNNING,
      expected: { kind: 'mirrored', members: 2, online: 2, expectedReplicas: 1, synchronisedReplicas: 1, leaderPresent: true, healthy: true },
    },
    {
      case: 'mirrored, leader on a stopped node',
      meta: mirrored({ mode: 'all' }, { node: R3, mirrors: [R1, R2], synchronisedMirrors: [R1, R2] }),
      running: R3_DOWN,
      expected: { kind: 'mirrored', members: 3, online: 2, expectedReplicas: 2, synchronisedReplicas: 2, leaderPresent: false, healthy: false },
    },
    {
      // No policy known (e.g. the policy was deleted since the metadata was read): the mirrors present are what is expected.
      case: 'mirrors without a mirroring policy',
      meta: queue({ mirrors: [R2, R3], synchronisedMirrors: [R2] }),
      running: ALL_RUNNING,
      expected: { kind: 'mirrored', members: 3, online: 3, expectedReplicas: 2, synchronisedReplicas: 1, leaderPresent: true, healthy: false },
    },
  ])('$case', ({ meta, running, expected }) => {
    expect(replicationOf(meta, running, CLUSTER)).toEqual(expected);
  });

  it('is undefined for a classic queue without mirroring', () => {
    expect(replicationOf(queue({}), ALL_RUNNING, CLUSTER)).toBeUndefined();
    expect(replicationOf(queue({ policy: 'ttl-only', mirrors: [] }), ALL_RUNNING, CLUSTER)).toBeUndefined();
  });
});

describe('expectedMirrors', () => {
  it.each<[MirroringPolicy, readonly string[], number]>([
    [{ mode: 'all' }, CLUSTER, 2],
    [{ mode: 'all' }, [R1], 0],
    [{ mode: 'all' }, [], 0],
    [{ mode: 'exactly', count: 2 }, CLUSTER, 1],
    [{ mode: 'exactly', count: 5 }, CLUSTER, 2],
    [{ mode: 'exactly', count: 1 }, CLUSTER, 0],
    [{ mode: 'exactly', count: 0 }, CLUSTER, 0],
    [{ mode: 'nodes', nodes: [R1, R2] }, CLUSTER, 1],
    [{ mode: 'nodes', nodes: [R1, R2, 'rabbit@gone'] }, CLUSTER, 1],
    [{ mode: 'nodes', nodes: ['rabbit@gone'] }, CLUSTER, 0],
  ])('%j in %j -> %i', (policy, nodes, expected) => {
    expect(expectedMirrors(policy, nodes)).toBe(expected);
  });
});

describe('mirroringOf', () => {
  it.each<[Record<string, unknown>, MirroringPolicy | undefined]>([
    [{ 'ha-mode': 'all' }, { mode: 'all' }],
    [{ 'ha-mode': 'all', 'ha-sync-mode': 'automatic' }, { mode: 'all' }],
    [{ 'ha-mode': 'exactly', 'ha-params': 2 }, { mode: 'exactly', count: 2 }],
    [{ 'ha-mode': 'exactly', 'ha-params': '2' }, undefined],
    [{ 'ha-mode': 'exactly' }, undefined],
    [{ 'ha-mode': 'nodes', 'ha-params': [R1, R2] }, { mode: 'nodes', nodes: [R1, R2] }],
    [{ 'ha-mode': 'nodes', 'ha-params': [R1, 7, null] }, { mode: 'nodes', nodes: [R1] }],
    [{ 'ha-mode': 'nodes', 'ha-params': R1 }, undefined],
    [{ 'message-ttl': 60_000 }, undefined],
    [{}, undefined],
  ])('%j -> %j', (definition, expected) => {
    expect(mirroringOf(definition)).toEqual(expected);
  });
});
