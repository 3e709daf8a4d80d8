// /metrics of the remediator: a fresh registry per scrape, read from the engine's counters and the
// durable state (open breakers, actions by state), so nothing is set from an async collect.
import { processSnapshot, writeProcessMetrics } from '../metrics/process.ts';
import { MetricRegistry } from '../metrics/registry.ts';
import type { RemediationEngine } from './engine.ts';
import type { RemediationStore } from './store.ts';
import { ACTION_STATES } from './store.ts';
import { DURATION_BUCKETS } from './stats.ts';

/** `webhookRequests`: answers by HTTP status, counted where the requests are answered (the HTTP thread). */
export function renderRemediatorMetrics(engine: RemediationEngine, store: RemediationStore, webhookRequests: ReadonlyMap<string, number>, now: () => number = Date.now): Buffer[] {
  const registry = new MetricRegistry();
  const { stats } = engine;
  const received = registry.counter('warren_remediation_alerts_received_total', 'Alerts received through the webhook, duplicates included, by alert status.', ['status']);
  for (const status of ['firing', 'resolved']) received.set([status], stats.alertsReceived.get(status) ?? 0);
  registry.counter('warren_remediation_alerts_deduplicated_total', 'Alert deliveries ignored because their firing episode (fingerprint, startsAt, status) was already received.').set([], stats.deduplicated);
  registry.counter('warren_remediation_alerts_already_resolved_total', 'Firing deliveries ignored because the same episode had already resolved (out-of-order HA delivery).').set([], stats.alreadyResolved);
  registry.counter('warren_remediation_alerts_unrouted_total', 'Alerts that matched no remediation rule.').set([], stats.unrouted);
  registry.counter('warren_remediation_actions_cancelled_by_resolve_total', 'Actions cancelled because their alert resolved before they started.').set([], stats.cancelledByResolve);
  registry.counter('warren_remediation_actions_pruned_total', 'Finished actions removed from the audit trail after remediation.audit_retention.').set([], stats.actionsPruned);

  const actions = registry.counter('warren_remediation_actions_total', 'Actions that reached a final state, by the strategy that ran last and the result.', ['strategy', 'result']);
  for (const [key, count] of [...stats.actionsFinished].sort()) {
    const [strategy, result] = key.split('\u0000') as [string, string];
    actions.set([strategy, result], count);
  }
  const durations = registry.histogram('warren_remediation_action_duration_seconds', 'Time from an action starting to its verified (or failed) end, by strategy.', ['strategy'], DURATION_BUCKETS);
  for (const [strategy, data] of [...stats.durations].sort()) durations.set([strategy], data);

  const skips = registry.counter('warren_remediation_skips_total', 'Actions a guard stopped, by reason (cooldown, breaker_open, maintenance_window, silenced, ...).', ['reason']);
  for (const [reason, count] of [...stats.skips].sort()) skips.set([reason], count);
  const escalations = registry.counter('warren_remediation_escalations_total', 'Times the remediator handed a fault to a human, by reason.', ['reason']);
  for (const [reason, count] of [...stats.escalations].sort()) escalations.set([reason], count);
  const requests = registry.counter('warren_remediation_webhook_requests_total', 'Webhook requests by HTTP status answered.', ['code']);
  for (const [code, count] of [...webhookRequests].sort()) requests.set([code], count);

  const byState = store.countByState();
  const states = registry.gauge('warren_remediation_actions_by_state', 'Actions in the audit trail by state.', ['state']);
  for (const state of ACTION_STATES) states.set([state], byState.get(state) ?? 0);
  registry.gauge('warren_remediation_breakers_open', 'Circuit breakers (rule, target) open now.').set([], store.openBreakers(new Date(now()).toISOString()).length);
  registry.gauge('warren_remediation_inbox', 'Webhook deliveries persisted and not yet routed (deduplicated, matched to rules).').set([], engine.inboxSize);
  registry.gauge('warren_remediation_locks_held', 'Target locks held by running actions.').set([], engine.locks.size);
  registry.gauge('warren_remediation_paused', '1 while remediation is paused (POST /api/v1/pause).').set([], engine.paused ? 1 : 0);
  // The process this runs in: the engine's own under `warren remediator` (process_* is the HTTP side's).
  writeProcessMetrics(registry, processSnapshot(), 'warren_remediation_engine_process', "the process the remediation engine runs in");
  return registry.renderChunks();
}
