// The engine's guarantees, each guard on its own: dedup per firing episode, resolve cancels,
// modes, escalation chain, cooldown, circuit breaker, locks, pause, maintenance, restart safety.
import { mkdtempSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterConfig, WarrenConfig } from '../../../src/config/types.ts';
import { ManagementClient } from '../../../src/rabbitmq/management/client.ts';
import { NodeControl } from '../../../src/rabbitmq/node-control.ts';
import { parseWebhookPayload } from '../../../src/remediator/alert-payload.ts';
import { RemediationEngine } from '../../../src/remediator/engine.ts';
import type { Notifier } from '../../../src/remediator/strategies/strategy.ts';
import { requiresCredentials, withMode } from '../../../src/remediator/settings.ts';
import { Inbox } from '../../../src/remediator/inbox.ts';
import { RemediationStore } from '../../../src/remediator/store.ts';
import { createLogger, type Logger } from '../../../src/logging.ts';
import { alert, configWith, deferred, payload, scriptedStrategy, silentLogger, waitFor, type ScriptedStrategy } from './support.ts';

const RULES = `
  mode: enforce
  auth: { bearer_token: test-token }
  default_rules: false
  cooldown: 0s
  verify_interval: 100ms
  verify_timeout: 1s
  breaker: { max_attempts: 10, window: 1h, open_for: 1h }
  rules:
    - name: sync
      matchers: ['fault="mirror_unsynchronised"']
      strategies:
        - { strategy: sync_queue, params: { vhost: '{{ $labels.vhost }}', queue: '{{ $labels.queue }}' }, verify_timeout: 1s }
        - { strategy: notify_only }
`;

interface Harness {
  engine: RemediationEngine;
  store: RemediationStore;
  primary: ScriptedStrategy;
  fallback: ScriptedStrategy;
  notifications: { kind: string; payload: Record<string, unknown> }[];
  clock: { now: number };
  deliver: (alerts: ReturnType<typeof alert>[]) => ReturnType<RemediationEngine['receive']>;
}

let dir: string;
const open: { engine: RemediationEngine; store: RemediationStore }[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-engine-'));
});

afterEach(async () => {
  for (const { engine, store } of open.splice(0)) {
    await engine.stop(0);
    store.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

function harness(remediationYaml = RULES, options: { file?: string; start?: boolean; primary?: ScriptedStrategy; logger?: Logger } = {}): Harness {
  const config: WarrenConfig = configWith(remediationYaml);
  const store = new RemediationStore(options.file ?? join(dir, 'state.db'));
  const primary = options.primary ?? scriptedStrategy('sync_queue');
  const fallback = scriptedStrategy('notify_only');
  const notifications: Harness['notifications'] = [];
  const notifier: Notifier = {
    configured: true,
    async notify(kind, body) {
      notifications.push({ kind, payload: body });
      return true;
    },
  };
  const clock = { now: Date.parse('2026-11-22T06:00:00Z') };
  const engine = new RemediationEngine({
    settings: config.remediation,
    config,
    store,
    logger: options.logger ?? silentLogger,
    clusterAccess: (cluster: ClusterConfig) => ({ management: new ManagementClient(cluster), nodeControl: new NodeControl(cluster) }),
    notifier,
    strategies: { sync_queue: primary, notify_only: fallback },
    now: () => clock.now,
    inbox: new Inbox(':memory:'),
  });
  open.push({ engine, store });
  if (options.start !== false) engine.start();
  const deliver = (alerts: ReturnType<typeof alert>[]) => {
    const parsed = parseWebhookPayload(payload(alerts));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return engine.receive(parsed.payload);
  };
  return { engine, store, primary, fallback, notifications, clock, deliver };
}

const unsynced = (queue = 'orders', extra: Parameters<typeof alert>[1] = {}) =>
  alert({ alertname: 'RabbitMQMirrorUnsynchronised', fault: 'mirror_unsynchronised', vhost: '/', queue }, { fingerprint: `f${queue.length}${queue}`.replace(/[^0-9a-f]/g, 'a').slice(0, 16), ...extra });

describe('stopping', () => {
  it('a worker pass scheduled before stop does not run after it, when the store may be closed already', async () => {
    const errors: string[] = [];
    const logger = createLogger('error', new Writable({ write: (chunk, _encoding, done) => done(void errors.push(String(chunk))) }));
    const h = harness(RULES, { logger });
    await h.engine.idle();
    h.engine.setPaused(false, 'test'); // schedules a pass
    await h.engine.stop(0);
    h.store.close();
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([]);
  });
});

describe('intake and deduplication', () => {
  it('creates one action per firing episode, however often it is delivered', async () => {
    const h = harness();
    const first = h.deliver([unsynced()]);
    expect(first.actions).toHaveLength(1);
    for (let i = 0; i < 9; i++) expect(h.deliver([unsynced()]).duplicates).toBe(1);
    await h.engine.idle();
    expect(h.primary.calls.execute).toBe(1);
    expect(h.engine.stats.deduplicated).toBe(9);
    expect(h.store.listActions()).toHaveLength(1);
  });

  it('treats a new startsAt as a new episode', async () => {
    const h = harness();
    h.deliver([unsynced('orders', { startsAt: '2026-11-22T05:00:00Z' })]);
    await h.engine.idle();
    h.deliver([unsynced('orders', { startsAt: '2026-11-22T05:30:00Z' })]);
    await h.engine.idle();
    expect(h.primary.calls.execute).toBe(2);
  });

  it('the same instant written differently is the same episode (HA peers)', () => {
    const h = harness();
    h.engine.setPaused(true, 'test');
    expect(h.deliver([unsynced('orders', { startsAt: '2026-11-22T05:00:00Z' })]).actions).toHaveLength(1);
    expect(h.deliver([unsynced('orders', { startsAt: '2026-11-22T05:00:00.000+00:00' })]).duplicates).toBe(1);
  });

  it('a resolved delivery cancels actions that have not started', async () => {
    const h = harness();
    h.engine.setPaused(true, 'test');
    const [id] = h.deliver([unsynced()]).actions;
    const resolved = h.deliver([unsynced('orders', { status: 'resolved' })]);
    expect(resolved.cancelled).toEqual([id]);
    h.engine.setPaused(false, 'test');
    await h.engine.idle();
    expect(h.store.getAction(id as number)?.state).toBe('cancelled');
    expect(h.primary.calls.execute).toBe(0);
  });

  it('rules on resolved alerts act on them: the resolution never cancels an action it created itself', async () => {
    const h = harness(
      RULES.replace(
        '  rules:\n',
        `  rules:
    - { name: on-resolve, status: resolved, continue: true, matchers: ['fault="mirror_unsynchronised"'], strategies: [{ strategy: notify_only }] }
    - { name: on-both, status: any, continue: true, matchers: ['fault="mirror_unsynchronised"'], strategies: [{ strategy: notify_only }] }
`,
      ),
    );
    h.engine.setPaused(true, 'test');
    const firing = h.deliver([unsynced()]).actions;
    expect(firing).toHaveLength(2); // on-both, sync
    const resolved = h.deliver([unsynced('orders', { status: 'resolved' })]);
    expect(resolved.cancelled.sort()).toEqual([...firing].sort());
    expect(resolved.actions).toHaveLength(2); // on-resolve, on-both
    h.engine.setPaused(false, 'test');
    await h.engine.idle();
    for (const id of resolved.actions) expect(h.store.getAction(id)).toMatchObject({ state: 'succeeded', alert: { status: 'resolved' } });
    for (const id of firing) expect(h.store.getAction(id)?.state).toBe('cancelled');
    expect(h.fallback.calls.execute).toBe(2);
    expect(h.primary.calls.execute).toBe(0);
  });

  it('a firing delivery arriving after its resolve (out of order) starts nothing', async () => {
    const h = harness();
    h.deliver([unsynced('orders', { status: 'resolved' })]);
    const late = h.deliver([unsynced()]);
    expect(late.alreadyResolved).toBe(1);
    expect(late.actions).toEqual([]);
    await h.engine.idle();
    expect(h.primary.calls.precheck).toBe(0);
  });

  it('routes each alert of a group on its own labels', async () => {
    const h = harness();
    const result = h.deliver([unsynced('a'), unsynced('b'), alert({ alertname: 'Other', fault: 'something_else' })]);
    expect(result.actions).toHaveLength(2);
    expect(result.unrouted).toBe(1);
    await h.engine.idle();
    expect(h.primary.calls.execute).toBe(2);
  });

  it('skips an action whose template needs a missing label, naming it', () => {
    const h = harness();
    const [id] = h.deliver([alert({ alertname: 'X', fault: 'mirror_unsynchronised', vhost: '/' })]).actions;
    const action = h.store.getAction(id as number);
    expect(action?.state).toBe('skipped');
    expect(action?.reason).toContain('queue');
  });

  it('refuses an alert naming a cluster that is not configured', () => {
    const h = harness();
    const [id] = h.deliver([alert({ alertname: 'X', fault: 'mirror_unsynchronised', vhost: '/', queue: 'q', cluster: 'elsewhere' })]).actions;
    expect(h.store.getAction(id as number)?.reason).toMatch(/^unknown_cluster: "elsewhere"/);
  });
});

describe('strategy chain', () => {
  it('runs precheck, plan, execute and verify, and records every step with its command', async () => {
    const h = harness();
    const [id] = h.deliver([unsynced()]).actions;
    await h.engine.idle();
    const action = h.store.getAction(id as number);
    expect(action?.state).toBe('succeeded');
    expect(action?.steps.map((s) => `${s.strategy}:${s.phase}:${s.status}`)).toEqual([
      'sync_queue:precheck:ok',
      'sync_queue:plan:planned',
      'sync_queue:execute:ok',
      'sync_queue:verify:ok',
    ]);
    expect(action?.steps[1]?.command).toBe('POST /scripted/orders');
    expect(action?.before).toEqual({ observed: true });
    expect(action?.after).toEqual({ observed: true });
    expect(h.primary.lastContext?.params).toEqual({ vhost: '/', queue: 'orders' });
  });

  it('escalates to the next strategy when verification fails, and reports a failed chain', async () => {
    const h = harness();
    h.primary.verifyResults = [false];
    h.fallback.verifyResults = [false];
    const [id] = h.deliver([unsynced()]).actions;
    await h.engine.idle();
    expect(h.primary.calls.verify).toBeGreaterThan(1); // polled until the verify timeout
    expect(h.fallback.calls.execute).toBe(1);
    expect(h.store.getAction(id as number)).toMatchObject({ state: 'failed', reason: 'chain_exhausted: every strategy of the chain ran, none succeeded; the last: notify_only did not verify the cluster healthy within 1s' });
    expect(h.notifications.map((n) => n.payload.escalation)).toEqual(['chain_exhausted']);
  });

  it('a failing execute escalates to the next strategy', async () => {
    const h = harness();
    h.primary.executeError = new Error('boom');
    const [id] = h.deliver([unsynced()]).actions;
    await h.engine.idle();
    expect(h.fallback.calls.execute).toBe(1);
    const action = h.store.getAction(id as number);
    expect(action?.state).toBe('succeeded');
    expect(action?.steps.some((s) => s.phase === 'execute' && s.status === 'failed')).toBe(true);
  });

  it('a chain whose last strategy fails says so in the reason and the escalation, not that the cluster did not verify', async () => {
    const h = harness();
    h.primary.executeError = new Error('boom');
    h.fallback.executeError = new Error('the escalation webhook did not accept the notification');
    const [id] = h.deliver([unsynced()]).actions;
    await h.engine.idle();
    expect(h.store.getAction(id as number)).toMatchObject({ state: 'failed', reason: 'chain_exhausted: every strategy of the chain ran, none succeeded; the last: notify_only failed: the escalation webhook did not accept the notification' });
    expect(h.notifications.map((n) => n.payload.reason)).toEqual(['every strategy of the chain ran, none succeeded; the last: notify_only failed: the escalation webhook did not accept the notification']);
  });

  it('an unsafe precheck blocks the action, changes nothing and escalates', async () => {
    const h = harness();
    h.primary.precheckVerdict = { verdict: 'unsafe', reason: 'only 1 of 3 nodes running' };
    const [id] = h.deliver([unsynced()]).actions;
    await h.engine.idle();
    expect(h.primary.calls.execute).toBe(0);
    expect(h.fallback.calls.execute).toBe(0);
    expect(h.store.getAction(id as number)).toMatchObject({ state: 'blocked', reason: 'unsafe: only 1 of 3 nodes running' });
    expect(h.notifications[0]?.payload.escalation).toBe('unsafe');
  });

  it('does nothing when the precheck finds the cluster already healthy', async () => {
    const h = harness();
    h.primary.precheckVerdict = { verdict: 'not_needed', reason: 'every mirror is synchronised' };
    const [id] = h.deliver([unsynced()]).actions;
    await h.engine.idle();
    expect(h.primary.calls.execute).toBe(0);
    expect(h.store.getAction(id as number)?.reason).toMatch(/^not_needed/);
  });

  it('aborts an execute that outlives execute_timeout and escalates', async () => {
    const h = harness(RULES.replace('verify_timeout: 1s }', 'verify_timeout: 1s, execute_timeout: 1s }'));
    h.primary.gate = new Promise(() => {}); // never opens
    const [id] = h.deliver([unsynced()]).actions;
    await h.engine.idle();
    expect(h.fallback.calls.execute).toBe(1);
    expect(h.store.getAction(id as number)?.steps.find((s) => s.phase === 'execute' && s.status === 'failed')?.detail).toMatchObject({ error: expect.stringContaining('timed out') });
  });
});

describe('modes', () => {
  it('dry_run records the plan and never executes', async () => {
    const h = harness(RULES.replace('mode: enforce', 'mode: dry_run'));
    const [id] = h.deliver([unsynced()]).actions;
    await h.engine.idle();
    expect(h.primary.calls.execute).toBe(0);
    const action = h.store.getAction(id as number);
    expect(action?.state).toBe('planned');
    expect(action?.steps.filter((s) => s.phase === 'plan').map((s) => s.command)).toEqual(['POST /scripted/orders']);
  });

  it('a rule cannot be less cautious than the global mode', () => {
    const config = configWith(`${RULES.replace('mode: enforce', 'mode: approve')}      mode: enforce\n`);
    expect(config.remediation.rules[0]?.mode).toBe('approve');
  });

  it('approve waits for POST approve, then executes; a second approval is refused', async () => {
    const h = harness(RULES.replace('mode: enforce', 'mode: approve'));
    const [id] = h.deliver([unsynced()]).actions as [number];
    await h.engine.idle();
    expect(h.store.getAction(id)?.state).toBe('awaiting_approval');
    expect(h.primary.calls.execute).toBe(0);
    const outcome = h.engine.approve(id, 'alice');
    expect(outcome.ok).toBe(true);
    await h.engine.idle();
    expect(h.store.getAction(id)).toMatchObject({ state: 'succeeded', approvedBy: 'alice' });
    expect(h.primary.calls.execute).toBe(1);
    expect(h.engine.approve(id, 'alice')).toMatchObject({ ok: false, status: 409 });
    expect(h.engine.approve(9999, 'alice')).toMatchObject({ ok: false, status: 404 });
  });

  it('an approval that comes too late expires the action', async () => {
    const h = harness(RULES.replace('mode: enforce', 'mode: approve\n  approval_timeout: 10m'));
    const [id] = h.deliver([unsynced()]).actions as [number];
    await h.engine.idle();
    h.clock.now += 11 * 60_000;
    expect(h.engine.approve(id, 'bob')).toMatchObject({ ok: false, status: 409 });
    expect(h.store.getAction(id)?.state).toBe('expired');
    expect(h.primary.calls.execute).toBe(0);
  });

  it('reject cancels an action awaiting approval', async () => {
    const h = harness(RULES.replace('mode: enforce', 'mode: approve'));
    const [id] = h.deliver([unsynced()]).actions as [number];
    await h.engine.idle();
    expect(h.engine.reject(id, 'carol').ok).toBe(true);
    expect(h.store.getAction(id)).toMatchObject({ state: 'cancelled', reason: 'rejected by carol' });
  });
});

describe('mode changes', () => {
  it('a restart in a more cautious mode holds actions created under enforce', async () => {
    const file = join(dir, 'modes.db');
    const first = harness(RULES, { file, start: false });
    const [id] = first.deliver([unsynced()]).actions as [number];
    expect(first.store.getAction(id)?.mode).toBe('enforce');
    await first.engine.stop(0);
    const config = configWith(RULES);
    const dry = withMode(config.remediation, 'dry_run');
    expect(dry.rules.every((rule) => rule.mode === 'dry_run')).toBe(true);
    expect(requiresCredentials(dry)).toBe(false);
    const second = harness(RULES.replace('mode: enforce', 'mode: dry_run'), { file });
    await second.engine.idle();
    expect(second.store.getAction(id)?.state).toBe('planned');
    expect(second.primary.calls.execute).toBe(0);
  });

  it('going live: a repeat of an episode dry_run only planned creates the action once the rule acts, and only once', async () => {
    const file = join(dir, 'live.db');
    const dry = harness(RULES.replace('mode: enforce', 'mode: dry_run'), { file });
    const [planned] = dry.deliver([unsynced()]).actions as [number];
    await dry.engine.idle();
    expect(dry.store.getAction(planned)?.state).toBe('planned');
    // A repeat while still in dry_run is a duplicate.
    expect(dry.deliver([unsynced()]).duplicates).toBe(1);
    await dry.engine.stop(0);
    dry.store.close();

    const live = harness(RULES, { file });
    const repeat = live.deliver([unsynced()]);
    expect(repeat.duplicates).toBe(0);
    expect(repeat.actions).toHaveLength(1);
    await live.engine.idle();
    expect(live.store.getAction(repeat.actions[0] as number)?.state).toBe('succeeded');
    expect(live.primary.calls.execute).toBe(1);
    // From now on repeats (and HA duplicates) are duplicates again.
    expect(live.deliver([unsynced()]).duplicates).toBe(1);
    expect(live.deliver([unsynced()]).actions).toEqual([]);
  });

  it('going live does not act on an episode that resolved while in dry_run', async () => {
    const file = join(dir, 'live-resolved.db');
    const dry = harness(RULES.replace('mode: enforce', 'mode: dry_run'), { file });
    dry.deliver([unsynced()]);
    await dry.engine.idle();
    dry.deliver([unsynced('orders', { status: 'resolved' })]);
    await dry.engine.stop(0);
    dry.store.close();
    const live = harness(RULES, { file });
    const late = live.deliver([unsynced()]);
    expect(late.actions).toEqual([]);
    await live.engine.idle();
    expect(live.primary.calls.execute).toBe(0);
  });

  it('an approval is refused once the alert has resolved, and the action is cancelled', async () => {
    const h = harness(RULES.replace('mode: enforce', 'mode: approve'));
    h.engine.setPaused(true, 'test');
    const [id] = h.deliver([unsynced()]).actions as [number];
    h.engine.setPaused(false, 'test');
    await h.engine.idle();
    expect(h.store.getAction(id)?.state).toBe('awaiting_approval');
    // The resolve cancels it directly; an approve racing it afterwards is refused.
    h.deliver([unsynced('orders', { status: 'resolved' })]);
    expect(h.engine.approve(id, 'dave')).toMatchObject({ ok: false, status: 409 });
    expect(h.store.getAction(id)?.state).toBe('cancelled');
    expect(h.primary.calls.execute).toBe(0);
  });

  it('an alert that keeps firing is not forgotten by dedup retention (pruned by last delivery)', () => {
    const h = harness(RULES.replace('  cooldown: 0s', '  cooldown: 0s\n  dedup_retention: 1h'));
    h.engine.setPaused(true, 'test');
    h.deliver([unsynced()]);
    for (let hour = 1; hour <= 3; hour++) {
      h.clock.now += 50 * 60_000;
      expect(h.deliver([unsynced()]).duplicates).toBe(1); // repeat_interval re-sends
      h.store.pruneEpisodes(new Date(h.clock.now - 3_600_000).toISOString());
    }
    expect(h.store.listActions()).toHaveLength(1);
  });
});

describe('audit retention', () => {
  it('housekeeping forgets finished actions once audit_retention has passed since they finished, a batch per turn, and counts them', async () => {
    const yaml = RULES.replace('  cooldown: 0s', '  cooldown: 0s\n  audit_retention: 1h');
    const h = harness(yaml);
    // Five hours ago: an action, a storm's worth of copies of it, and one still waiting for approval since then.
    const now = h.clock.now;
    h.clock.now = now - 5 * 3_600_000;
    h.deliver([unsynced('old', { startsAt: new Date(h.clock.now).toISOString() })]);
    await h.engine.idle();
    const longAgo = new Date(h.clock.now).toISOString();
    const stale = h.store.listActions({ limit: 1 })[0]!;
    expect(stale.state).toBe('succeeded');
    for (let i = 0; i < 1_199; i++) {
      const id = h.store.insertAction({ ...stale, state: 'pending' }, longAgo);
      h.store.transition(id, ['pending'], 'skipped', longAgo, { reason: 'cooldown' });
    }
    const waiting = h.store.insertAction({ ...stale, state: 'pending' }, longAgo);
    h.store.transition(waiting, ['pending'], 'awaiting_approval', longAgo);
    // Now: three that finish now.
    h.clock.now = now;
    for (const queue of ['a', 'b', 'c']) h.deliver([unsynced(queue)]);
    await h.engine.idle();
    expect(h.store.listActions({ limit: 3 }).map((action) => action.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    await h.engine.stop(0);

    const later = harness(yaml.replace('  cooldown: 0s', '  cooldown: 0s\n  approval_timeout: 7d'), { file: h.store.file, start: false });
    later.clock.now = now + 30 * 60_000; // the three finished half an hour ago: kept
    later.engine.start(); // housekeeping runs at start
    expect(await waitFor(() => later.engine.stats.actionsPruned === 1_200, 5_000)).toBe(true);
    const left = later.store.listActions({ limit: 1000 });
    expect(left.map((action) => action.state).sort()).toEqual(['awaiting_approval', 'succeeded', 'succeeded', 'succeeded']);
    expect(later.store.getAction(waiting)?.state).toBe('awaiting_approval');
    await later.engine.stop(0);

    const muchLater = harness(yaml.replace('  cooldown: 0s', '  cooldown: 0s\n  approval_timeout: 7d'), { file: h.store.file, start: false });
    muchLater.clock.now = now + 61 * 60_000;
    muchLater.engine.start();
    expect(await waitFor(() => muchLater.engine.stats.actionsPruned === 3, 5_000)).toBe(true);
    expect(muchLater.store.listActions().map((action) => action.id)).toEqual([waiting]);
  });
});

describe('guards', () => {
  it('cooldown: a second episode on the same target within the cooldown is skipped', async () => {
    const h = harness(RULES.replace('cooldown: 0s', 'cooldown: 10m'));
    h.deliver([unsynced('orders', { startsAt: '2026-11-22T05:00:00Z' })]);
    await h.engine.idle();
    const [second] = h.deliver([unsynced('orders', { startsAt: '2026-11-22T05:05:00Z' })]).actions;
    await h.engine.idle();
    expect(h.store.getAction(second as number)?.reason).toMatch(/^cooldown/);
    // Another target is not affected, and the cooldown ends.
    h.deliver([unsynced('invoices')]);
    h.clock.now += 11 * 60_000;
    h.deliver([unsynced('orders', { startsAt: '2026-11-22T05:20:00Z' })]);
    await h.engine.idle();
    expect(h.primary.calls.execute).toBe(3);
    expect(h.engine.stats.skips.get('cooldown')).toBe(1);
  });

  it('circuit breaker: after max_attempts in the window it opens, escalates, and survives a restart', async () => {
    const yaml = RULES.replace('breaker: { max_attempts: 10, window: 1h, open_for: 1h }', 'breaker: { max_attempts: 2, window: 1h, open_for: 3h }');
    const h = harness(yaml);
    for (const minute of ['00', '01', '02']) {
      h.deliver([unsynced('orders', { startsAt: `2026-11-22T05:${minute}:00Z` })]);
      await h.engine.idle();
    }
    expect(h.primary.calls.execute).toBe(2);
    const third = h.store.listActions({ limit: 1 })[0];
    expect(third?.reason).toMatch(/^breaker_open/);
    expect(h.notifications.map((n) => n.payload.escalation)).toContain('breaker_open');
    expect(h.store.openBreakers(new Date(h.clock.now).toISOString())).toHaveLength(1);

    await h.engine.stop(0);
    const again = harness(yaml, { file: h.store.file });
    // Past the attempts window but within open_for: only the persisted breaker can refuse now.
    again.clock.now = h.clock.now + 2 * 3_600_000 - 60_000;
    again.deliver([unsynced('orders', { startsAt: '2026-11-22T05:03:00Z' })]);
    await again.engine.idle();
    expect(again.store.listActions({ limit: 1 })[0]?.reason).toMatch(/^breaker_open/);
    expect(again.primary.calls.execute).toBe(0);
  });

  it('locks: two actions on one target never run at once; the second runs after the first', async () => {
    const h = harness();
    const gate = deferred();
    h.primary.gate = gate.promise;
    // Two rules matching the same alert would be two actions on one target; here: two episodes.
    const [a] = h.deliver([unsynced('orders', { startsAt: '2026-11-22T05:00:00Z' })]).actions;
    const [b] = h.deliver([unsynced('orders', { startsAt: '2026-11-22T05:00:30Z', fingerprint: 'bbbbbbbbbbbbbbbb' })]).actions;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(h.store.getAction(a as number)?.state).toBe('running');
    expect(h.store.getAction(b as number)?.state).toBe('pending');
    expect(h.engine.locks.holderOf(h.store.getAction(b as number)?.targets[0] as string)).toBe(a);
    gate.resolve();
    await h.engine.idle();
    expect(h.store.getAction(b as number)?.state).toBe('succeeded');
    expect(h.primary.calls.execute).toBe(2);
  });

  it('pause holds new actions until resume', async () => {
    const h = harness();
    h.engine.setPaused(true, 'test');
    const [id] = h.deliver([unsynced()]).actions;
    await h.engine.idle();
    expect(h.store.getAction(id as number)?.state).toBe('pending');
    h.engine.setPaused(false, 'test');
    await h.engine.idle();
    expect(h.store.getAction(id as number)?.state).toBe('succeeded');
  });

  it('a maintenance window skips actions', async () => {
    const h = harness(`${RULES}  maintenance_windows:\n    - { name: upgrade, from: "2026-11-22T05:00:00Z", to: "2026-11-22T07:00:00Z" }\n`);
    const [id] = h.deliver([unsynced()]).actions;
    await h.engine.idle();
    expect(h.store.getAction(id as number)?.reason).toBe('maintenance_window: maintenance window upgrade is active');
    expect(h.primary.calls.precheck).toBe(0);
  });
});

describe('restart', () => {
  it('an action running when the process died is reported interrupted, never re-run', async () => {
    const file = join(dir, 'restart.db');
    const first = harness(RULES, { file });
    first.primary.gate = new Promise(() => {});
    const [id] = first.deliver([unsynced()]).actions as [number];
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(first.store.getAction(id)?.state).toBe('running');
    // A second process opens the same state while the first one's action is still "running": as after a crash.
    const second = harness(RULES, { file });
    expect(second.store.getAction(id)?.state).toBe('interrupted');
    await second.engine.idle();
    expect(second.primary.calls.precheck).toBe(0);
    // Deliveries of the same episode after the restart are still duplicates.
    expect(second.deliver([unsynced()]).duplicates).toBe(1);
  });

  it('a stop that aborts a running action records it interrupted and escalates it, as a restart after a crash does', async () => {
    const h = harness();
    h.primary.gate = new Promise(() => {});
    const [id] = h.deliver([unsynced()]).actions as [number];
    while (h.primary.calls.execute === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await h.engine.stop(0);
    expect(h.store.getAction(id)).toMatchObject({ state: 'interrupted', reason: 'warren stopped while the action ran; it is not re-run automatically' });
    expect(h.notifications).toEqual([expect.objectContaining({ kind: 'escalation', payload: expect.objectContaining({ actionId: id, escalation: 'interrupted' }) })]);
  });

  it('an action is recorded running, with its notes so far, before its strategy executes', async () => {
    const h = harness();
    h.primary.gate = new Promise(() => {});
    const [id] = h.deliver([unsynced()]).actions as [number];
    while (h.primary.calls.execute === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Read from the file by another connection: only what was committed.
    const reader = new RemediationStore(h.store.file);
    const action = reader.getAction(id);
    reader.close();
    expect(action?.state).toBe('running');
    expect(action?.startedAt).toBeDefined();
    expect(action?.steps.map((step) => `${step.phase} ${step.status}`)).toEqual(['precheck ok', 'plan planned', 'execute planned']);
  });

  it('the start of a strategy that changes the cluster is flushed to disk before it executes; one that only notifies is not', async () => {
    const h = harness();
    const flushes: number[] = [];
    const syncToDisk = h.store.syncToDisk.bind(h.store);
    h.store.syncToDisk = () => {
      flushes.push(h.primary.calls.execute + h.fallback.calls.execute);
      syncToDisk();
    };
    let flushesBeforeNotify: number | undefined;
    const notify = h.fallback.execute.bind(h.fallback);
    h.fallback.execute = async (context, plan) => {
      flushesBeforeNotify = flushes.length;
      return notify(context, plan);
    };
    h.primary.executeError = new Error('refused'); // escalates to notify_only
    h.deliver([unsynced()]);
    await h.engine.idle();
    expect(h.primary.calls.execute).toBe(1);
    expect(h.fallback.calls.execute).toBe(1);
    // Flushed before sync_queue's execute (no execute yet then), and not again for notify_only's.
    expect(h.primary.changesCluster).toBe(true);
    expect(h.fallback.changesCluster).toBe(false);
    expect(flushes[0]).toBe(0);
    expect(flushesBeforeNotify).toBe(1);
  });
});
