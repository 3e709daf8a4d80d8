// The remediation engine with everything it works with (durable state, cluster clients, the
// escalation notifier, the silence check), and the calls the HTTP side makes on it. One runtime
// serves both ways of running it: in the webhook's own thread (tests that script strategies), or in
// a child process of its own (`warren remediator`, see engine-host.ts), so that routing and
// actions never hold up the acknowledgement of a webhook delivery.
import type { ClusterConfig, WarrenConfig } from '../config/types.ts';
import type { Logger } from '../logging.ts';
import { ManagementClient } from '../rabbitmq/management/client.ts';
import { NodeControl } from '../rabbitmq/node-control.ts';
import type { EngineLock } from './engine-lock.ts';
import { RemediationEngine, type ApprovalOutcome, type ClusterAccess } from './engine.ts';
import { SilenceChecker } from './guards/silences.ts';
import { renderRemediatorMetrics } from './metrics.ts';
import { Inbox, inboxFileFor } from './inbox.ts';
import { createNotifier } from './notifier.ts';
import type { RemediationMode, RemediatorSettings } from './settings.ts';
import { RemediationStore, type ActionFilter, type ActionRecord, type BreakerRecord } from './store.ts';
import type { StrategyName } from './strategies/catalogue.ts';
import type { Strategy } from './strategies/strategy.ts';

export interface EngineRuntimeDeps {
  config: WarrenConfig;
  settings: RemediatorSettings;
  logger: Logger;
  /** Defaults to a store on `settings.stateFile`. */
  store?: RemediationStore | undefined;
  clusterAccess?: ((cluster: ClusterConfig) => ClusterAccess) | undefined;
  strategies?: Readonly<Record<StrategyName, Strategy>> | undefined;
  now?: (() => number) | undefined;
  /** Defaults to the inbox beside the store's file, written and read in this thread. */
  inbox?: Inbox | undefined;
  /** Told when deliveries below an id are routed; defaults to deleting them from `inbox`. */
  onRouted?: ((belowId: number) => void) | undefined;
  /**
   * The state file's engine lock (engine-lock.ts), taken by the caller before (the engine process
   * does), released by this runtime when it closes, or if it cannot be built.
   */
  lock?: EngineLock | undefined;
}

export interface RemediatorStatus {
  mode: RemediationMode;
  paused: boolean;
  inbox: number;
  actions: Record<string, number>;
  openBreakers: BreakerRecord[];
  locksHeld: number;
  rules: { name: string; origin: 'config' | 'default'; mode: RemediationMode; status: string; matchers: string[]; strategies: string[] }[];
}

/** What the HTTP side asks of the engine. Everything here is plain data, so it can cross to the engine's process. */
export interface EngineCalls {
  approve(id: number, by: string): ApprovalOutcome;
  reject(id: number, by: string): ApprovalOutcome;
  /** Returns whether remediation is paused now. */
  setPaused(paused: boolean, by: string): boolean;
  status(): RemediatorStatus;
  listActions(filter: ActionFilter): ActionRecord[];
  getAction(id: number): ActionRecord | undefined;
  /** The exposition text; webhook answers are counted where requests are answered. */
  metrics(webhookRequests: [code: string, count: number][]): string;
  /** Resolves once the inbox is routed and nothing runs (tests and benchmarks). */
  idle(): Promise<void>;
  /** Reports what a previous process left running, then starts routing and acting. */
  start(): void;
}

export const ENGINE_CALLS = ['approve', 'reject', 'setPaused', 'status', 'listActions', 'getAction', 'metrics', 'idle', 'start'] as const satisfies readonly (keyof EngineCalls)[];

export interface EngineRuntime {
  engine: RemediationEngine;
  store: RemediationStore;
  inbox: Inbox;
  calls: EngineCalls;
  /** Stops taking work (running actions get `graceMs`), then closes clients and the store. */
  close(graceMs: number): Promise<void>;
}

export function createEngineRuntime(deps: EngineRuntimeDeps): EngineRuntime {
  const { config, settings, logger } = deps;
  const now = deps.now ?? Date.now;
  const { lock } = deps;
  let store: RemediationStore | undefined;
  let inbox: Inbox;
  try {
    store = deps.store ?? new RemediationStore(settings.stateFile);
    inbox = deps.inbox ?? new Inbox(inboxFileFor(store.file), { acknowledgeAfter: settings.acknowledgeAfter });
  } catch (error) {
    store?.close();
    lock?.release();
    throw error;
  }
  const accessByCluster = new Map<string, ClusterAccess>();
  const clusterAccess =
    deps.clusterAccess ??
    ((cluster: ClusterConfig) => {
      let access = accessByCluster.get(cluster.name);
      if (!access) {
        access = { management: new ManagementClient(cluster), nodeControl: new NodeControl(cluster) };
        accessByCluster.set(cluster.name, access);
      }
      return access;
    });
  const notifier = createNotifier(settings.escalationWebhook, logger);
  const silences = settings.alertmanager?.checkSilences ? new SilenceChecker(settings.alertmanager) : undefined;
  const engine = new RemediationEngine({
    settings,
    config,
    store,
    logger,
    clusterAccess,
    notifier,
    silences,
    strategies: deps.strategies,
    now,
    inbox,
    onRouted: deps.onRouted ?? ((belowId) => inbox.forgetBelow(belowId)),
  });

  const calls: EngineCalls = {
    approve: (id, by) => engine.approve(id, by),
    reject: (id, by) => engine.reject(id, by),
    setPaused(paused, by) {
      engine.setPaused(paused, by);
      return engine.paused;
    },
    status() {
      engine.expireDueApprovals();
      return {
        mode: settings.mode,
        paused: engine.paused,
        inbox: engine.inboxSize,
        actions: Object.fromEntries(store.countByState()),
        openBreakers: store.openBreakers(new Date(now()).toISOString()),
        locksHeld: engine.locks.size,
        rules: settings.rules.map((rule) => ({ name: rule.name, origin: rule.origin, mode: rule.mode, status: rule.status, matchers: rule.matchers.map((m) => m.text), strategies: rule.chain.map((s) => s.strategy) })),
      };
    },
    listActions(filter) {
      engine.expireDueApprovals();
      return store.listActions(filter);
    },
    getAction(id) {
      engine.expireDueApprovals();
      return store.getAction(id);
    },
    metrics: (webhookRequests) => Buffer.concat(renderRemediatorMetrics(engine, store, new Map(webhookRequests), now)).toString('utf8'),
    idle: () => engine.idle(),
    start: () => engine.start(),
  };

  return {
    engine,
    store,
    inbox,
    calls,
    async close(graceMs) {
      await engine.stop(graceMs);
      notifier.close();
      silences?.close();
      await Promise.all([...accessByCluster.values()].map((access) => access.management.close()));
      try {
        store.close();
        inbox.close();
      } finally {
        // Last: a new engine waiting for the file starts only once this one has let go of it.
        lock?.release();
      }
    },
  };
}
