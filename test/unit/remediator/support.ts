// Builders for remediator tests: settings from real YAML through the real config loader, webhook
// payloads shaped like Alertmanager's, and a strategy whose phases the test controls (the strategy
// interface is warren's own; RabbitMQ itself is exercised in the integration tests).
import { parseConfigText } from '../../../src/config/load.ts';
import type { WarrenConfig } from '../../../src/config/types.ts';
import { createLogger } from '../../../src/logging.ts';
import type { PrecheckResult, Strategy, StrategyContext } from '../../../src/remediator/strategies/strategy.ts';
import type { StrategyName } from '../../../src/remediator/strategies/catalogue.ts';
import { notifyOnly } from '../../../src/remediator/strategies/notify-only.ts';
import type { RemediatorApp } from '../../../src/remediator/app.ts';

export const silentLogger = createLogger('fatal');

/** Polls `condition` every 50 ms; false if it is still not true after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; !condition(); await new Promise((resolve) => setTimeout(resolve, 50))) if (Date.now() > deadline) return false;
  return true;
}

/** A config with one cluster and the given `remediation` section (YAML text, indented two spaces). */
export function configWith(remediationYaml: string, env: NodeJS.ProcessEnv = {}): WarrenConfig {
  const text = `
clusters:
  local:
    nodes:
      - { name: rabbit1@localhost, management_url: "http://127.0.0.1:15672" }
remediation:
${remediationYaml}
`;
  return parseConfigText(text, 'test.yml', { env });
}

let fingerprintSeq = 0;

export function alert(labels: Record<string, string>, overrides: Partial<{ status: 'firing' | 'resolved'; startsAt: string; fingerprint: string; annotations: Record<string, string> }> = {}) {
  const status = overrides.status ?? 'firing';
  return {
    status,
    labels,
    annotations: overrides.annotations ?? { summary: 'test alert' },
    startsAt: overrides.startsAt ?? '2026-11-22T05:00:00.123456789Z',
    endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-22T05:10:00Z',
    generatorURL: 'http://prometheus:9090/graph',
    fingerprint: overrides.fingerprint ?? (++fingerprintSeq).toString(16).padStart(16, '0'),
  };
}

export function payload(alerts: ReturnType<typeof alert>[], extra: Record<string, unknown> = {}) {
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return {
    version: '4',
    groupKey: '{}:{alertname="x"}',
    truncatedAlerts: 0,
    status,
    receiver: 'warren-remediator',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
    ...extra,
  };
}

export interface ScriptedStrategy extends Strategy {
  calls: { precheck: number; execute: number; verify: number };
  /** What precheck answers next. */
  precheckVerdict: PrecheckResult;
  /** Verification results in order; the last one repeats. */
  verifyResults: boolean[];
  /** Resolves when execute is allowed to finish (set to hold an action in flight). */
  gate: Promise<void> | undefined;
  /** Resolves when precheck may answer (set to hold an action before it changes anything). */
  precheckGate: Promise<void> | undefined;
  executeError: Error | undefined;
  lastContext: StrategyContext | undefined;
}

/** A strategy under test control, registered under a catalogue name (it targets the alert's `queue` label). */
export function scriptedStrategy(name: StrategyName): ScriptedStrategy {
  const strategy: ScriptedStrategy = {
    name,
    changesCluster: name !== 'notify_only',
    calls: { precheck: 0, execute: 0, verify: 0 },
    precheckVerdict: { verdict: 'proceed' },
    verifyResults: [true],
    gate: undefined,
    precheckGate: undefined,
    executeError: undefined,
    lastContext: undefined,
    targets: (cluster, params) => [`${cluster}/queue/${params.vhost ?? '%2F'}/${params.queue ?? 'q'}`],
    async precheck(context) {
      strategy.calls.precheck++;
      strategy.lastContext = context;
      if (strategy.precheckGate) await strategy.precheckGate;
      return strategy.precheckVerdict;
    },
    observe: async () => ({ observed: true }),
    plan: async (context) => [{ description: `scripted ${name} on ${context.params.queue ?? 'q'}`, command: `POST /scripted/${context.params.queue ?? 'q'}` }],
    async execute(context) {
      strategy.calls.execute++;
      const step = context.steps.begin('execute', 'scripted execute', `POST /scripted/${context.params.queue ?? 'q'}`);
      if (strategy.gate) await Promise.race([strategy.gate, new Promise((_, reject) => context.signal.addEventListener('abort', () => reject(context.signal.reason)))]);
      if (strategy.executeError) {
        step.fail({ error: strategy.executeError.message });
        throw strategy.executeError;
      }
      step.ok();
    },
    async verify() {
      const index = Math.min(strategy.calls.verify, strategy.verifyResults.length - 1);
      strategy.calls.verify++;
      return { healthy: strategy.verifyResults[index] ?? true };
    },
  };
  return strategy;
}

export { notifyOnly };

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The engine and store of an app whose engine runs in the test's own thread. */
export function local(app: RemediatorApp): NonNullable<RemediatorApp['local']> {
  if (!app.local) throw new Error('this app runs its engine in a worker thread');
  return app.local;
}
