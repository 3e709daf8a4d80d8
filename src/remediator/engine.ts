// The remediation engine. It routes what the inbox holds (deliveries committed, and acknowledged or
// about to be, see inbox.ts and intake.ts): each alert is deduplicated, matched to rules and turned into actions in
// the state file, together with how far routing has got. The work happens afterwards in a worker
// that applies the guards (pause, maintenance windows, cooldowns, circuit breaker, silences, target
// locks, mode) and runs each action's strategy chain.
import type { ClusterConfig, WarrenConfig } from '../config/types.ts';
import { WarrenError, describeError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import type { ManagementClient } from '../rabbitmq/management/client.ts';
import type { NodeControl } from '../rabbitmq/node-control.ts';
import { episodeKey, normaliseTime, type WebhookAlert, type WebhookPayload } from './alert-payload.ts';
import { activeMaintenanceWindow } from './guards/maintenance.ts';
import { TargetLocks } from './guards/locks.ts';
import type { SilenceChecker } from './guards/silences.ts';
import { routeAlert } from './routing/router.ts';
import { effectiveMode, type RemediationMode, type RemediationRule, type RemediatorSettings } from './settings.ts';
import { RemediationStats } from './stats.ts';
import type { Inbox, InboxDelivery } from './inbox.ts';
import type { ActionRecord, ActionState, ChainStep, InboxPosition, RemediationStore, StepPhase, StepRecord, StoredAlert } from './store.ts';
import type { StrategyName } from './strategies/catalogue.ts';
import { STRATEGIES } from './strategies/registry.ts';
import type { Notifier, Strategy, StrategyContext, StepRecorder } from './strategies/strategy.ts';

export interface ClusterAccess {
  management: ManagementClient;
  nodeControl: NodeControl;
}

export interface EngineDeps {
  settings: RemediatorSettings;
  config: WarrenConfig;
  store: RemediationStore;
  logger: Logger;
  /** Clients for a configured cluster, created once and reused. */
  clusterAccess: (cluster: ClusterConfig) => ClusterAccess;
  notifier: Notifier;
  silences?: SilenceChecker | undefined;
  strategies?: Readonly<Record<StrategyName, Strategy>>;
  now?: () => number;
  /** Where accepted deliveries wait to be routed (this engine only reads it). */
  inbox: Inbox;
  /** Told when deliveries below an id are routed, so the inbox's writer can delete them. */
  onRouted?: (belowId: number) => void;
  /** Actions running at once (on distinct targets). */
  maxConcurrent?: number;
  /** How long one slice of inbox routing may run; defaults to ROUTING_SLICE_MS. */
  routingSliceMs?: number | undefined;
}

export interface IntakeResult {
  alerts: number;
  duplicates: number;
  /** Firing deliveries of an episode whose resolution was already received (out of order). */
  alreadyResolved: number;
  unrouted: number;
  actions: number[];
  cancelled: number[];
}

export type ApprovalOutcome = { ok: true; action: ActionRecord } | { ok: false; status: 404 | 409; message: string };

const PAUSED_KEY = 'paused';
/** Step phases in which a strategy may change something outside warren: recorded durably before they start. */
const CHANGING_PHASES: ReadonlySet<StepPhase> = new Set(['execute', 'notify']);
const HOUSEKEEPING_INTERVAL_MS = 60_000;
/** Finished actions forgotten per transaction (each with its steps: a few ms). */
const AUDIT_PRUNE_BATCH = 500;
/** Why an action ends `interrupted`, whether at a stop or found `running` after a crash. */
const INTERRUPTED_REASON = 'warren stopped while the action ran; it is not re-run automatically';
/**
 * The longest a stop waits for the escalations of the actions it interrupted (each gets the
 * escalation webhook's own timeout, up to this) before the notifier closes: within the 10 s the
 * remediator gives the engine's close beyond the actions' grace.
 */
const ESCALATION_GRACE_MAX_MS = 8_000;
/** Backlog rows a worker pass reads per page, and at most per pass. */
const PASS_PAGE = 64;
const PASS_SCAN_LIMIT = 1024;
/**
 * How long one slice of inbox routing (one transaction) may hold the engine's event loop: API calls
 * answered by the engine and running actions wait at most about this behind a burst. The engine has
 * a process of its own, so the webhook's acknowledgements never wait for it.
 */
const ROUTING_SLICE_MS = 20;
/**
 * Routed deliveries between inbox checkpoints, and how long the inbox must be quiet before one
 * copies in what fewer deliveries left. A checkpoint flushes the inbox's files, and the flush an
 * acknowledgement waits for queues behind it: once per drained delivery was too often. At the same
 * points the state's log is flushed and only then is the inbox told how far routing got, so it
 * never forgets a delivery whose routing a power loss could still undo.
 */
const INBOX_CHECKPOINT_EVERY = 64;
const INBOX_QUIET_CHECKPOINT_MS = 1000;

export class RemediationEngine {
  readonly stats = new RemediationStats();
  readonly locks = new TargetLocks();
  readonly #deps: EngineDeps;
  readonly #settings: RemediatorSettings;
  readonly #store: RemediationStore;
  readonly #logger: Logger;
  readonly #strategies: Readonly<Record<StrategyName, Strategy>>;
  readonly #now: () => number;
  readonly #maxConcurrent: number;
  readonly #routingSliceMs: number;
  /** Actions this process is working on, with the controller that aborts them at shutdown. */
  readonly #inFlight = new Map<number, { controller: AbortController; done: Promise<void> }>();
  readonly #escalations = new Set<Promise<boolean>>();
  readonly #rulesByName: Map<string, RemediationRule>;
  #passRunning = false;
  #inboxScheduled = false;
  /** The inbox's oldest delivery, parsed, while it is routed in parts. */
  #headDelivery: { id: number; payload: WebhookPayload } | undefined;
  /** Where routing resumes in the inbox; persisted with what routing wrote. */
  #position: InboxPosition;
  #routedSinceCheckpoint = 0;
  /** Deliveries below this id are routed (committed); the inbox hears of it once that is flushed. */
  #routedBelow = 0;
  #quietCheckpoint: NodeJS.Timeout | undefined;
  #passAgain = false;
  #housekeeping: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#settings = deps.settings;
    this.#store = deps.store;
    this.#logger = deps.logger;
    this.#strategies = deps.strategies ?? STRATEGIES;
    this.#now = deps.now ?? Date.now;
    this.#maxConcurrent = deps.maxConcurrent ?? 4;
    this.#routingSliceMs = deps.routingSliceMs ?? ROUTING_SLICE_MS;
    this.#rulesByName = new Map(this.#settings.rules.map((rule) => [rule.name, rule]));
    this.#position = this.#store.inboxPosition();
    this.#store.onDeferredError = (error) => this.#logger.error({ err: describeError(error) }, 'remediation: a step note of a running action could not be written; dropped');
  }

  /** Reports what a previous process left running, then starts working. */
  start(): void {
    const now = this.#iso();
    this.#position = this.#store.inboxPosition();
    if (this.#position.id > this.#deps.inbox.lastId() + 1) {
      // The inbox file is newer than the state (deleted, or the state restored from a backup): its
      // ids started again, and everything in it is unrouted.
      this.#logger.warn({ position: this.#position, inboxLastId: this.#deps.inbox.lastId() }, 'remediation: the inbox was replaced; routing it from the start');
      this.#position = { id: 0, routed: 0 };
      this.#store.setInboxPosition(this.#position);
    }
    // Deliveries an older warren accepted into the state file itself: moved to the inbox first
    // (a crash in between repeats some, which deduplication absorbs).
    const legacy = this.#store.legacyInbox();
    if (legacy.length > 0) {
      this.#deps.inbox.add(legacy.map((row) => row.payload), now);
      this.#store.dropLegacyInbox();
      this.#logger.info({ deliveries: legacy.length }, 'remediation: moved deliveries from an older state file into the inbox');
    }
    for (const action of this.#store.actionsInStates(['running'])) {
      this.#store.finish(action.id, 'interrupted', now, { reason: INTERRUPTED_REASON });
      this.stats.actionFinished(this.#strategyOf(action), 'interrupted', undefined);
      this.#logger.error({ actionId: action.id, rule: action.rule, cluster: action.cluster, targets: action.targets }, 'remediation: action interrupted by a restart; check the target by hand');
      void this.#escalate(action, 'interrupted', INTERRUPTED_REASON);
    }
    this.#housekeep();
    this.#housekeeping = setInterval(() => this.#housekeep(), HOUSEKEEPING_INTERVAL_MS);
    this.#housekeeping.unref();
    this.#scheduleInbox(); // deliveries accepted before a restart and not yet routed
    this.kick();
  }

  /** Stops taking work; running actions get `graceMs` to finish, then are aborted and marked interrupted. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopped = true;
    if (this.#housekeeping) clearInterval(this.#housekeeping);
    clearTimeout(this.#quietCheckpoint);
    const running = [...this.#inFlight.values()];
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(running.map((r) => r.done)), graceOver]);
    clearTimeout(timer);
    for (const r of this.#inFlight.values()) r.controller.abort(new WarrenError('STRATEGY_TIMEOUT', 'warren is shutting down'));
    await Promise.all([...this.#inFlight.values()].map((r) => r.done));
    // The interrupted actions' escalations get a moment to leave before the notifier is closed.
    const escalationGrace = Math.min(ESCALATION_GRACE_MAX_MS, this.#settings.escalationWebhook?.timeoutMs ?? 0);
    if (this.#escalations.size > 0 && escalationGrace > 0) {
      let escalationTimer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.#escalations]), new Promise<void>((resolve) => (escalationTimer = setTimeout(resolve, escalationGrace)))]);
      clearTimeout(escalationTimer);
    }
  }

  get paused(): boolean {
    return this.#store.getSetting(PAUSED_KEY) === 'true';
  }

  setPaused(paused: boolean, by: string): void {
    this.#store.setSetting(PAUSED_KEY, String(paused));
    this.#logger.warn({ by }, paused ? 'remediation paused: new actions wait until resumed' : 'remediation resumed');
    if (!paused) this.kick();
  }

  /**
   * Puts one delivery in the inbox and routes it at once, the way the inbox is always routed, and
   * returns what routing did: for driving the engine directly (tests). The webhook goes through
   * Intake and the inbox writer instead. Throws when the delivery could not be routed.
   */
  receive(payload: WebhookPayload): IntakeResult {
    const [id] = this.#deps.inbox.add([JSON.stringify(payload)], this.#iso());
    const total: IntakeResult = { alerts: 0, duplicates: 0, alreadyResolved: 0, unrouted: 0, actions: [], cancelled: [] };
    // Deliveries ahead of it in the inbox are routed first, as they would be anyway.
    for (let delivery = this.#deps.inbox.next(this.#position.id); delivery && delivery.id <= (id as number); delivery = this.#deps.inbox.next(this.#position.id)) {
      const effects: (() => void)[] = [];
      const part = this.#store.transaction(() => this.#routeDeliveryPart(delivery as InboxDelivery, this.#position, Number.POSITIVE_INFINITY, effects));
      this.#position = part.position;
      this.#runEffects(effects);
      if (delivery.id !== id) continue;
      if (part.failure !== undefined) throw part.failure;
      total.alerts += part.result.alerts;
      total.duplicates += part.result.duplicates;
      total.alreadyResolved += part.result.alreadyResolved;
      total.unrouted += part.result.unrouted;
      total.actions.push(...part.result.actions);
      total.cancelled.push(...part.result.cancelled);
    }
    return total;
  }

  /** New deliveries are in the inbox: route them. */
  inboxChanged(): void {
    this.#scheduleInbox();
  }

  #scheduleInbox(): void {
    if (this.#inboxScheduled || this.#stopped) return;
    this.#inboxScheduled = true;
    setImmediate(() => this.#routeInboxSlice());
  }

  /**
   * Routes inbox deliveries for one slice of time in one transaction, then yields, so that the
   * engine's other work (API calls, running actions) waits at most a slice behind a burst. The unit
   * of work is one alert, not one delivery: a slice may end inside a delivery, and records how far
   * it got together with the alerts it routed, so a crash resumes exactly there. The position moves
   * past a delivery with its last alert.
   *
   * Why one transaction per slice: each commit rewrites the pages it touched (the last leaf of every
   * table and index, the position), so committing per delivery wrote ~8 KB per routed alert, and
   * under a burst those writes compete with the inbox's flush, which every acknowledgement waits for.
   */
  #routeInboxSlice(): void {
    this.#inboxScheduled = false;
    if (this.#stopped) return;
    const deadline = performance.now() + this.#routingSliceMs;
    const effects: (() => void)[] = [];
    let drained: boolean;
    try {
      // Nothing new: no write transaction opened for nothing.
      drained = this.#deps.inbox.lastId() < this.#position.id;
      if (!drained) {
        this.#position = this.#store.transaction(() => {
          let position = this.#position;
          do {
            const delivery = this.#deps.inbox.next(position.id);
            if (!delivery) {
              drained = true;
              break;
            }
            position = this.#routeDeliveryPart(delivery, position, deadline, effects).position;
          } while (performance.now() < deadline);
          return position;
        });
      }
    } catch (error) {
      // The state could not be written: the deliveries stay in the inbox and housekeeping retries them.
      this.#logger.error({ err: describeError(error) }, 'remediation: routing webhook deliveries failed; will retry');
      return;
    }
    this.#runEffects(effects);
    if (drained) {
      this.#headDelivery = undefined;
      // A steady stream drains every slice and is never quiet: it checkpoints by count as well.
      this.#checkpointInbox(INBOX_CHECKPOINT_EVERY);
      this.#checkpointInboxWhenQuiet();
      this.kick();
      return;
    }
    this.#checkpointInbox(INBOX_CHECKPOINT_EVERY);
    this.#scheduleInbox();
  }

  /**
   * Routes alerts of one inbox delivery, from `position` on, until it is done or `deadline` passes,
   * inside the caller's transaction. What must wait for the commit (counters, logs, the routed
   * position's news) is pushed to `effects`.
   */
  #routeDeliveryPart(delivery: InboxDelivery, position: InboxPosition, deadline: number, effects: (() => void)[]): { position: InboxPosition; result: IntakeResult; failure?: unknown } {
    const result: IntakeResult = { alerts: 0, duplicates: 0, alreadyResolved: 0, unrouted: 0, actions: [], cancelled: [] };
    // Parsed once, however many parts it takes.
    if (this.#headDelivery?.id !== delivery.id) {
      let parsed: WebhookPayload;
      try {
        parsed = JSON.parse(delivery.payload) as WebhookPayload;
      } catch (error) {
        // Written validated, so the row is damaged: skipped (and said), never retried forever.
        const next = { id: delivery.id + 1, routed: 0 };
        this.#store.setInboxPosition(next);
        effects.push(() => {
          this.#logger.error({ delivery: delivery.id, receivedAt: delivery.receivedAt, err: describeError(error) }, 'remediation: a webhook delivery in the inbox is unreadable; skipped');
          this.#routedPast(next.id);
        });
        return { position: next, result, failure: error };
      }
      this.#headDelivery = { id: delivery.id, payload: parsed };
    }
    const { payload } = this.#headDelivery;
    const samePart = delivery.id === position.id && (position.receivedAt === undefined || position.receivedAt === delivery.receivedAt);
    const from = samePart ? position.routed : 0;
    const now = this.#iso();
    const afterCommit: (() => void)[] = [];
    let next = from;
    let failure: unknown;
    try {
      this.#store.savepoint(() => {
        // At least one alert per part, so every part makes progress (an empty delivery has none).
        if (next < payload.alerts.length)
          do {
            this.#intakeAlert(payload.alerts[next] as WebhookAlert, payload, now, result, afterCommit);
            next++;
          } while (next < payload.alerts.length && performance.now() < deadline);
      });
    } catch (error) {
      // SQLite ended the whole transaction (disk full, I/O error): the slice fails and is retried.
      if (!this.#store.inTransaction) throw error;
      // Validated on arrival, so this is a bug or a broken row: its part is undone, and the rest
      // of the delivery is dropped (logged below) rather than retried forever.
      failure = error;
      next = payload.alerts.length;
      result.actions = [];
      result.cancelled = [];
      afterCommit.length = 0;
    }
    // Routed together with recording the progress: a crash redoes both or neither.
    const reached: InboxPosition = next >= payload.alerts.length ? { id: delivery.id + 1, routed: 0 } : { id: delivery.id, routed: next, receivedAt: delivery.receivedAt };
    this.#store.setInboxPosition(reached);
    const routed = payload.alerts.slice(from, next);
    effects.push(() => {
      if (reached.routed === 0) this.#routedPast(reached.id);
      if (failure !== undefined) {
        this.#logger.error({ delivery: delivery.id, receivedAt: delivery.receivedAt, fromAlert: from, err: describeError(failure) }, 'remediation: a webhook delivery could not be routed');
        return;
      }
      result.alerts = routed.length;
      this.stats.delivery(routed, result);
      for (const count of afterCommit) count();
      if (from === 0 && payload.truncatedAlerts > 0) {
        this.#logger.warn({ truncatedAlerts: payload.truncatedAlerts, groupKey: payload.groupKey }, 'Alertmanager truncated the group (max_alerts): some alerts were not delivered');
      }
      if (result.actions.length > 0 || result.cancelled.length > 0) this.kick();
    });
    return { position: reached, result, failure };
  }

  /** What waited for routing's commit (counters, logs, news); one failing never skips the others. */
  #runEffects(effects: readonly (() => void)[]): void {
    for (const effect of effects) {
      try {
        effect();
      } catch (error) {
        this.#logger.error({ err: describeError(error) }, 'remediation: bookkeeping after routing failed');
      }
    }
  }

  /** Deliveries accepted and not yet (completely) routed. */
  get inboxSize(): number {
    return this.#deps.inbox.countFrom(this.#position.id);
  }

  /** After INBOX_QUIET_CHECKPOINT_MS without another delivery routed, checkpoints what is left. */
  #checkpointInboxWhenQuiet(): void {
    if (this.#routedSinceCheckpoint === 0 || this.#stopped) return;
    const routed = this.#routedSinceCheckpoint;
    clearTimeout(this.#quietCheckpoint);
    this.#quietCheckpoint = setTimeout(() => {
      if (this.#routedSinceCheckpoint === routed) this.#checkpointInbox(1);
    }, INBOX_QUIET_CHECKPOINT_MS);
    this.#quietCheckpoint.unref();
  }

  /** Routing has got past every delivery below `id` (committed, not yet flushed). */
  #routedPast(id: number): void {
    this.#routedSinceCheckpoint++;
    this.#routedBelow = Math.max(this.#routedBelow, id);
  }

  /**
   * After `every` routed deliveries: flushes the state's log, then tells the inbox what it may
   * forget, and copies the inbox's log into its file. Here, never on the acknowledgement's path.
   */
  #checkpointInbox(every: number): void {
    if (this.#routedSinceCheckpoint < every) return;
    this.#routedSinceCheckpoint = 0;
    clearTimeout(this.#quietCheckpoint);
    const routedBelow = this.#routedBelow;
    try {
      // What was routed may not be on disk in the inbox yet (its flush follows the commit, and with
      // `write` the acknowledgement too): it goes first, so that this flush of the state does not
      // record routing past deliveries a power loss could undo. (The state's log also reaches the
      // disk at other moments; start() recovers a state ahead of its inbox.) Only then may the
      // inbox forget what is routed.
      this.#deps.inbox.syncToDisk();
      this.#store.syncToDisk();
      this.#deps.onRouted?.(routedBelow);
    } catch (error) {
      // The inbox keeps the deliveries; a checkpoint once quiet tries again.
      this.#logger.warn({ err: describeError(error) }, 'remediation: could not flush the state; the inbox keeps routed deliveries for now');
      this.#routedSinceCheckpoint = Math.max(this.#routedSinceCheckpoint, 1);
      this.#checkpointInboxWhenQuiet();
    }
    try {
      this.#deps.inbox.checkpoint();
    } catch (error) {
      this.#logger.warn({ err: describeError(error) }, 'remediation: inbox checkpoint failed; will retry');
    }
  }

  #intakeAlert(alert: WebhookAlert, payload: WebhookPayload, now: string, result: IntakeResult, afterCommit: (() => void)[]): void {
    const stored = toStoredAlert(alert);
    if (!this.#store.recordEpisode(episodeKey(stored), stored, now)) {
      if (alert.status === 'firing' && this.#actOnPlannedEpisode(alert, stored, payload, now, result, afterCommit)) return;
      result.duplicates++;
      return;
    }
    if (alert.status === 'resolved') {
      for (const { id, strategy } of this.#store.cancellableFor(stored.fingerprint, stored.startsAt)) {
        if (this.#store.transition(id, ['pending', 'awaiting_approval', 'approved'], 'cancelled', now, { reason: 'the alert resolved before the action started' })) {
          result.cancelled.push(id);
          afterCommit.push(() => this.stats.actionFinished(strategy, 'cancelled', undefined));
        }
      }
    } else if (this.#store.hasEpisode(episodeKey({ ...stored, status: 'resolved' }))) {
      // An HA peer's late firing delivery after the resolve: acting on it would act on a healed fault.
      result.alreadyResolved++;
      return;
    }
    const routes = routeAlert(this.#settings.rules, { status: alert.status, labels: alert.labels });
    if (routes.length === 0) {
      result.unrouted++;
      return;
    }
    for (const route of routes) result.actions.push(this.#createAction(route, stored, payload.receiver, now, afterCommit));
  }

  /**
   * A repeat of a firing episode is a duplicate, except for a rule that only planned it (dry_run)
   * and acts now (enforce or approve since a restart): the alert still fires and nothing was done
   * about it, so the repeat (Alertmanager's repeat_interval) creates the action going live promised.
   * Once per rule: the new action is not `planned`, so later repeats are duplicates again.
   */
  #actOnPlannedEpisode(alert: WebhookAlert, stored: StoredAlert, payload: WebhookPayload, now: string, result: IntakeResult, afterCommit: (() => void)[]): boolean {
    const earlier = this.#store.episodeActions(stored.fingerprint, stored.startsAt);
    if (earlier.length === 0 || earlier.some((action) => action.state !== 'planned')) return false;
    if (this.#store.hasEpisode(episodeKey({ ...stored, status: 'resolved' }))) return false;
    const planned = new Set(earlier.map((action) => action.rule));
    const routes = routeAlert(this.#settings.rules, { status: alert.status, labels: alert.labels }).filter((route) => route.rule.mode !== 'dry_run' && planned.has(route.rule.name));
    if (routes.length === 0) return false;
    for (const route of routes) result.actions.push(this.#createAction(route, stored, payload.receiver, now, afterCommit));
    this.#logger.info({ fingerprint: stored.fingerprint, startsAt: stored.startsAt, rules: routes.map((route) => route.rule.name) }, 'remediation: an episode only planned in dry_run fires on; its rules act now');
    return true;
  }

  #createAction(route: ReturnType<typeof routeAlert>[number], alert: StoredAlert, receiver: string, now: string, afterCommit: (() => void)[]): number {
    const { rule } = route;
    const base = { mode: rule.mode, rule: rule.name, alert, receiver };
    const skipped = (code: string, reason: string, chain: ChainStep[]) => {
      afterCommit.push(() => {
        this.stats.skipped(code);
        this.stats.actionFinished(chain[0]?.strategy, 'skipped', undefined);
      });
      return this.#store.insertAction({ ...base, state: 'skipped', reason: `${code}: ${reason}`, cluster: '', targets: [], chain }, now);
    };
    if ('error' in route) {
      const chain = rule.chain.map((s) => ({ strategy: s.strategy, params: {}, executeTimeoutMs: s.executeTimeoutMs, verifyTimeoutMs: s.verifyTimeoutMs }));
      return skipped('missing_label', `the alert has no (or an empty) label ${route.error.label}`, chain);
    }
    const chain: ChainStep[] = route.steps.map((step) => ({ strategy: step.strategy, params: { ...step.params }, executeTimeoutMs: step.executeTimeoutMs, verifyTimeoutMs: step.verifyTimeoutMs }));
    const cluster = this.#clusterFor(chain[0]?.params.cluster, alert.labels.cluster);
    if (!cluster.ok) return skipped('unknown_cluster', cluster.reason, chain);
    let targets: string[];
    try {
      targets = [...new Set(chain.flatMap((step) => this.#strategies[step.strategy as StrategyName].targets(cluster.name, step.params, alert)))];
    } catch (error) {
      // A label value a strategy cannot address (e.g. an invalid resource name): this alert is
      // recorded as skipped; the rest of the delivery is still accepted.
      return skipped('invalid_target', describeError(error), chain);
    }
    return this.#store.insertAction({ ...base, state: 'pending', cluster: cluster.name, targets, chain }, now);
  }

  /**
   * The cluster to act on: the rule's `cluster` param, else the alert's `cluster` label, else the
   * default cluster. A name that is not configured is refused rather than guessed.
   */
  #clusterFor(param: string | undefined, label: string | undefined): { ok: true; name: string } | { ok: false; reason: string } {
    const name = param ?? label;
    const configured = this.#deps.config.clusters;
    if (name === undefined || name === '') return { ok: true, name: this.#deps.config.defaultCluster };
    if (configured.has(name)) return { ok: true, name };
    return { ok: false, reason: `${JSON.stringify(name)} is not a configured cluster (configured: ${[...configured.keys()].join(', ')})` };
  }

  approve(id: number, by: string): ApprovalOutcome {
    const action = this.#store.getAction(id);
    if (!action) return { ok: false, status: 404, message: `no action ${id}` };
    if (action.state !== 'awaiting_approval') return { ok: false, status: 409, message: `action ${id} is ${action.state}, not awaiting_approval` };
    if (this.#approvalExpired(action)) {
      this.#expire(action);
      return { ok: false, status: 409, message: `action ${id} waited longer than the approval timeout and expired` };
    }
    if (this.#resolved(action)) {
      this.#cancelResolved(action, ['awaiting_approval']);
      return { ok: false, status: 409, message: `action ${id}: its alert has resolved; it was cancelled` };
    }
    if (this.#modeNow(action) === 'dry_run') {
      return { ok: false, status: 409, message: `action ${id}: remediation runs in dry_run now; nothing can be approved` };
    }
    if (!this.#store.transition(id, ['awaiting_approval'], 'approved', this.#iso(), { approvedBy: by, reason: `approved by ${by}` })) {
      return { ok: false, status: 409, message: `action ${id} changed state meanwhile` };
    }
    this.#logger.info({ actionId: id, by }, 'remediation action approved');
    this.kick();
    return { ok: true, action: this.#store.getAction(id) as ActionRecord };
  }

  /**
   * The mode an action runs in now: the most cautious of the one it was created with and the one
   * its rule has under the current settings (a restart with `--mode dry_run` holds older actions too).
   */
  #modeNow(action: ActionRecord): RemediationMode {
    const rule = this.#rulesByName.get(action.rule);
    return rule ? effectiveMode(action.mode, rule.mode) : action.mode;
  }

  /** Whether the alert's firing episode has resolved since the action was created. */
  /**
   * Whether the firing episode this action answers has resolved since. An action a resolved alert
   * created (a `status: resolved` or `any` rule) answers the resolution itself: never cancelled by it.
   */
  #resolved(action: ActionRecord): boolean {
    if (action.alert.status === 'resolved') return false;
    return this.#store.hasEpisode(episodeKey({ fingerprint: action.alert.fingerprint, startsAt: action.alert.startsAt, status: 'resolved' }));
  }

  #cancelResolved(action: ActionRecord, from: readonly ActionState[]): void {
    if (this.#store.transition(action.id, from, 'cancelled', this.#iso(), { reason: 'the alert resolved before the action changed anything' })) {
      this.stats.actionFinished(this.#strategyOf(action), 'cancelled', undefined);
      this.#logger.info({ actionId: action.id, rule: action.rule }, 'remediation action cancelled: its alert resolved');
    }
  }

  reject(id: number, by: string): ApprovalOutcome {
    const action = this.#store.getAction(id);
    if (!action) return { ok: false, status: 404, message: `no action ${id}` };
    if (!this.#store.transition(id, ['pending', 'awaiting_approval', 'approved'], 'cancelled', this.#iso(), { reason: `rejected by ${by}` })) {
      return { ok: false, status: 409, message: `action ${id} is ${action.state}: only actions that have not started can be rejected` };
    }
    this.stats.actionFinished(this.#strategyOf(action), 'cancelled', undefined);
    this.#logger.info({ actionId: id, by }, 'remediation action rejected');
    return { ok: true, action: this.#store.getAction(id) as ActionRecord };
  }

  /** Schedules a worker pass (coalesced). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#passRunning) {
      this.#passAgain = true;
      return;
    }
    this.#passRunning = true;
    setImmediate(() => {
      try {
        // Stopped meanwhile: the store may be closed already.
        while (!this.#stopped) {
          this.#passAgain = false;
          this.#pass();
          if (!this.#passAgain) break;
        }
      } catch (error) {
        this.#logger.error({ err: describeError(error) }, 'remediation worker pass failed');
      } finally {
        this.#passRunning = false;
      }
    });
  }

  /** Waits until the inbox is routed and no worker pass or action is running (tests and benchmarks). */
  async idle(): Promise<void> {
    for (;;) {
      while (this.#passRunning || this.#inboxScheduled) await new Promise((resolve) => setImmediate(resolve));
      if (this.#inFlight.size > 0) {
        await Promise.all([...this.#inFlight.values()].map((r) => r.done));
        continue;
      }
      if (this.#stopped || this.inboxSize === 0) return;
      this.#scheduleInbox();
    }
  }

  /**
   * Starts what can start, oldest first. It reads the backlog a page at a time and stops after a
   * bounded number of rows: during an alert storm tens of thousands of actions may wait, and a pass
   * that read them all would hold the event loop (and the webhook) for seconds. Whatever it did not
   * reach, a later pass does: every finished action triggers one.
   */
  #pass(): void {
    // Route before acting: a resolve still in the inbox may cancel what would start now, and the
    // webhook's deliveries get the event loop first. The inbox slice kicks the worker once it is empty.
    if (this.paused || this.#deps.inbox.next(this.#position.id) !== undefined) return;
    let afterId = 0;
    for (let scanned = 0; scanned < PASS_SCAN_LIMIT; ) {
      // A page a few times the free slots: every finished action starts a pass, and reading (and
      // parsing) a full page each time to start one action cost more than running notify_only.
      const free = this.#maxConcurrent - this.#inFlight.size;
      if (free <= 0) return;
      const page = this.#store.actionsInStates(['pending', 'approved'], { afterId, limit: Math.min(PASS_PAGE, 2 * free) });
      if (page.length === 0) return;
      scanned += page.length;
      afterId = (page.at(-1) as ActionRecord).id;
      if (!this.#startFrom(page)) return;
    }
  }

  /** Starts actions of `page`; false once no more can start in this pass. */
  #startFrom(page: readonly ActionRecord[]): boolean {
    for (const action of page) {
      if (this.#stopped || this.#inFlight.size >= this.#maxConcurrent) return false;
      if (this.#inFlight.has(action.id)) continue;
      if (action.state === 'pending' && !this.#guardsAllow(action)) continue;
      // A conflicting action holds one of its targets: it stays pending and is tried again when that finishes.
      if (!this.locks.tryAcquire(action.id, action.targets)) continue;
      // Committed at once: a change of state is never a note that may wait (or be dropped).
      let started = false;
      try {
        started = this.#store.markStarted(action.id, this.#iso());
      } finally {
        if (!started) this.locks.release(action.id);
      }
      if (!started) continue;
      const controller = new AbortController();
      const done = this.#run(action, controller.signal)
        .catch((error: unknown) => {
          // A bug or an unexpected answer: the action must not stay `running` forever.
          this.#logger.error({ actionId: action.id, err: describeError(error) }, 'remediation action crashed');
          const state: ActionState = controller.signal.aborted ? 'interrupted' : 'failed';
          try {
            if (this.#store.transition(action.id, ['running'], state, this.#iso(), { reason: controller.signal.aborted ? INTERRUPTED_REASON : 'internal_error', error: describeError(error) })) {
              this.stats.actionFinished(this.#strategyOf(action), state, undefined);
              if (state === 'interrupted') void this.#escalate(action, 'interrupted', INTERRUPTED_REASON);
            }
          } catch (storeError) {
            // The state file failed too: it stays `running`, and the next start reports it interrupted.
            this.#logger.error({ actionId: action.id, err: describeError(storeError) }, 'remediation: could not record the crashed action');
          }
        })
        .finally(() => {
          this.locks.release(action.id);
          this.#inFlight.delete(action.id);
          this.kick();
        });
      this.#inFlight.set(action.id, { controller, done });
    }
    return true;
  }

  /** Guards that end a pending action before it starts. False when it was skipped. */
  #guardsAllow(action: ActionRecord): boolean {
    const now = this.#now();
    const rule = this.#rulesByName.get(action.rule);
    const skip = (code: string, reason: string, escalate = false) => {
      if (this.#store.transition(action.id, ['pending'], 'skipped', this.#iso(), { reason: `${code}: ${reason}` })) {
        this.stats.skipped(code);
        this.stats.actionFinished(this.#strategyOf(action), 'skipped', undefined);
        this.#logger.info({ actionId: action.id, rule: action.rule, target: action.targets[0], reason: code }, 'remediation action skipped');
        if (escalate) void this.#escalate(action, code, reason);
      }
      return false;
    };
    if (!rule) return skip('rule_removed', `rule ${action.rule} is no longer configured`);
    const window = activeMaintenanceWindow(this.#settings.maintenanceWindows, now);
    if (window) return skip('maintenance_window', `maintenance window ${window.name} is active`);
    const primary = action.targets[0] ?? '';
    const cooldown = this.#store.cooldownUntil(rule.name, primary);
    if (cooldown !== undefined && Date.parse(cooldown) > now) return skip('cooldown', `rule ${rule.name} acted on ${primary} recently; cooling down until ${cooldown}`);
    const breaker = this.#store.breaker(rule.name, primary);
    if (breaker && Date.parse(breaker.openUntil) > now) return skip('breaker_open', `circuit breaker for ${rule.name} on ${primary} is open until ${breaker.openUntil}`, true);
    if (this.#modeNow(action) !== 'dry_run') {
      const since = new Date(now - rule.breaker.windowMs).toISOString();
      const attempts = this.#store.attemptsSince(rule.name, primary, since);
      if (attempts >= rule.breaker.maxAttempts) {
        const openUntil = new Date(now + rule.breaker.openForMs).toISOString();
        this.#store.openBreaker({ rule: rule.name, target: primary, openedAt: this.#iso(), openUntil, attempts });
        this.#logger.error({ rule: rule.name, target: primary, attempts, openUntil }, 'remediation circuit breaker opened');
        return skip('breaker_open', `${attempts} attempts by ${rule.name} on ${primary} within ${rule.breaker.windowMs / 1000}s; breaker open until ${openUntil}`, true);
      }
    }
    return true;
  }

  async #run(action: ActionRecord, stopSignal: AbortSignal): Promise<void> {
    const started = performance.now();
    const wasApproved = action.state === 'approved';
    const mode = this.#modeNow(action);
    const cluster = this.#deps.config.clusters.get(action.cluster);
    if (!cluster) {
      this.#finish(action, 'skipped', started, { reason: `unknown_cluster: ${action.cluster} is no longer configured` });
      return;
    }
    if (this.#resolved(action)) return this.#cancelResolved(action, ['running']);
    const access = this.#deps.clusterAccess(cluster);
    // Step numbers are handed out here: notes of this run may still wait in the store's deferred writes.
    const seq = { last: this.#store.lastStepSeq(action.id) };
    const guardSteps = this.#recorder(action.id, '', seq);

    if (!wasApproved && this.#deps.silences && this.#settings.alertmanager?.checkSilences) {
      const check = guardSteps.begin('guard', 'ask Alertmanager for a matching silence', `GET ${this.#settings.alertmanager.url.replace(/\/$/, '')}/api/v2/silences`);
      try {
        const silence = await this.#deps.silences.matching(action.alert.labels, stopSignal);
        check.ok(silence ?? { silenced: false });
        if (silence) {
          this.stats.skipped('silenced');
          this.#finish(action, 'skipped', started, { reason: `silenced: Alertmanager silence ${silence.id}${silence.createdBy ? ` by ${silence.createdBy}` : ''} matches the alert` });
          return;
        }
      } catch (error) {
        check.fail({ error: describeError(error) });
        if (stopSignal.aborted) return this.#interrupted(action, started, this.#strategyOf(action));
        // Not knowing whether a human silenced it is a reason not to act.
        this.stats.skipped('silence_check_failed');
        this.#finish(action, 'skipped', started, { reason: `silence_check_failed: ${describeError(error)}` });
        return;
      }
    }

    const rule = this.#rulesByName.get(action.rule);
    // Once a strategy has acted, every ending sets the cooldown: the target was touched.
    let acted = false;
    const cooldown = () => (acted ? rule : undefined);
    // What the last strategy of the chain ended with, for the failed action's reason.
    let lastFailure = '';
    for (let index = 0; index < action.chain.length; index++) {
      const step = action.chain[index] as ChainStep;
      const strategy = this.#strategies[step.strategy as StrategyName];
      const recorder = this.#recorder(action.id, strategy.name, seq);
      const startedAt = this.#iso();
      this.#store.defer(() => this.#store.updateRunning(action.id, startedAt, { strategyIndex: index }));
      const context = (signal: AbortSignal): StrategyContext => ({
        actionId: action.id,
        rule: action.rule,
        alert: action.alert,
        cluster,
        params: step.params,
        management: access.management,
        nodeControl: access.nodeControl,
        notifier: this.#deps.notifier,
        steps: recorder,
        logger: this.#logger,
        signal,
      });

      const precheck = recorder.begin('precheck', 'is it safe, and still needed?');
      let verdict;
      try {
        verdict = await withTimeout(step.executeTimeoutMs, stopSignal, (signal) => strategy.precheck(context(signal)));
      } catch (error) {
        precheck.fail({ error: describeError(error) });
        if (stopSignal.aborted) return this.#interrupted(action, started, strategy.name, cooldown());
        this.#finish(action, 'blocked', started, { reason: 'precheck_failed', error: `${strategy.name} precheck could not read the cluster: ${describeError(error)}`, strategy: strategy.name, cooldown: cooldown() });
        void this.#escalate(action, 'precheck_failed', describeError(error));
        return;
      }
      if (verdict.verdict === 'unsafe') {
        precheck.fail({ verdict: verdict.verdict, reason: verdict.reason, detail: verdict.detail });
        this.#finish(action, 'blocked', started, { reason: `unsafe: ${verdict.reason}`, strategy: strategy.name, cooldown: cooldown() });
        void this.#escalate(action, 'unsafe', verdict.reason);
        return;
      }
      precheck.ok({ verdict: verdict.verdict, ...(verdict.verdict === 'not_needed' ? { reason: verdict.reason } : {}), detail: verdict.detail });
      if (verdict.verdict === 'not_needed') {
        this.#finish(action, 'succeeded', started, { reason: `not_needed: ${verdict.reason}`, strategy: strategy.name, cooldown: cooldown() });
        return;
      }

      let plan;
      try {
        const before = await withTimeout(step.executeTimeoutMs, stopSignal, (signal) => strategy.observe(context(signal))).catch((error: unknown) => ({ error: describeError(error) }));
        const observedAt = this.#iso();
        if (index === 0) this.#store.defer(() => this.#store.updateRunning(action.id, observedAt, { before }));
        plan = await withTimeout(step.executeTimeoutMs, stopSignal, (signal) => strategy.plan(context(signal)));
      } catch (error) {
        if (stopSignal.aborted) return this.#interrupted(action, started, strategy.name, cooldown());
        throw error;
      }
      for (const planned of plan) recorder.begin('plan', planned.description, planned.command).ok();

      if (mode === 'dry_run') {
        this.#finish(action, 'planned', started, { reason: 'dry_run: planned only, nothing was changed', strategy: strategy.name });
        return;
      }
      if (mode === 'approve' && !wasApproved) {
        if (this.#resolved(action)) return this.#cancelResolved(action, ['running']);
        this.#store.transition(action.id, ['running'], 'awaiting_approval', this.#iso(), { reason: 'approve mode: POST /api/v1/actions/{id}/approve to run it' });
        this.#logger.warn({ actionId: action.id, rule: action.rule, target: action.targets[0], plan }, 'remediation action awaits approval');
        return;
      }
      // The alert may have resolved while this was prechecked: then nothing needs changing.
      if (!acted && this.#resolved(action)) return this.#cancelResolved(action, ['running']);

      // Committed before the strategy changes anything, with the notes deferred so far; flushed to
      // disk when it changes the cluster (a power loss must not bring the action back as pending).
      if (!acted && rule) this.#store.recordAttempt(rule.name, action.targets[0] ?? '', this.#iso());
      if (strategy.changesCluster) this.#store.syncToDisk();
      else this.#store.flush();
      acted = true;
      try {
        await withTimeout(step.executeTimeoutMs, stopSignal, (signal) => strategy.execute(context(signal), plan));
      } catch (error) {
        if (stopSignal.aborted) return this.#interrupted(action, started, strategy.name, cooldown());
        recorder.begin('execute', 'the strategy failed; escalating to the next one').fail({ error: describeError(error) });
        lastFailure = `${strategy.name} failed: ${describeError(error)}`;
        this.#logger.warn({ actionId: action.id, strategy: strategy.name, err: describeError(error) }, 'remediation strategy failed; escalating to the next');
        continue;
      }

      const verified = await this.#verify(strategy, step, context, recorder, stopSignal);
      if (stopSignal.aborted) return this.#interrupted(action, started, strategy.name, cooldown());
      lastFailure = `${strategy.name} did not verify the cluster healthy within ${step.verifyTimeoutMs / 1000}s`;
      if (verified) {
        const after = await withTimeout(step.executeTimeoutMs, stopSignal, (signal) => strategy.observe(context(signal))).catch((error: unknown) => ({ error: describeError(error) }));
        const afterAt = this.#iso();
        this.#store.defer(() => this.#store.updateRunning(action.id, afterAt, { after }));
        this.#finish(action, 'succeeded', started, { strategy: strategy.name, cooldown: cooldown() });
        return;
      }
    }
    const reason = `every strategy of the chain ran, none succeeded; the last: ${lastFailure}`;
    this.#finish(action, 'failed', started, { reason: `chain_exhausted: ${reason}`, strategy: action.chain.at(-1)?.strategy, cooldown: cooldown() });
    void this.#escalate(action, 'chain_exhausted', reason);
  }

  /** Polls `verify` every verify_interval until healthy or verify_timeout, with a last check at the deadline. */
  async #verify(strategy: Strategy, step: ChainStep, context: (signal: AbortSignal) => StrategyContext, recorder: StepRecorder, stopSignal: AbortSignal): Promise<boolean> {
    const handle = recorder.begin('verify', `poll the cluster until healthy (at most ${step.verifyTimeoutMs / 1000}s)`);
    // Deadlines and durations use the monotonic clock; `now` (wall time, injectable) is for records.
    const deadline = performance.now() + step.verifyTimeoutMs;
    let last: unknown;
    let checks = 0;
    while (!stopSignal.aborted) {
      checks++;
      try {
        const remaining = Math.max(1, Math.ceil(deadline - performance.now()));
        const result = await withTimeout(remaining, stopSignal, (signal) => strategy.verify(context(signal)));
        last = result.detail;
        if (result.healthy) {
          handle.ok({ checks, detail: last });
          return true;
        }
      } catch (error) {
        last = { error: describeError(error) };
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      await sleep(Math.min(this.#settings.verifyIntervalMs, Math.ceil(remaining)), stopSignal);
    }
    handle.fail({ checks, detail: last, timedOut: !stopSignal.aborted });
    return false;
  }

  /**
   * Aborted by a stop (SIGTERM, or the remediator process gone): the target may be half changed, so
   * a human hears of it now, as after a crash (start() reports those).
   */
  #interrupted(action: ActionRecord, started: number, strategy: string, cooldown?: RemediationRule): void {
    this.#finish(action, 'interrupted', started, { reason: INTERRUPTED_REASON, strategy, cooldown });
    void this.#escalate(action, 'interrupted', INTERRUPTED_REASON);
  }

  /** The final state and the cooldown in one transaction: a crash between them must not drop the cooldown. */
  #finish(
    action: ActionRecord,
    state: ActionState,
    started: number,
    options: { reason?: string; error?: string; strategy?: string | undefined; cooldown?: RemediationRule | undefined },
  ): void {
    const durationMs = Math.round(performance.now() - started);
    const rule = options.cooldown;
    this.#store.transaction(() => {
      this.#store.finish(action.id, state, this.#iso(), { reason: options.reason, error: options.error, durationMs });
      if (rule && rule.cooldownMs > 0) this.#store.setCooldown(rule.name, action.targets[0] ?? '', new Date(this.#now() + rule.cooldownMs).toISOString());
    });
    const strategy = options.strategy ?? this.#strategyOf(action);
    this.stats.actionFinished(strategy, state, state === 'succeeded' || state === 'failed' ? durationMs / 1000 : undefined);
    const level = state === 'succeeded' || state === 'planned' ? 'info' : 'warn';
    this.#logger[level]({ actionId: action.id, rule: action.rule, strategy, target: action.targets[0], state, reason: options.reason, durationMs }, 'remediation action finished');
  }

  async #escalate(action: ActionRecord, code: string, reason: string): Promise<void> {
    this.stats.escalated(code);
    this.#logger.error({ actionId: action.id, rule: action.rule, target: action.targets[0], escalation: code, reason, alert: action.alert.labels }, 'remediation escalated to a human');
    const sent = this.#deps.notifier.notify('escalation', { actionId: action.id, rule: action.rule, target: action.targets[0], escalation: code, reason, alert: action.alert });
    this.#escalations.add(sent);
    try {
      await sent;
    } finally {
      this.#escalations.delete(sent);
    }
  }

  /**
   * Records a strategy's steps. A step that may change something outside warren (execute, notify)
   * is committed before it starts, with everything deferred so far; read-only steps and every
   * step's outcome are deferred to the next commit (see RemediationStore.defer).
   */
  #recorder(actionId: number, strategy: string, seq: { last: number }): StepRecorder {
    const store = this.#store;
    const iso = () => this.#iso();
    return {
      begin(phase: StepPhase, description: string, command?: string) {
        const step: StepRecord = { seq: ++seq.last, strategy, phase, description, command, status: 'planned', startedAt: iso() };
        if (CHANGING_PHASES.has(phase)) store.appendStep(actionId, step);
        else store.defer(() => store.appendStep(actionId, step));
        let settled = false;
        const settle = (status: 'ok' | 'failed', detail?: unknown) => {
          if (settled) return;
          settled = true;
          const finishedAt = iso();
          store.defer(() => store.finishStep(actionId, step.seq, phase === 'plan' ? 'planned' : status, finishedAt, detail));
        };
        return { ok: (detail) => settle('ok', detail), fail: (detail) => settle('failed', detail) };
      },
    };
  }

  #approvalExpired(action: ActionRecord): boolean {
    return this.#now() - Date.parse(action.updatedAt) > this.#settings.approvalTimeoutMs;
  }

  #expire(action: ActionRecord): void {
    if (this.#store.transition(action.id, ['awaiting_approval'], 'expired', this.#iso(), { reason: 'nobody approved it within the approval timeout' })) {
      this.stats.actionFinished(this.#strategyOf(action), 'expired', undefined);
      void this.#escalate(action, 'approval_expired', 'an action awaiting approval expired');
    }
  }

  /**
   * Expires approvals whose time is up. Housekeeping does it every minute; the audit trail's readers
   * call it first, so that they never list as awaiting an action that can no longer be approved.
   */
  expireDueApprovals(): void {
    for (const action of this.#store.actionsInStates(['awaiting_approval'])) if (this.#approvalExpired(action)) this.#expire(action);
  }

  #housekeep(): void {
    try {
      this.expireDueApprovals();
      const retention = new Date(this.#now() - this.#settings.dedupRetentionMs).toISOString();
      this.#store.pruneEpisodes(retention);
      const longestWindow = Math.max(this.#settings.breaker.windowMs, ...this.#settings.rules.map((r) => r.breaker.windowMs));
      this.#store.pruneAttempts(new Date(this.#now() - longestWindow).toISOString());
      this.#pruneAuditTrail();
      // Also retries what a failed pass left pending, and what waited for a window or cooldown.
      this.kick();
      this.#scheduleInbox();
    } catch (error) {
      this.#logger.error({ err: describeError(error) }, 'remediation housekeeping failed');
    }
  }

  /**
   * Forgets finished actions older than audit_retention, a batch per turn of the event loop, so
   * that a long backlog of them (the first start after an upgrade, a storm's worth) never holds up
   * routing for long.
   */
  #pruneAuditTrail(): void {
    if (this.#stopped) return;
    const before = new Date(this.#now() - this.#settings.auditRetentionMs).toISOString();
    let pruned: number;
    try {
      pruned = this.#store.pruneActions(before, AUDIT_PRUNE_BATCH);
    } catch (error) {
      this.#logger.error({ err: describeError(error) }, 'remediation: could not prune the audit trail; housekeeping tries again');
      return;
    }
    if (pruned === 0) return;
    this.stats.actionsPruned += pruned;
    this.#logger.debug({ pruned, finishedBefore: before }, 'remediation: finished actions past audit_retention forgotten');
    if (pruned === AUDIT_PRUNE_BATCH) setImmediate(() => this.#pruneAuditTrail());
  }

  #strategyOf(action: ActionRecord): string {
    return action.chain[action.strategyIndex ?? 0]?.strategy ?? action.chain[0]?.strategy ?? 'none';
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }
}

function toStoredAlert(alert: WebhookAlert): StoredAlert {
  return {
    fingerprint: alert.fingerprint.toLowerCase(),
    status: alert.status,
    startsAt: normaliseTime(alert.startsAt),
    endsAt: alert.endsAt,
    labels: alert.labels,
    annotations: alert.annotations,
    generatorURL: alert.generatorURL,
  };
}

/** Runs `work` with a signal that aborts after `ms` or when `outer` aborts; rejects at the deadline. */
export async function withTimeout<T>(ms: number, outer: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  // A plain controller and an own timer, cleared when the work ends. With AbortSignal.any([outer,
  // AbortSignal.timeout(ms)]) Node keeps the signal alive while it has a listener and has not
  // aborted, so each phase's signal and all it reached stayed until its timeout (minutes) was over:
  // ~4 KB per action while a backlog of quick actions ran (test/unit/remediator/timeout.test.ts).
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new WarrenError('STRATEGY_TIMEOUT', `timed out after ${ms} ms`)), ms);
  const forward = () => controller.abort(outer.reason);
  if (outer.aborted) forward();
  else outer.addEventListener('abort', forward, { once: true });
  const { signal } = controller;
  try {
    return await new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      work(signal)
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  } finally {
    clearTimeout(timer);
    outer.removeEventListener('abort', forward);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
