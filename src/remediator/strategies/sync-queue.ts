// sync_queue: synchronises a classic mirrored queue whose mirrors fell behind (manual
// ha-sync-mode, or a mirror added while messages were present), then waits until every mirror is
// synchronised. Classic mirroring exists on RabbitMQ 3.x only: the strategy asks the broker's
// capabilities (from its reported version) and refuses elsewhere before anything runs. A sync
// blocks the queue while it runs and copies its messages through the leader's memory, so it
// refuses under a memory alarm.
import { missingCapability } from '../../rabbitmq/capabilities.ts';
import type { Queue } from '../../rabbitmq/management/schemas.ts';
import { ManagementApiError } from '../../rabbitmq/management/client.ts';
import { clusterHasMajority } from './prechecks.ts';
import type { Strategy, StrategyContext } from './strategy.ts';
import { queueTarget } from './targets.ts';

interface MirrorState {
  leader: string | undefined;
  mirrors: string[];
  synchronised: string[];
  unsynchronised: string[];
  messages: number | undefined;
}

function mirrorState(queue: Queue): MirrorState {
  const mirrors = queue.slave_nodes ?? [];
  const synchronised = queue.synchronised_slave_nodes ?? [];
  return {
    leader: queue.node,
    mirrors,
    synchronised,
    unsynchronised: mirrors.filter((node) => !synchronised.includes(node)),
    messages: queue.messages,
  };
}

async function readQueue(context: StrategyContext): Promise<Queue | undefined> {
  try {
    return (await context.management.queue(context.params.vhost as string, context.params.queue as string, context.signal)).data;
  } catch (error) {
    if (error instanceof ManagementApiError && error.status === 404) return undefined;
    throw error;
  }
}

function apiPath(context: StrategyContext): string {
  return `/api/queues/${encodeURIComponent(context.params.vhost as string)}/${encodeURIComponent(context.params.queue as string)}`;
}

export const syncQueue: Strategy = {
  name: 'sync_queue',
  changesCluster: true,

  targets: (cluster, params) => [queueTarget(cluster, params.vhost as string, params.queue as string)],

  async precheck(context) {
    // First, so that a broker without mirroring is refused before any other call, CLI or API.
    const identity = await context.management.identify(context.signal);
    const missing = missingCapability(identity, 'classicMirroring') ?? missingCapability(identity, 'mirrorSync');
    if (missing) return { verdict: 'unsafe', reason: `${missing.code}: ${missing.reason}; sync_queue applies to classic mirrored queues only`, detail: missing };
    const majority = await clusterHasMajority(context);
    if (!majority.ok) return { verdict: 'unsafe', reason: majority.reason, detail: majority.detail };
    const { data: nodes } = await context.management.nodes(context.signal);
    const alarmed = nodes.filter((node) => node.mem_alarm === true).map((node) => node.name);
    if (alarmed.length > 0) return { verdict: 'unsafe', reason: `memory alarm on ${alarmed.join(', ')}: a sync copies messages through memory` };
    const queue = await readQueue(context);
    if (!queue) return { verdict: 'unsafe', reason: `queue ${context.params.queue} in vhost ${context.params.vhost} does not exist` };
    const state = mirrorState(queue);
    if (state.mirrors.length === 0) return { verdict: 'unsafe', reason: 'the queue has no mirrors: it is not a classic mirrored queue', detail: state };
    if (state.unsynchronised.length === 0) return { verdict: 'not_needed', reason: 'every mirror is already synchronised', detail: state };
    return { verdict: 'proceed', detail: state };
  },

  async observe(context) {
    const queue = await readQueue(context);
    return queue ? mirrorState(queue) : { exists: false };
  },

  async plan(context) {
    return [
      {
        description: `synchronise the mirrors of queue ${context.params.queue} in vhost ${context.params.vhost}`,
        command: `POST ${apiPath(context)}/actions {"action":"sync"}`,
      },
    ];
  },

  async execute(context, plan) {
    const [step] = plan;
    const handle = context.steps.begin('execute', step?.description ?? 'synchronise the queue', step?.command);
    try {
      const { node } = await context.management.syncQueue(context.params.vhost as string, context.params.queue as string, context.signal);
      handle.ok({ node });
    } catch (error) {
      handle.fail({ error: (error as Error).message });
      throw error;
    }
  },

  async verify(context) {
    const queue = await readQueue(context);
    if (!queue) return { healthy: false, detail: { exists: false } };
    const state = mirrorState(queue);
    return { healthy: state.mirrors.length > 0 && state.unsynchronised.length === 0, detail: state };
  },
};
