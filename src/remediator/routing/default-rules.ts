// The rules warren ships, appended after the configured ones unless `default_rules: false`. They are
// written as warren.yml would write them and go through the same schema and builder as configured
// rules. Alerts name their fault in a `fault` label (set by warren's alerting rules).
import type { RemediationRuleInput } from '../../config/schema.ts';

/** The faults warren's alerting rules raise, each with a shipped default rule `default-<fault>`. */
export const DEFAULT_FAULTS = [
  'node_down',
  'queue_full',
  'memory_high',
  'disk_low',
  'connection_lost',
  'message_timeout',
  'cluster_partition',
  'mirror_unsynchronised',
  'quorum_under_replicated',
] as const;
export type Fault = (typeof DEFAULT_FAULTS)[number];

const notify: RemediationRuleInput['strategies'] = [{ strategy: 'notify_only' }];

/**
 * Only notify_only and sync_queue exist so far; each comment names the strategy the fault's default
 * chain is meant to move to once it is written.
 */
const CHAINS: Record<Fault, RemediationRuleInput['strategies']> = {
  node_down: notify, // -> immediate restart, then failover
  queue_full: notify, // -> backlog relief
  memory_high: notify, // -> backlog relief, then graceful restart
  disk_low: notify, // -> backlog relief
  connection_lost: notify, // -> notify (stays)
  message_timeout: notify, // -> notify (stays)
  cluster_partition: notify, // -> cluster rebuild, in approve mode
  mirror_unsynchronised: [{ strategy: 'sync_queue', params: { vhost: '{{ $labels.vhost }}', queue: '{{ $labels.queue }}' } }, { strategy: 'notify_only' }],
  quorum_under_replicated: notify, // -> replica repair
};

export const DEFAULT_RULE_INPUTS: readonly RemediationRuleInput[] = DEFAULT_FAULTS.map((fault) => ({
  name: `default-${fault}`,
  matchers: [`fault="${fault}"`],
  status: 'firing',
  strategies: CHAINS[fault],
}));
