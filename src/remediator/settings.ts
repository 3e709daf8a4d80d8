// The remediator's typed settings (the `remediation` section of warren.yml, validated in config/).
import { parseConfigText } from '../config/load.ts';
import { mostCautiousMode } from '../config/schema.ts';
import type { Secret } from '../config/secret.ts';
import { WarrenError } from '../errors.ts';
import type { StrategyName } from './strategies/catalogue.ts';

/** enforce: act; approve: wait for an operator's approval, then act; dry_run: record what would be done. */
export type RemediationMode = 'enforce' | 'dry_run' | 'approve';
/**
 * When a webhook delivery is acknowledged: `flush`, once its commit is flushed to disk (it survives
 * a power loss); `write`, once its commit is written to the operating system (it survives the
 * process crashing, and a power loss unless it came within the last INBOX_FLUSH_INTERVAL_MS and
 * the flush then under way).
 */
export type AcknowledgeAfter = 'flush' | 'write';
export type AlertStatus = 'firing' | 'resolved';
export type MatchOperator = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  label: string;
  operator: MatchOperator;
  value: string;
  /** anchored, for =~ and !~ */
  regex?: RegExp;
  /** as written, for logs and the audit trail */
  text: string;
}

export interface BreakerSettings {
  /** Actions (per rule and target) allowed within `windowMs` before the breaker opens. */
  maxAttempts: number;
  windowMs: number;
  /** How long an open breaker refuses actions for that rule and target. */
  openForMs: number;
}

export interface StrategyStepConfig {
  strategy: StrategyName;
  /** Raw templates: literal text with `{{ $labels.NAME }}` placeholders. */
  params: Readonly<Record<string, string>>;
  /** Already resolved from the global defaults. */
  executeTimeoutMs: number;
  verifyTimeoutMs: number;
}

export interface RemediationRule {
  name: string;
  matchers: readonly Matcher[];
  status: AlertStatus | 'any';
  /** The escalation chain: the next step runs when the previous one fails to heal. */
  chain: readonly StrategyStepConfig[];
  /** Keep matching later rules after this one (Alertmanager's `continue`). */
  continue: boolean;
  /**
   * The most cautious of the global mode and the rule's own, as loaded. Code that can see a changed
   * global mode (`--mode`) uses effectiveMode(settings.mode, rule.ownMode) instead.
   */
  mode: RemediationMode;
  /** The mode the rule itself asks for, if any. */
  ownMode?: RemediationMode | undefined;
  cooldownMs: number;
  breaker: BreakerSettings;
  origin: 'config' | 'default';
}

export type MaintenanceWindow =
  | {
      name: string;
      kind: 'weekly';
      /** 0 = Sunday .. 6 = Saturday: the days a window starts on. */
      weekdays: readonly number[];
      /** Minutes after local midnight; endMinute < startMinute crosses midnight. */
      startMinute: number;
      endMinute: number;
      /** IANA time zone the wall-clock times are in. */
      timezone: string;
    }
  | { name: string; kind: 'absolute'; fromMs: number; toMs: number };

export interface RemediatorSettings {
  listenAddress: string;
  port: number;
  tls?: { certFile: string; keyFile: string } | undefined;
  auth: { bearerToken?: Secret | undefined; basicAuth?: { username: string; password: Secret } | undefined };
  mode: RemediationMode;
  /** SQLite database path (absolute), or `:memory:`. */
  stateFile: string;
  maxBodyBytes: number;
  acknowledgeAfter: AcknowledgeAfter;
  executeTimeoutMs: number;
  verifyTimeoutMs: number;
  verifyIntervalMs: number;
  cooldownMs: number;
  breaker: BreakerSettings;
  dedupRetentionMs: number;
  /** Finished actions (the audit trail) are forgotten this long after they finished. */
  auditRetentionMs: number;
  approvalTimeoutMs: number;
  escalationWebhook?: { url: string; bearerToken?: Secret | undefined; timeoutMs: number } | undefined;
  alertmanager?: { url: string; checkSilences: boolean; timeoutMs: number; basicAuth?: { username: string; password: Secret } | undefined } | undefined;
  maintenanceWindows: readonly MaintenanceWindow[];
  /** Configured rules in file order, then (with `default_rules: true`) the shipped defaults. */
  rules: readonly RemediationRule[];
}

/**
 * The mode a rule runs in: the most cautious of the global mode and the rule's own
 * (dry_run over approve over enforce), so a rule can only tighten the global mode, never loosen it.
 */
export function effectiveMode(global: RemediationMode, rule?: RemediationMode): RemediationMode {
  return rule === undefined ? global : mostCautiousMode(global, rule);
}

/**
 * Whether the webhook receiver must authenticate its callers: whenever any rule (defaults included)
 * can act or ask for approval, i.e. whenever the global mode is not dry_run. The server refuses to
 * start when this is true and `auth` gives no credentials.
 */
export function requiresCredentials(settings: RemediatorSettings): boolean {
  return settings.rules.some((rule) => effectiveMode(settings.mode, rule.ownMode) !== 'dry_run') || settings.mode !== 'dry_run';
}

/**
 * The settings a config without a `remediation` section gets. Derived from the config schema, so the
 * defaults live in one place (config/schema.ts); relative paths resolve against the working directory.
 */
export function defaultRemediatorSettings(): RemediatorSettings {
  const minimal = 'clusters: { defaults: { nodes: [{ name: rabbit@localhost, management_url: "http://127.0.0.1:15672" }] } }';
  return parseConfigText(minimal, '(remediator defaults)', { env: {} }).remediation;
}

/** The settings with another global mode (`warren remediator --mode`), every rule's mode recomputed. */
export function withMode(settings: RemediatorSettings, mode: RemediationMode): RemediatorSettings {
  return { ...settings, mode, rules: settings.rules.map((rule) => ({ ...rule, mode: effectiveMode(mode, rule.ownMode) })) };
}

/** What `warren remediator` may override on the command line. */
export interface RemediatorOverrides {
  mode?: string | undefined;
  stateFile?: string | undefined;
}

/** The `remediation` settings with the command line's overrides applied (`--mode`, `--state-file`). */
export function remediatorSettings(settings: RemediatorSettings, overrides: RemediatorOverrides): RemediatorSettings {
  let result = settings;
  if (overrides.mode !== undefined) {
    if (!['enforce', 'dry_run', 'approve'].includes(overrides.mode)) throw new WarrenError('INVALID_ARGUMENT', `--mode must be enforce, dry_run or approve, got ${JSON.stringify(overrides.mode)}`);
    result = withMode(result, overrides.mode as RemediationMode);
  }
  if (overrides.stateFile !== undefined) result = { ...result, stateFile: overrides.stateFile };
  return result;
}
