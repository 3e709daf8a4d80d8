import { describe, expect, it } from 'vitest';
import { NodeHealth } from '../../../src/rabbitmq/management/node-health.ts';
import { createNodeSelector } from '../../../src/rabbitmq/management/node-selection.ts';

const policy = { unhealthyAfterFailures: 2, retryUnhealthyAfterMs: 30_000 };
const nodes = (weights: number[] = [1, 1, 1]) => weights.map((weight, i) => new NodeHealth(`rabbit${i + 1}@h`, weight, policy));
const names = (order: NodeHealth[]) => order.map((n) => n.node.replace('@h', ''));

function seeded(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

describe('node selection strategies', () => {
  it('round_robin rotates the first node and keeps the rest as failover order', () => {
    const selector = createNodeSelector('round_robin', { random: Math.random });
    const ns = nodes();
    expect([0, 1, 2, 3].map(() => names(selector.order(ns, 0)))).toEqual([
      ['rabbit1', 'rabbit2', 'rabbit3'],
      ['rabbit2', 'rabbit3', 'rabbit1'],
      ['rabbit3', 'rabbit1', 'rabbit2'],
      ['rabbit1', 'rabbit2', 'rabbit3'],
    ]);
  });

  it('weighted_round_robin interleaves picks in proportion to weight', () => {
    const selector = createNodeSelector('weighted_round_robin', { random: Math.random });
    const ns = nodes([5, 1, 1]);
    const firsts = Array.from({ length: 7 }, () => names(selector.order(ns, 0))[0]);
    expect(firsts).toEqual(['rabbit1', 'rabbit1', 'rabbit2', 'rabbit1', 'rabbit3', 'rabbit1', 'rabbit1']);
    const many = Array.from({ length: 700 }, () => names(selector.order(ns, 0))[0]);
    expect(many.filter((n) => n === 'rabbit1')).toHaveLength(500);
    expect(many.filter((n) => n === 'rabbit2')).toHaveLength(100);
  });

  it('health_based prefers healthy nodes, then fewer failures, then lower latency', () => {
    const selector = createNodeSelector('health_based', { random: Math.random });
    const [a, b, c] = nodes() as [NodeHealth, NodeHealth, NodeHealth];
    a.recordFailure('refused', 0);
    b.recordSuccess(30, 0);
    c.recordSuccess(10, 0);
    expect(names(selector.order([a, b, c], 0))).toEqual(['rabbit3', 'rabbit2', 'rabbit1']);
  });

  it('least_latency tries unmeasured nodes first, then the fastest', () => {
    const selector = createNodeSelector('least_latency', { random: Math.random });
    const [a, b, c] = nodes() as [NodeHealth, NodeHealth, NodeHealth];
    a.recordSuccess(50, 0);
    c.recordSuccess(5, 0);
    expect(names(selector.order([a, b, c], 0))).toEqual(['rabbit2', 'rabbit3', 'rabbit1']);
  });

  it('random shuffles with the injected source', () => {
    const selector = createNodeSelector('random', { random: seeded([0, 0]) });
    expect(names(selector.order(nodes(), 0))).toEqual(['rabbit2', 'rabbit3', 'rabbit1']);
  });

  it.each(['round_robin', 'weighted_round_robin', 'health_based', 'random', 'least_latency'] as const)(
    '%s benches an unhealthy node until its retry time, then lets it be tried again',
    (strategy) => {
      const selector = createNodeSelector(strategy, { random: seeded([0.1, 0.7, 0.4]) });
      const ns = nodes();
      const first = ns[0] as NodeHealth;
      first.recordFailure('ECONNREFUSED', 1_000);
      first.recordFailure('ECONNREFUSED', 1_000);
      expect(first.healthy).toBe(false);
      for (let i = 0; i < 6; i++) expect(names(selector.order(ns, 2_000)).at(-1)).toBe('rabbit1');
      const later = Array.from({ length: 6 }, () => names(selector.order(ns, 31_000)));
      expect(later[0]?.[0]).toBe('rabbit1');
    },
  );
});

describe('node health', () => {
  it('turns unhealthy after consecutive failures and healthy on the next success', () => {
    const node = new NodeHealth('rabbit1@h', 1, policy);
    node.recordFailure('timeout', 1);
    expect(node.healthy).toBe(true);
    node.recordFailure('timeout', 2);
    expect(node.snapshot()).toMatchObject({ healthy: false, consecutiveFailures: 2, failures: 2, lastError: 'timeout' });
    node.recordSuccess(12, 3);
    expect(node.snapshot()).toMatchObject({ healthy: true, consecutiveFailures: 0, requests: 3, latencyMs: 12 });
  });

  it('smooths latency with a moving average', () => {
    const node = new NodeHealth('rabbit1@h', 1, policy);
    node.recordSuccess(10, 0);
    node.recordSuccess(110, 0);
    expect(node.latencyMs).toBeCloseTo(40);
  });
});
