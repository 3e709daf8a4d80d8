// One rule for "can clients use this queue now?", shared by the queues collector (rabbitmq_queue_state,
// warren_queues_unavailable) and the cluster health score, so the two never disagree. RabbitMQ itself
// reports a classic queue whose node is stopped as `down` and leaves it out of its object totals
// (`rabbitmq_queues`); the queue still exists and comes back with its node, so warren keeps it.
import type { QueueMetadata } from './queue-metadata.ts';

/** States of /api/queues in which a queue serves no client. */
const UNAVAILABLE_STATES = new Set(['down', 'crashed', 'stopped', 'terminated']);

export interface QueueAvailability {
  /** The `state` label: RabbitMQ's state, or `down` when no node that could serve the queue runs now. */
  state: string;
  available: boolean;
}

/**
 * The metadata can be up to metadata_max_age old, so it is checked against the nodes running in
 * this scrape. Classic queue: served by its node (a mirrored one also by a running synchronised
 * mirror, which RabbitMQ promotes). Quorum queue or stream: by a majority of its members, whichever
 * is leader; a leader lost with its node is re-elected within seconds.
 */
export function queueAvailability(meta: QueueMetadata, running: ReadonlySet<string>): QueueAvailability {
  const reported = meta.state === 'live' || meta.state === '' ? 'running' : meta.state; // `columns=` answers say "live"
  let served: boolean;
  if (meta.members !== undefined) {
    served = meta.members.filter((member) => running.has(member)).length > meta.members.length / 2;
  } else {
    served = running.has(meta.node) || (meta.synchronisedMirrors ?? []).some((mirror) => running.has(mirror));
  }
  if (!served) return { state: 'down', available: false };
  return { state: reported, available: !UNAVAILABLE_STATES.has(reported) };
}
