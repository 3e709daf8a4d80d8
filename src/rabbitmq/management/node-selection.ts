// Node selection strategies: each turns the cluster's nodes into the order in which one request
// tries them. The first is the strategy's pick; the rest are the failover order. Nodes benched as
// unhealthy go last, so they are tried only when every other node has failed.
import type { NodeSelectionStrategy } from '../../config/types.ts';
import type { NodeHealth } from './node-health.ts';

export interface NodeSelector {
  order(nodes: readonly NodeHealth[], now: number): NodeHealth[];
}

export interface SelectorDeps {
  /** Uniform [0, 1); injectable so tests are deterministic. */
  random: () => number;
}

export function createNodeSelector(strategy: NodeSelectionStrategy, deps: SelectorDeps): NodeSelector {
  switch (strategy) {
    case 'round_robin':
      return roundRobin();
    case 'weighted_round_robin':
      return weightedRoundRobin();
    case 'health_based':
      return { order: (nodes, now) => benchLast(now, [...nodes].sort(byHealth)) };
    case 'random':
      return { order: (nodes, now) => benchLast(now, shuffle(nodes, deps.random)) };
    case 'least_latency':
      return { order: (nodes, now) => benchLast(now, [...nodes].sort(byLatency)) };
  }
}

/**
 * Final order: an unhealthy node whose retry time has come goes first, for one probing request
 * (half-open, as in a circuit breaker: success makes it healthy again, failure benches it anew);
 * then healthy nodes in the strategy's order; benched nodes last, as a last resort.
 */
function benchLast(now: number, preferred: NodeHealth[]): NodeHealth[] {
  const retryDue = preferred.filter((node) => !node.healthy && node.eligible(now));
  const healthy = preferred.filter((node) => node.healthy);
  const benched = preferred.filter((node) => !node.eligible(now));
  return [...retryDue, ...healthy, ...benched];
}

function roundRobin(): NodeSelector {
  let next = 0;
  return {
    order(nodes, now) {
      const start = next % nodes.length;
      next = (start + 1) % nodes.length;
      return benchLast(now, [...nodes.slice(start), ...nodes.slice(0, start)]);
    },
  };
}

/**
 * Smooth weighted round robin (the nginx scheme): each pick adds every node's weight to its
 * running score, takes the highest and subtracts the total. Weights 5:1:1 give a a b a a c a rather
 * than a a a a a b c, so load is interleaved.
 */
function weightedRoundRobin(): NodeSelector {
  const score = new Map<string, number>();
  return {
    order(nodes, now) {
      const candidates = nodes.filter((node) => node.eligible(now));
      const pool = candidates.length > 0 ? candidates : [...nodes];
      const total = pool.reduce((sum, node) => sum + node.weight, 0);
      let best: NodeHealth | undefined;
      for (const node of pool) {
        const current = (score.get(node.node) ?? 0) + node.weight;
        score.set(node.node, current);
        if (best === undefined || current > (score.get(best.node) ?? 0)) best = node;
      }
      const chosen = best as NodeHealth;
      score.set(chosen.node, (score.get(chosen.node) ?? 0) - total);
      const rest = nodes.filter((node) => node !== chosen).sort((a, b) => b.weight - a.weight);
      return benchLast(now, [chosen, ...rest]);
    },
  };
}

function byHealth(a: NodeHealth, b: NodeHealth): number {
  return (
    Number(b.healthy) - Number(a.healthy) ||
    a.consecutiveFailures - b.consecutiveFailures ||
    a.failureRatio - b.failureRatio ||
    (a.latencyMs ?? 0) - (b.latencyMs ?? 0)
  );
}

/** Nodes never measured sort first so that every node gets a latency sample. */
function byLatency(a: NodeHealth, b: NodeHealth): number {
  return (a.latencyMs ?? -1) - (b.latencyMs ?? -1);
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}
