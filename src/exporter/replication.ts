// One rule for "is this queue's replication healthy?", shared by the queues collector
// (warren_queue_under_replicated) and the cluster health score, so the two never disagree.
import { expectedMirrors, type QueueMetadata } from './queue-metadata.ts';

/** Replication kinds, each counted on its own in warren_queues_replicated{kind}. */
export const REPLICATION_KINDS = ['quorum', 'stream', 'mirrored'] as const;
export type ReplicationKind = (typeof REPLICATION_KINDS)[number];

export interface Replication {
  kind: ReplicationKind;
  /** Replicas including the leader: quorum or stream members, or mirrors on running nodes plus the leader. */
  members: number;
  online: number;
  /** Mirrored: mirrors the policy asks for; quorum and stream: members - 1. */
  expectedReplicas: number;
  /** Replicas besides the leader that are in sync (mirrored) or online (quorum, stream), on running nodes. */
  synchronisedReplicas: number;
  leaderPresent: boolean;
  healthy: boolean;
}

/**
 * Quorum queues and streams: healthy when the leader runs and every member is online on a running
 * node. Classic mirrored queues (3.x; ha-* policies cannot exist on 4.x): healthy when the leader
 * runs and as many mirrors as the policy asks for are synchronised on running nodes. Membership
 * comes from cached metadata (up to metadata_max_age old), so it is intersected with the nodes
 * running now: a stopped node counts as a missing replica at once. Undefined: not replicated.
 */
export function replicationOf(meta: QueueMetadata, running: ReadonlySet<string>, clusterNodes: readonly string[]): Replication | undefined {
  const leaderPresent = meta.node !== '' && running.has(meta.node);
  if (meta.members !== undefined) {
    const online = new Set((meta.online ?? []).filter((node) => running.has(node)));
    const members = meta.members.length;
    const allOnline = meta.members.every((member) => online.has(member));
    const synchronisedReplicas = meta.members.filter((member) => member !== meta.node && online.has(member)).length;
    // Streams are replicated logs, not quorum queues: alerts and dashboards tell them apart.
    const kind = meta.type === 'stream' ? 'stream' : 'quorum';
    return { kind, members, online: online.size, expectedReplicas: Math.max(0, members - 1), synchronisedReplicas, leaderPresent, healthy: leaderPresent && allOnline };
  }
  const expected = meta.mirroring ? expectedMirrors(meta.mirroring, clusterNodes) : (meta.mirrors?.length ?? 0);
  if (expected === 0 && (meta.mirrors?.length ?? 0) === 0) return undefined;
  const synchronised = (meta.synchronisedMirrors ?? []).filter((node) => node !== meta.node && running.has(node)).length;
  const present = (meta.mirrors ?? []).filter((node) => running.has(node)).length;
  return { kind: 'mirrored', members: present + 1, online: present + (leaderPresent ? 1 : 0), expectedReplicas: expected, synchronisedReplicas: synchronised, leaderPresent, healthy: leaderPresent && synchronised >= expected };
}
