// Maps an alert to the rules that handle it, with Alertmanager's route semantics: rules are tried
// in order, the first that applies wins, and a rule with `continue: true` lets matching go on.
import type { AlertStatus, RemediationRule } from '../settings.ts';
import type { StrategyName } from '../strategies/catalogue.ts';
import { matchesAll } from './matchers.ts';
import { renderTemplate } from './templates.ts';

export interface RoutableAlert {
  status: AlertStatus;
  labels: Readonly<Record<string, string>>;
}

/** One step of a rule's escalation chain with its params rendered for a particular alert. */
export interface RenderedStep {
  strategy: StrategyName;
  params: Record<string, string>;
  executeTimeoutMs: number;
  verifyTimeoutMs: number;
}

export type RouteResult =
  | { rule: RemediationRule; steps: RenderedStep[] }
  /** The rule applies but a param template names a label the alert lacks (or has empty). */
  | { rule: RemediationRule; error: { code: 'missing_label'; label: string } };

/** Whether a rule applies to an alert: its status matches and every matcher matches. */
export function ruleApplies(rule: RemediationRule, alert: RoutableAlert): boolean {
  return (rule.status === 'any' || rule.status === alert.status) && matchesAll(rule.matchers, alert.labels);
}

/** The rules that apply to an alert, in order, each with its chain rendered; empty when none does. */
export function routeAlert(rules: readonly RemediationRule[], alert: RoutableAlert): RouteResult[] {
  const results: RouteResult[] = [];
  for (const rule of rules) {
    if (!ruleApplies(rule, alert)) continue;
    results.push(renderChain(rule, alert.labels));
    if (!rule.continue) break;
  }
  return results;
}

function renderChain(rule: RemediationRule, labels: Readonly<Record<string, string>>): RouteResult {
  const steps: RenderedStep[] = [];
  for (const step of rule.chain) {
    const params: Record<string, string> = {};
    for (const [name, template] of Object.entries(step.params)) {
      const rendered = renderTemplate(template, labels);
      if (!rendered.ok) return { rule, error: { code: 'missing_label', label: rendered.missingLabel } };
      params[name] = rendered.value;
    }
    steps.push({ strategy: step.strategy, params, executeTimeoutMs: step.executeTimeoutMs, verifyTimeoutMs: step.verifyTimeoutMs });
  }
  return { rule, steps };
}
