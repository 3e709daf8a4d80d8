import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { parseWebhookPayload, type WebhookPayload } from '../../../src/remediator/alert-payload.ts';
import { RemediationEngine } from '../../../src/remediator/engine.ts';
import { IntakeQueue } from '../../../src/remediator/intake-queue.ts';
import { RemediationStore } from '../../../src/remediator/store.ts';
import { alert, configWith, payload, silentLogger } from './support.ts';

const SECTION = `
  default_rules: false
  rules:
    - { name: all, matchers: ['alertname=~".+"'], strategies: [{ strategy: notify_only }] }
`;

function engineWithBatches() {
  const config = configWith(SECTION);
  const store = new RemediationStore(':memory:');
  const engine = new RemediationEngine({ settings: config.remediation, config, store, logger: silentLogger, clusterAccess: () => { throw new Error('unused'); }, notifier: { configured: false, notify: async () => true } });
  engine.setPaused(true, 'test');
  const batches: number[] = [];
  const persist = async (payloadJsons: string[]) => {
    batches.push(payloadJsons.length);
    return engine.accept(payloadJsons);
  };
  return { engine, store, batches, persist };
}

const parsed = (alerts: ReturnType<typeof alert>[]): WebhookPayload => {
  const result = parseWebhookPayload(payload(alerts));
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.payload;
};

describe('IntakeQueue (group commit)', () => {
  it('writes deliveries of one event-loop turn in one transaction and answers each on its own', async () => {
    const { engine, store, batches, persist } = engineWithBatches();
    const queue = new IntakeQueue(persist);
    const deliveries = await Promise.all([1, 2, 3].map((n) => queue.submit(parsed([alert({ alertname: `A${n}` })]))));
    expect(batches).toEqual([3]);
    expect(new Set(deliveries).size).toBe(3);
    expect(store.inboxSize()).toBe(3); // persisted before the answer, routed right after
    await engine.idle();
    expect(store.inboxSize()).toBe(0);
    expect(store.listActions()).toHaveLength(3);
    // A later turn is a new batch.
    await queue.submit(parsed([alert({ alertname: 'A4' })]));
    expect(batches).toEqual([3, 1]);
    store.close();
  });

  it('a delivery whose routing fails leaves the others of its batch routed, and the inbox empty', async () => {
    const { engine, store, persist } = engineWithBatches();
    const queue = new IntakeQueue(persist);
    const good = parsed([alert({ alertname: 'Good' })]);
    // A payload that throws while routing (validation would never let it through; forced here).
    const bad = { ...parsed([alert({ alertname: 'Bad' })]), alerts: [null] } as unknown as WebhookPayload;
    await Promise.all([queue.submit(good), queue.submit(bad)]);
    await engine.idle();
    expect(store.listActions().map((a) => a.alert.labels.alertname)).toEqual(['Good']);
    expect(store.inboxSize()).toBe(0);
    store.close();
  });

  it('answers every delivery of a batch with the error when the batch could not be persisted', async () => {
    const queue = new IntakeQueue(async () => {
      throw new Error('disk full');
    });
    const outcomes = await Promise.allSettled([1, 2].map((n) => queue.submit(parsed([alert({ alertname: `A${n}` })]))));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });

  it('routes deliveries a previous process accepted but did not route (crash after the 200)', async () => {
    const config = configWith(SECTION);
    const store = new RemediationStore(':memory:');
    store.addToInbox(JSON.stringify(parsed([alert({ alertname: 'BeforeCrash' })])), new Date().toISOString());
    const engine = new RemediationEngine({ settings: config.remediation, config, store, logger: silentLogger, clusterAccess: () => { throw new Error('unused'); }, notifier: { configured: false, notify: async () => true } });
    engine.setPaused(true, 'test');
    engine.start();
    await engine.idle();
    expect(store.inboxSize()).toBe(0);
    expect(store.listActions().map((a) => a.alert.labels.alertname)).toEqual(['BeforeCrash']);
    await engine.stop(0);
    store.close();
  });

  it('routes a large delivery in parts, recording its progress, and counts every alert once', async () => {
    const { engine, store, persist } = engineWithBatches();
    const parts: number[] = [];
    const setInboxProgress = store.setInboxProgress.bind(store);
    store.setInboxProgress = (id, routed) => {
      parts.push(routed);
      setInboxProgress(id, routed);
    };
    const alerts = Array.from({ length: 2000 }, (_, i) => alert({ alertname: 'Big', queue: `q${i}` }));
    await new IntakeQueue(persist).submit(parsed(alerts));
    await engine.idle();
    // Each part routed at least one alert more than the last (a part holds the engine ~1 ms).
    expect(parts.length).toBeGreaterThan(0);
    expect(parts).toEqual([...parts].sort((a, b) => a - b));
    expect(new Set(parts).size).toBe(parts.length);
    expect(store.inboxSize()).toBe(0);
    expect(store.listActions({ limit: 1000 })).toHaveLength(1000);
    expect(store.countByState().get('pending')).toBe(2000);
    expect(engine.stats.alertsReceived.get('firing')).toBe(2000);
    store.close();
  });

  it('resumes a delivery a previous process routed in part, from where it stopped', async () => {
    const config = configWith(SECTION);
    const store = new RemediationStore(':memory:');
    const alerts = [0, 1, 2, 3, 4].map((i) => alert({ alertname: `Part${i}` }));
    const id = store.addToInbox(JSON.stringify(parsed(alerts)), new Date().toISOString());
    store.setInboxProgress(id, 2); // its first two alerts were routed (and committed) before the crash
    const engine = new RemediationEngine({ settings: config.remediation, config, store, logger: silentLogger, clusterAccess: () => { throw new Error('unused'); }, notifier: { configured: false, notify: async () => true } });
    engine.setPaused(true, 'test');
    engine.start();
    await engine.idle();
    expect(store.listActions().map((a) => a.alert.labels.alertname).sort()).toEqual(['Part2', 'Part3', 'Part4']);
    expect(store.inboxSize()).toBe(0);
    await engine.stop(0);
    store.close();
  });

  it('takes a delivery without alerts out of the inbox', async () => {
    const { engine, store, persist } = engineWithBatches();
    await new IntakeQueue(persist).submit(parsed([]));
    await engine.idle();
    expect(store.inboxSize()).toBe(0);
    expect(store.listActions()).toEqual([]);
    store.close();
  });

  it('opens a state file from before deliveries were routed in parts, keeping its inbox', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-inbox-'));
    try {
      const file = join(dir, 'old.db');
      const old = new DatabaseSync(file);
      old.exec(`CREATE TABLE inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, payload TEXT NOT NULL);
                INSERT INTO inbox (received_at, payload) VALUES ('2026-11-22T00:00:00.000Z', '{"alerts":[]}');`);
      old.close();
      const store = new RemediationStore(file);
      expect(store.inboxHead(5)).toEqual([{ id: 1, receivedAt: '2026-11-22T00:00:00.000Z', payload: '{"alerts":[]}', routed: 0 }]);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
