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
  const receiveBatch = engine.receiveBatch.bind(engine);
  engine.receiveBatch = (payloads) => {
    batches.push(payloads.length);
    return receiveBatch(payloads);
  };
  return { engine, store, batches };
}

const parsed = (alerts: ReturnType<typeof alert>[]): WebhookPayload => {
  const result = parseWebhookPayload(payload(alerts));
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.payload;
};

describe('IntakeQueue (group commit)', () => {
  it('writes deliveries of one event-loop turn in one transaction and answers each on its own', async () => {
    const { engine, store, batches } = engineWithBatches();
    const queue = new IntakeQueue(engine);
    const results = await Promise.all([1, 2, 3].map((n) => queue.submit(parsed([alert({ alertname: `A${n}` })]))));
    expect(batches).toEqual([3]);
    expect(results.map((r) => r.actions.length)).toEqual([1, 1, 1]);
    expect(new Set(results.flatMap((r) => r.actions)).size).toBe(3);
    expect(store.listActions()).toHaveLength(3);
    // A later turn is a new batch.
    await queue.submit(parsed([alert({ alertname: 'A4' })]));
    expect(batches).toEqual([3, 1]);
    store.close();
  });

  it('a delivery that fails is rolled back alone; the others of its batch are kept', async () => {
    const { engine, store } = engineWithBatches();
    const queue = new IntakeQueue(engine);
    const good = parsed([alert({ alertname: 'Good' })]);
    // A payload that throws inside intake (not something validation lets through; forced here).
    const bad = { ...parsed([alert({ alertname: 'Bad' })]), alerts: [null] } as unknown as WebhookPayload;
    const [kept, failed] = await Promise.allSettled([queue.submit(good), queue.submit(bad)]);
    expect(kept.status).toBe('fulfilled');
    expect(failed.status).toBe('rejected');
    expect(store.listActions().map((a) => a.alert.labels.alertname)).toEqual(['Good']);
    store.close();
  });
});
