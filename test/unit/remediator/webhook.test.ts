// The webhook contract Alertmanager relies on, through the real HTTP handler: 2xx once persisted,
// 4xx (never retried) for malformed or unauthorised requests, 5xx only when nothing was persisted.
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import request from 'supertest';
import { listen } from '../../../src/http/server.ts';
import { promtoolCheckMetrics } from '../../support/promtool.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { createRemediatorApp, type RemediatorApp } from '../../../src/remediator/app.ts';
import { inboxFileFor } from '../../../src/remediator/inbox.ts';
import { RemediationStore } from '../../../src/remediator/store.ts';
import { isWarrenError } from '../../../src/errors.ts';
import { alert, configWith, local, payload, scriptedStrategy, silentLogger } from './support.ts';

const SECTION = `
  mode: enforce
  auth:
    bearer_token_env: HOOK_TOKEN
  max_body_size: 65536
  default_rules: false
  rules:
    - name: sync
      matchers: ['fault="mirror_unsynchronised"']
      strategies:
        - { strategy: sync_queue, params: { vhost: '{{ $labels.vhost }}', queue: '{{ $labels.queue }}' } }
`;
const TOKEN = 's3cret-token-for-tests';
const apps: RemediatorApp[] = [];

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close(0);
});

function makeApp(section = SECTION, env: NodeJS.ProcessEnv = { HOOK_TOKEN: TOKEN }): RemediatorApp {
  const config = configWith(section, env);
  const app = createRemediatorApp({
    config,
    logger: silentLogger,
    store: new RemediationStore(':memory:'),
    strategies: { sync_queue: scriptedStrategy('sync_queue'), notify_only: scriptedStrategy('notify_only') },
  });
  local(app).engine.setPaused(true, 'test'); // the contract is about intake; nothing needs to run
  apps.push(app);
  return app;
}

const unsynced = (queue = 'orders', fingerprint = 'abcdef0123456789') => alert({ alertname: 'MirrorUnsynchronised', fault: 'mirror_unsynchronised', vhost: '/', queue }, { fingerprint });

function post(app: RemediatorApp, body: unknown, auth = `Bearer ${TOKEN}`) {
  return request(app.handle).post('/api/v1/alerts').set('authorization', auth).set('content-type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body));
}

describe('POST /api/v1/alerts', () => {
  it('answers 200 with what was recorded once the alerts are persisted', async () => {
    const app = makeApp();
    const response = await post(app, payload([unsynced()]));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'accepted', delivery: 1, alerts: 1 });
    await local(app).engine.idle();
    expect(local(app).store.getAction(1)).toMatchObject({ state: 'pending', rule: 'sync', receiver: 'warren-remediator' });
    expect(local(app).engine.inboxSize).toBe(0);
  });

  it('answers 200 to a duplicate delivery and records nothing new', async () => {
    const app = makeApp();
    await post(app, payload([unsynced()]));
    const again = await post(app, payload([unsynced()]));
    expect(again.status).toBe(200);
    await local(app).engine.idle();
    expect(local(app).engine.stats.deduplicated).toBe(1);
    expect(local(app).store.listActions()).toHaveLength(1);
  });

  it('accepts unknown fields (newer Alertmanager releases add some) and odd label values verbatim', async () => {
    const app = makeApp();
    const odd = alert({ alertname: 'Odd', fault: 'mirror_unsynchronised', vhost: 'ünïcødé "vh"', queue: 'q\nwith\\newline and ${HOME} $(rm -rf /)' }, { fingerprint: '0000000000000001' });
    const response = await post(app, payload([{ ...odd, notification_reason: 'new' } as typeof odd], { notification_reason: 'new', somethingElse: { nested: true } }));
    expect(response.status).toBe(200);
    await local(app).engine.idle();
    const [stored] = local(app).store.listActions();
    expect(stored?.chain[0]?.params).toEqual({ vhost: 'ünïcødé "vh"', queue: 'q\nwith\\newline and ${HOME} $(rm -rf /)' });
  });

  it('answers 400 to a body that is not JSON', async () => {
    const response = await post(makeApp(), '{"version": "4", alerts: [');
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/not JSON/);
  });

  it('answers 400 naming every problem of a payload that is not Alertmanager v4', async () => {
    const bad = { ...payload([unsynced()]), version: '3' };
    (bad.alerts[0] as Record<string, unknown>).fingerprint = 'not hex!';
    delete (bad.alerts[0] as Record<string, unknown>).startsAt;
    const response = await post(makeApp(), bad);
    expect(response.status).toBe(400);
    expect(response.body.problems.map((p: { path: string }) => p.path).sort()).toEqual(['alerts[0].fingerprint', 'alerts[0].startsAt', 'version']);
  });

  it('answers 400 to JSON that is not an object', async () => {
    expect((await post(makeApp(), '[]')).status).toBe(400);
    expect((await post(makeApp(), 'null')).status).toBe(400);
  });

  it('answers 400, not 500, to a body nested deeper than any payload needs (it would overflow the stack later)', async () => {
    const app = makeApp();
    const deep = JSON.stringify(payload([unsynced()])).replace(/}$/, `,"deep":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    const response = await post(app, deep);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^body nests deeper than 64 levels \(at deep\[0\]\[0\]/);
    const fine = JSON.stringify(payload([unsynced()])).replace(/}$/, `,"deep":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`);
    expect((await post(app, fine)).status).toBe(200);
  });

  it('answers 415 to a compressed body, naming the encoding', async () => {
    const response = await request(makeApp().handle).post('/api/v1/alerts').set('authorization', `Bearer ${TOKEN}`).set('content-type', 'application/json').set('content-encoding', 'gzip').serialize((raw) => raw).send(Buffer.from([0x1f, 0x8b, 8, 0]));
    expect(response.status).toBe(415);
    expect(response.body.error).toMatch(/content-encoding gzip is not supported/);
  });

  it('answers 400 to bytes that are not UTF-8 (they would be stored changed) and accepts a byte-order mark', async () => {
    const app = makeApp();
    const text = JSON.stringify(payload([unsynced('caf\u00e9')]));
    const latin1 = Buffer.from(text, 'latin1');
    const invalid = await request(app.handle).post('/api/v1/alerts').set('authorization', `Bearer ${TOKEN}`).set('content-type', 'application/json').serialize((raw) => raw).send(latin1);
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toBe('body is not valid UTF-8');
    const bom = await request(app.handle).post('/api/v1/alerts').set('authorization', `Bearer ${TOKEN}`).set('content-type', 'application/json').serialize((raw) => raw).send(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]));
    expect(bom.status).toBe(200);
    await local(app).engine.idle();
    expect(local(app).store.listActions()[0]?.alert.labels.queue).toBe('caf\u00e9');
  });

  it('answers 413 to a body over max_body_size, declared or streamed', async () => {
    const app = makeApp();
    const huge = payload(Array.from({ length: 400 }, (_, i) => unsynced(`queue-${i}`, (i + 1).toString(16).padStart(16, '0'))));
    const response = await post(app, huge);
    expect(response.status).toBe(413);
    expect(local(app).store.listActions()).toHaveLength(0);
  });

  it('answers 413 to a chunked body (no Content-Length) as soon as it passes the limit', async () => {
    const app = makeApp();
    const server = await listen(app.handle, { address: '127.0.0.1', port: 0 });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${server.url}/api/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        // 16 KiB chunks, well past the 64 KiB limit; the answer comes before the body ends.
        const chunk = Buffer.alloc(16 * 1024, 'a');
        let sent = 0;
        const pump = () => {
          while (sent < 64 && req.write(chunk)) sent++;
          if (sent < 64) req.once('drain', pump);
          else req.end();
        };
        pump();
      });
      expect(status).toBe(413);
      expect(local(app).store.listActions()).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('answers 415 without a content type (Alertmanager always sends application/json)', async () => {
    const response = await request(makeApp().handle).post('/api/v1/alerts').set('authorization', `Bearer ${TOKEN}`).send(Buffer.from(JSON.stringify(payload([unsynced()]))));
    expect(response.status).toBe(415);
  });

  it('answers 400 to label values that are not well-formed Unicode', async () => {
    const response = await post(makeApp(), JSON.stringify(payload([unsynced('bad\ud800queue')])));
    expect(response.status).toBe(400);
    expect(response.body.problems[0].path).toBe('alerts[0].labels.queue');
  });

  it('refuses cross-origin requests, so a browser page cannot ride cached credentials', async () => {
    const app = makeApp();
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await request(app.handle).post('/api/v1/resume').set(auth).set('origin', 'https://evil.example')).status).toBe(403);
    expect((await request(app.handle).post('/api/v1/actions/1/approve').set(auth).set('sec-fetch-site', 'cross-site')).status).toBe(403);
    expect(local(app).engine.paused).toBe(true);
  });

  it('answers 415 to a non-JSON content type', async () => {
    const response = await request(makeApp().handle).post('/api/v1/alerts').set('authorization', `Bearer ${TOKEN}`).set('content-type', 'text/plain').send('hello');
    expect(response.status).toBe(415);
  });

  it('answers 401 without credentials, with a wrong token, and with the wrong scheme', async () => {
    const app = makeApp();
    expect((await request(app.handle).post('/api/v1/alerts').send(payload([unsynced()]))).status).toBe(401);
    expect((await post(app, payload([unsynced()]), 'Bearer wrong')).status).toBe(401);
    expect((await post(app, payload([unsynced()]), `Bearer ${TOKEN}x`)).status).toBe(401);
    expect((await post(app, payload([unsynced()]), `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`)).status).toBe(401);
    expect(local(app).store.listActions()).toHaveLength(0);
  });

  it('takes basic auth when configured that way', async () => {
    const app = makeApp(SECTION.replace('bearer_token_env: HOOK_TOKEN', 'basic_auth: { username: alertmanager, password_env: HOOK_TOKEN }'));
    expect((await post(app, payload([unsynced()]), `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}`)).status).toBe(200);
    expect((await post(app, payload([unsynced()]), `Basic ${Buffer.from(`alertmanager:nope`).toString('base64')}`)).status).toBe(401);
  });

  it('answers 405 to other methods and 404 to unknown routes', async () => {
    const app = makeApp();
    expect((await request(app.handle).get('/api/v1/alerts').set('authorization', `Bearer ${TOKEN}`)).status).toBe(405);
    expect((await request(app.handle).get('/api/v1/nothing').set('authorization', `Bearer ${TOKEN}`)).status).toBe(404);
  });

  it('answers 500 only when the delivery could not be persisted, keeps nothing of it, and a retry then succeeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-webhook-'));
    const file = join(dir, 'state.db');
    try {
      const config = configWith(SECTION, { HOOK_TOKEN: TOKEN });
      const store = new RemediationStore(file);
      const app = createRemediatorApp({ config, logger: silentLogger, store });
      local(app).engine.setPaused(true, 'test');
      // Another process breaks the database under the running remediator: the delivery cannot be
      // written, so nothing may be kept and the answer must make Alertmanager retry.
      const vandal = new DatabaseSync(inboxFileFor(file));
      vandal.exec('DROP TABLE inbox;');
      vandal.close();
      const failed = await post(app, payload([unsynced()]));
      expect(failed.status).toBe(500);
      expect(failed.body.error).toMatch(/retry/);
      await app.close(0);
      // Restarted (the tables are recreated), the same delivery is new: nothing of it was kept.
      const again = createRemediatorApp({ config, logger: silentLogger, store: new RemediationStore(file) });
      apps.push(again);
      local(again).engine.setPaused(true, 'test');
      const retried = await post(again, payload([unsynced()]));
      expect(retried.status).toBe(200);
      await local(again).engine.idle();
      expect(local(again).engine.stats.deduplicated).toBe(0);
      expect(local(again).store.listActions()).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts webhook answers by status on /metrics', async () => {
    const app = makeApp();
    await post(app, payload([unsynced()]));
    await post(app, 'nope');
    await post(app, payload([unsynced()]), 'Bearer wrong');
    await request(app.handle).get('/api/v1/alerts').set('authorization', `Bearer ${TOKEN}`);
    await post(app, payload([unsynced()])).set('origin', 'https://elsewhere.example');
    const metrics = await request(app.handle).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('warren_remediation_webhook_requests_total{code="200"} 1');
    expect(metrics.text).toContain('warren_remediation_webhook_requests_total{code="400"} 1');
    expect(metrics.text).toContain('warren_remediation_webhook_requests_total{code="401"} 1');
    expect(metrics.text).toContain('warren_remediation_webhook_requests_total{code="403"} 1');
    expect(metrics.text).toContain('warren_remediation_webhook_requests_total{code="405"} 1');
    expect(metrics.text).toContain('warren_remediation_actions_by_state{state="pending"} 1');
    expect(metrics.text).toContain('warren_remediation_paused 1');
  });
});

describe('/metrics', () => {
  it('passes promtool check metrics once actions have run (histogram included)', async () => {
    const app = makeApp();
    local(app).engine.setPaused(false, 'test');
    await post(app, payload([unsynced('a', '000000000000000a'), unsynced('b', '000000000000000b')]));
    await local(app).engine.idle();
    const metrics = await request(app.handle).get('/metrics');
    expect(metrics.text).toContain('warren_remediation_action_duration_seconds_bucket{strategy="sync_queue",le="+Inf"} 2');
    expect(metrics.text).toContain('warren_remediation_actions_total{strategy="sync_queue",result="succeeded"} 2');
    expect((await promtoolCheckMetrics(metrics.text)).problems).toEqual([]);
  });
});

describe('startup', () => {
  it('refuses enforce mode without credentials', () => {
    const config = configWith(SECTION.replace(/ {2}auth:\n {4}bearer_token_env: HOOK_TOKEN\n/, ''));
    try {
      createRemediatorApp({ config, logger: silentLogger, store: new RemediationStore(':memory:') });
      expect.unreachable('created an unauthenticated enforcing remediator');
    } catch (error) {
      expect(isWarrenError(error, 'REMEDIATOR_UNSAFE_CONFIG')).toBe(true);
    }
  });

  it('allows dry_run without credentials', async () => {
    const config = configWith(SECTION.replace(/ {2}auth:\n {4}bearer_token_env: HOOK_TOKEN\n/, '').replace('mode: enforce', 'mode: dry_run'));
    const app = createRemediatorApp({ config, logger: silentLogger, store: new RemediationStore(':memory:') });
    apps.push(app);
    expect((await request(app.handle).post('/api/v1/alerts').send(payload([unsynced()]))).status).toBe(200);
  });
});

describe('audit and control API', () => {
  it('lists actions with filters, shows one with its steps, and rejects unknown filters', async () => {
    const app = makeApp();
    await post(app, payload([unsynced('a', '000000000000000a'), unsynced('b', '000000000000000b')]));
    const auth = { authorization: `Bearer ${TOKEN}` };
    const all = await request(app.handle).get('/api/v1/actions').set(auth);
    expect(all.body.actions.map((a: { id: number }) => a.id)).toEqual([2, 1]);
    const one = await request(app.handle).get('/api/v1/actions?fingerprint=000000000000000a&state=pending&strategy=sync_queue').set(auth);
    expect(one.body.actions).toHaveLength(1);
    expect(one.body.actions[0].alert.labels.queue).toBe('a');
    expect((await request(app.handle).get('/api/v1/actions/2').set(auth)).body.rule).toBe('sync');
    expect((await request(app.handle).get('/api/v1/actions/99').set(auth)).status).toBe(404);
    // Fingerprints are stored lowercased; a filter written in capitals finds them too.
    expect((await request(app.handle).get('/api/v1/actions?fingerprint=000000000000000A').set(auth)).body.actions).toHaveLength(1);
    const bad = await request(app.handle).get('/api/v1/actions?sate=pending&limit=0').set(auth);
    expect(bad.status).toBe(400);
    expect(bad.body.problems).toEqual(expect.arrayContaining([expect.stringContaining('unknown filter sate'), expect.stringContaining('limit')]));
    for (const query of ['limit=0x10', 'limit=1e2', 'before_id=1.0', 'since=1', 'since=2026-02-30T00:00:00Z', 'until=2026-11-20%2010:00:00', 'state=failed&state=bogus']) {
      const refused = await request(app.handle).get(`/api/v1/actions?${query}`).set(auth);
      expect(refused.status, query).toBe(400);
      expect(refused.body.problems, query).toHaveLength(1);
    }
    expect((await request(app.handle).get('/api/v1/actions')).status).toBe(401);
  });

  it('approve mode: approving records who and why; an approval past its timeout lists as expired without waiting for housekeeping', async () => {
    const clock = { now: Date.parse('2026-11-22T06:00:00Z') };
    const config = configWith(SECTION.replace('mode: enforce', 'mode: approve\n  approval_timeout: 1m'), { HOOK_TOKEN: TOKEN });
    const app = createRemediatorApp({ config, logger: silentLogger, store: new RemediationStore(':memory:'), strategies: { sync_queue: scriptedStrategy('sync_queue'), notify_only: scriptedStrategy('notify_only') }, now: () => clock.now });
    apps.push(app);
    await app.start();
    const auth = { authorization: `Bearer ${TOKEN}` };
    await post(app, payload([unsynced('a', '000000000000000a'), unsynced('b', '000000000000000b')]));
    await local(app).engine.idle();
    const waiting = async () => (await request(app.handle).get('/api/v1/actions?state=awaiting_approval').set(auth)).body.actions as { id: number }[];
    expect(await waiting()).toHaveLength(2);
    const approved = await request(app.handle).post('/api/v1/actions/1/approve').set(auth);
    expect(approved.body).toMatchObject({ approvedBy: 'bearer-token', reason: 'approved by bearer-token' });
    clock.now += 61_000;
    expect(await waiting()).toHaveLength(0);
    expect((await request(app.handle).get('/api/v1/actions/2').set(auth)).body).toMatchObject({ state: 'expired', reason: 'nobody approved it within the approval timeout' });
  });

  it('pause and resume are persisted and need credentials', async () => {
    const app = makeApp();
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await request(app.handle).post('/api/v1/resume')).status).toBe(401);
    expect((await request(app.handle).post('/api/v1/resume').set(auth)).body).toEqual({ paused: false });
    expect((await request(app.handle).post('/api/v1/pause').set(auth)).body).toEqual({ paused: true });
    expect(local(app).store.getSetting('paused')).toBe('true');
    expect((await request(app.handle).get('/api/v1/status').set(auth)).body).toMatchObject({ mode: 'enforce', paused: true });
  });
});
