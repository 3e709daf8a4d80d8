// Safety checks shared by strategies. Each reads the cluster through the management API and says
// why it refuses, so the audit trail shows the reason, not just "unsafe".
import type { StrategyContext } from './strategy.ts';

export interface CheckOutcome {
  ok: boolean;
  reason: string;
  detail?: unknown;
}

/** More than half of the configured nodes are running: acting on a minority could split the cluster further. */
export async function clusterHasMajority(context: StrategyContext): Promise<CheckOutcome> {
  const { data: nodes } = await context.management.nodes(context.signal);
  const configured = context.cluster.nodes.map((node) => node.name);
  const running = nodes.filter((node) => node.running && configured.includes(node.name)).map((node) => node.name);
  const partitioned = nodes.filter((node) => node.partitions.length > 0).map((node) => node.name);
  const detail = { configured, running, partitioned };
  if (running.length * 2 <= configured.length) return { ok: false, reason: `only ${running.length} of ${configured.length} nodes are running: no majority`, detail };
  if (partitioned.length > 0) return { ok: false, reason: `network partition reported by ${partitioned.join(', ')}`, detail };
  return { ok: true, reason: 'majority running, no partition', detail };
}
