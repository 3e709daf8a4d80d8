// notify_only: records the alert in the audit trail and tells a human through the escalation
// webhook when one is configured (failing when that webhook does not take it). It never touches the cluster, so it is safe for any fault and is
// the usual last link of an escalation chain.
import { WarrenError } from '../../errors.ts';
import type { Strategy } from './strategy.ts';
import { alertTarget } from './targets.ts';

export const notifyOnly: Strategy = {
  name: 'notify_only',
  changesCluster: false,

  targets: (cluster, _params, alert) => [alertTarget(cluster, alert.fingerprint)],

  precheck: async () => ({ verdict: 'proceed' }),

  observe: async () => undefined,

  async plan(context) {
    const steps = [{ description: `record alert ${context.alert.labels.alertname ?? context.alert.fingerprint} in the audit trail and the log` }];
    if (context.notifier.configured) steps.push({ description: 'POST the alert to the escalation webhook' });
    return steps;
  },

  async execute(context) {
    const message = context.params.message ?? context.alert.annotations.summary ?? context.alert.labels.alertname ?? 'alert';
    const logged = context.steps.begin('execute', 'record the alert');
    context.logger.warn({ actionId: context.actionId, rule: context.rule, alert: context.alert.labels, message }, 'remediation: notify only');
    logged.ok({ message });
    if (!context.notifier.configured) return;
    const sent = context.steps.begin('notify', 'POST the alert to the escalation webhook');
    const delivered = await context.notifier.notify('notify', { actionId: context.actionId, rule: context.rule, message, alert: context.alert }, context.signal);
    if (delivered) return sent.ok();
    sent.fail({ error: 'escalation webhook did not accept the notification' });
    // Telling a human is the whole job: an unsent notification fails the strategy, so that the
    // chain escalates and the action ends failed (and logged at error level), not succeeded.
    throw new WarrenError('STRATEGY_FAILED', 'the escalation webhook did not accept the notification');
  },

  // Nothing to wait for: telling someone is the whole job.
  verify: async () => ({ healthy: true }),
};
