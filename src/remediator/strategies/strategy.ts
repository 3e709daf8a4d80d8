// The interface every recovery strategy implements. The engine drives it: precheck (is it safe and
// still needed?) -> plan (ordered steps, all a dry-run shows) -> execute under a timeout -> verify
// (one check, which the engine repeats until it passes or the verify timeout ends).
import type { ClusterConfig } from '../../config/types.ts';
import type { Logger } from '../../logging.ts';
import type { ManagementClient } from '../../rabbitmq/management/client.ts';
import type { NodeControl } from '../../rabbitmq/node-control.ts';
import type { StepPhase, StoredAlert } from '../store.ts';
import type { StrategyName } from './catalogue.ts';

export type PrecheckResult =
  | { verdict: 'proceed'; detail?: unknown }
  /** The cluster is already in the state the strategy would produce: nothing to do. */
  | { verdict: 'not_needed'; reason: string; detail?: unknown }
  /** Acting now could make things worse (no majority, alarms, wrong version, ...). */
  | { verdict: 'unsafe'; reason: string; detail?: unknown };

export interface PlannedStep {
  description: string;
  /** The exact API call or argv that `execute` will issue. */
  command?: string | undefined;
}

export interface VerifyResult {
  healthy: boolean;
  /** What was seen; kept in the audit trail. */
  detail?: unknown;
}

/** Records a step in the audit trail as it happens. */
export interface StepRecorder {
  begin(phase: StepPhase, description: string, command?: string): StepHandle;
}

export interface StepHandle {
  ok(detail?: unknown): void;
  fail(detail?: unknown): void;
}

/** Something a strategy can tell a human, e.g. through the escalation webhook. */
export interface Notifier {
  /** Delivers a notification; resolves to false (never throws) when it could not be delivered. */
  notify(kind: 'notify' | 'escalation', payload: Record<string, unknown>, signal?: AbortSignal): Promise<boolean>;
  /** Whether an outgoing webhook is configured at all. */
  readonly configured: boolean;
}

export interface StrategyContext {
  actionId: number;
  rule: string;
  alert: StoredAlert;
  cluster: ClusterConfig;
  params: Readonly<Record<string, string>>;
  management: ManagementClient;
  nodeControl: NodeControl;
  notifier: Notifier;
  steps: StepRecorder;
  logger: Logger;
  /** Aborted at the phase's timeout or when warren stops. */
  signal: AbortSignal;
}

export interface Strategy {
  readonly name: StrategyName;
  /**
   * Whether `execute` changes the cluster. The action's start is then flushed to disk before it
   * runs, so that after a power loss it is reported interrupted rather than found pending and run
   * again; a strategy that only tells people skips that flush.
   */
  readonly changesCluster: boolean;
  /**
   * Lock keys of everything the strategy changes, from the most to the least specific
   * (see targets.ts); the first is the action's primary target for cooldowns and the breaker.
   */
  targets(cluster: string, params: Readonly<Record<string, string>>, alert: StoredAlert): string[];
  precheck(context: StrategyContext): Promise<PrecheckResult>;
  /** State worth comparing before and after (kept in the audit trail). */
  observe(context: StrategyContext): Promise<unknown>;
  plan(context: StrategyContext): Promise<PlannedStep[]>;
  execute(context: StrategyContext, plan: readonly PlannedStep[]): Promise<void>;
  verify(context: StrategyContext): Promise<VerifyResult>;
}
