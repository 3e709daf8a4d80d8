// The inbox path: group commit of deliveries, routing that follows (in time slices with durable
// progress), recovery of what a previous process accepted or half-routed, and state files from
// before the inbox had a file of its own.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWebhookPayload, type WebhookPayload } from '../../../src/remediator/alert-payload.ts';
import { RemediationEngine } from '../../../src/remediator/engine.ts';
import { INBOX_FLUSH_INTERVAL_MS, Inbox, inboxFileFor } from '../../../src/remediator/inbox.ts';
import { isWarrenError } from '../../../src/errors.ts';
import { Intake } from '../../../src/remediator/intake.ts';
import { RemediationStore } from '../../../src/remediator/store.ts';
import { alert, configWith, payload, silentLogger, waitFor } from './support.ts';

const SECTION = `
  default_rules: false
  rules:
    - { name: all, matchers: ['alertname=~".+"'], strategies: [{ strategy: notify_only }] }
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-inbox-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Counts the completed flushes (datasync through node:fs/promises, as the inbox flushes) of each file's SQLite log. */
async function countLogFlushes() {
  const probe = await open(dir, 'r');
  const prototype = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const original = prototype.datasync;
  const counts = new Map<string, number>();
  prototype.datasync = function (this: FileHandle) {
    const path = readlinkSync(`/proc/self/fd/${this.fd}`);
    return original.call(this).then(() => void counts.set(path, (counts.get(path) ?? 0) + 1));
  };
  return {
    count: (file: string) => counts.get(`${file}-wal`) ?? 0,
    restore: () => void (prototype.datasync = original),
  };
}

/** A paused engine on a state file and its inbox (the webhook only persists; nothing needs to run). */
function engineOn(file = join(dir, 'state.db'), routingSliceMs?: number) {
  const config = configWith(SECTION);
  const store = new RemediationStore(file);
  const inbox = new Inbox(inboxFileFor(file));
  const reported: number[] = [];
  const onRouted = (below: number) => {
    reported.push(below);
    inbox.forgetBelow(below);
  };
  const engine = new RemediationEngine({ settings: config.remediation, config, store, inbox, onRouted, logger: silentLogger, clusterAccess: () => { throw new Error('unused'); }, notifier: { configured: false, notify: async () => true }, routingSliceMs });
  engine.setPaused(true, 'test');
  const batches: number[] = [];
  const intake = new Intake(
    (payloadJsons) => {
      batches.push(payloadJsons.length);
      return inbox.add(payloadJsons, new Date().toISOString());
    },
    () => engine.inboxChanged(),
  );
  const close = async () => {
    await engine.stop(0);
    store.close();
    inbox.close();
  };
  return { engine, store, inbox, batches, intake, close, reported };
}

const body = (alerts: ReturnType<typeof alert>[]): string => JSON.stringify(payload(alerts));

/** Counts the inbox's checkpoints from now on. */
function countCheckpoints(inbox: Inbox): { count: number } {
  const counter = { count: 0 };
  const checkpoint = inbox.checkpoint.bind(inbox);
  inbox.checkpoint = () => {
    counter.count++;
    checkpoint();
  };
  return counter;
}
const parsed = (alerts: ReturnType<typeof alert>[]): WebhookPayload => {
  const result = parseWebhookPayload(payload(alerts));
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.payload;
};

describe('Intake (validation and group commit)', () => {
  it('writes deliveries of one event-loop turn in one transaction and answers each on its own', async () => {
    const { engine, store, batches, intake, close } = engineOn();
    const outcomes = await Promise.all([1, 2, 3].map((n) => intake.accept(body([alert({ alertname: `A${n}` })]))));
    expect(batches).toEqual([3]);
    expect(new Set(outcomes.map((o) => o.ok && o.delivery)).size).toBe(3);
    expect(outcomes.every((o) => o.ok && o.alerts === 1)).toBe(true);
    expect(engine.inboxSize).toBe(3); // persisted before the answer, routed right after
    await engine.idle();
    expect(engine.inboxSize).toBe(0);
    expect(store.listActions()).toHaveLength(3);
    // A later turn is a new batch.
    await intake.accept(body([alert({ alertname: 'A4' })]));
    expect(batches).toEqual([3, 1]);
    await close();
  });

  it('answers every delivery of a batch with the error when the batch could not be persisted', async () => {
    const intake = new Intake(() => {
      throw new Error('disk full');
    });
    const outcomes = await Promise.allSettled([1, 2].map((n) => intake.accept(body([alert({ alertname: `A${n}` })]))));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });

  it('answers malformed bodies without persisting anything, naming what is wrong', async () => {
    const persisted: string[][] = [];
    const intake = new Intake((payloadJsons) => {
      persisted.push(payloadJsons);
      return payloadJsons.map((_, i) => i + 1);
    });
    expect(await intake.accept('{"version": "4",')).toMatchObject({ ok: false, error: expect.stringMatching(/^body is not JSON/) });
    const noFingerprint = await intake.accept(JSON.stringify(payload([{ ...alert({ alertname: 'X' }), fingerprint: 'not hex' }])));
    expect(noFingerprint).toMatchObject({ ok: false, problems: [{ path: 'alerts[0].fingerprint' }] });
    expect(persisted).toEqual([]);
  });

  it('a delivery whose routing fails, or whose row is damaged, is skipped and does not hold up the others', async () => {
    const { engine, store, inbox, close } = engineOn();
    const good = parsed([alert({ alertname: 'Good' })]);
    // A payload that throws while routing (validation would never let it through; written directly).
    const bad = { ...parsed([alert({ alertname: 'Bad' })]), alerts: [null] } as unknown as WebhookPayload;
    inbox.add([JSON.stringify(good), JSON.stringify(bad), '{"damaged": ', JSON.stringify(parsed([alert({ alertname: 'AfterDamage' })]))], new Date().toISOString());
    engine.inboxChanged();
    await engine.idle();
    expect(store.listActions().map((a) => a.alert.labels.alertname)).toEqual(['AfterDamage', 'Good']);
    expect(engine.inboxSize).toBe(0);
    await close();
  });

  it('routes deliveries a previous process accepted but did not route (crash after the 200)', async () => {
    const file = join(dir, 'crashed.db');
    const before = new Inbox(inboxFileFor(file));
    before.add([JSON.stringify(parsed([alert({ alertname: 'BeforeCrash' })]))], new Date().toISOString());
    before.close();
    const { engine, store, close } = engineOn(file);
    engine.start();
    await engine.idle();
    expect(engine.inboxSize).toBe(0);
    expect(store.listActions().map((a) => a.alert.labels.alertname)).toEqual(['BeforeCrash']);
    await close();
  });

  it('routes a large delivery in parts, recording its progress, and counts every alert once', async () => {
    const { engine, store, intake, close } = engineOn(undefined, 1);
    const parts: number[] = [];
    const setInboxPosition = store.setInboxPosition.bind(store);
    store.setInboxPosition = (position) => {
      if (position.routed > 0) parts.push(position.routed);
      setInboxPosition(position);
    };
    const alerts = Array.from({ length: 2000 }, (_, i) => alert({ alertname: 'Big', queue: `q${i}` }));
    await intake.accept(body(alerts));
    await engine.idle();
    // Each part routed at least one alert more than the last (here a part holds the engine ~1 ms).
    expect(parts.length).toBeGreaterThan(0);
    expect(parts).toEqual([...parts].sort((a, b) => a - b));
    expect(new Set(parts).size).toBe(parts.length);
    expect(engine.inboxSize).toBe(0);
    expect(store.inboxPosition()).toEqual({ id: 2, routed: 0 });
    expect(store.countByState().get('pending')).toBe(2000);
    expect(engine.stats.alertsReceived.get('firing')).toBe(2000);
    await close();
  }, 30_000); // 2,000 alerts through SQLite: slow on a loaded 2-core machine; not a timing test

  it('routes many small deliveries in a few transactions, not one each', async () => {
    const { engine, store, inbox, close } = engineOn();
    let transactions = 0;
    const transaction = store.transaction.bind(store);
    store.transaction = (work) => {
      transactions++;
      return transaction(work);
    };
    const deliveries = Array.from({ length: 40 }, (_, i) => JSON.stringify(parsed([alert({ alertname: 'Small', queue: `q${i}` })])));
    inbox.add(deliveries, new Date().toISOString());
    engine.inboxChanged();
    await engine.idle();
    // One commit rewrites every page it touched, so a commit per delivery multiplies the engine's writes.
    expect(transactions).toBeLessThan(deliveries.length / 4);
    expect(store.countByState().get('pending')).toBe(40);
    expect(store.inboxPosition()).toEqual({ id: 41, routed: 0 });
    await close();
  });

  it('a steady stream, drained delivery by delivery and never quiet, still checkpoints every 64 deliveries', async () => {
    const { engine, inbox, intake, close, reported } = engineOn();
    const checkpoints = countCheckpoints(inbox);
    for (let i = 0; i < 64; i++) {
      await intake.accept(body([alert({ alertname: 'Steady', queue: `q${i}` })]));
      await engine.idle();
    }
    // By count, without a quiet second (only a delivery held up for a second here could add one).
    expect(checkpoints.count).toBeGreaterThanOrEqual(1);
    expect(reported.at(-1)).toBe(65);
    await close();
  });

  it('checkpoints the inbox once it has been quiet, not after each delivery it drained', async () => {
    const { engine, inbox, intake, close } = engineOn();
    const checkpoints = countCheckpoints(inbox);
    for (let i = 0; i < 5; i++) {
      await intake.accept(body([alert({ alertname: 'OneByOne', queue: `q${i}` })]));
      await engine.idle();
    }
    expect(checkpoints.count).toBe(0);
    // A checkpoint flushes the inbox's files, which the next acknowledgement's flush would queue behind.
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(checkpoints.count).toBe(1);
    await close();
  });

  it('resumes a delivery a previous process routed in part, from where it stopped', async () => {
    const file = join(dir, 'half.db');
    const { engine, store, inbox, close } = engineOn(file);
    const alerts = [0, 1, 2, 3, 4].map((i) => alert({ alertname: `Part${i}` }));
    const [id] = inbox.add([JSON.stringify(parsed(alerts))], new Date().toISOString());
    const [row] = [inbox.next(0)];
    // Its first two alerts were routed (and committed) before the crash.
    store.setInboxPosition({ id: id as number, routed: 2, receivedAt: row?.receivedAt });
    engine.start();
    await engine.idle();
    expect(store.listActions().map((a) => a.alert.labels.alertname).sort()).toEqual(['Part2', 'Part3', 'Part4']);
    expect(engine.inboxSize).toBe(0);
    await close();
  });

  it('a delivery that took the id of one routed in part (its row lost to a power loss) is routed from its first alert', async () => {
    const file = join(dir, 'reused.db');
    const { engine, store, inbox, close } = engineOn(file);
    const alerts = [0, 1, 2].map((i) => alert({ alertname: `New${i}` }));
    const [id] = inbox.add([JSON.stringify(parsed(alerts))], '2026-11-22T10:00:00.000Z');
    // The state says a delivery with this id, received at another time, was routed in part.
    store.setInboxPosition({ id: id as number, routed: 2, receivedAt: '2026-11-22T09:59:59.900Z' });
    engine.start();
    await engine.idle();
    expect(store.listActions().map((a) => a.alert.labels.alertname).sort()).toEqual(['New0', 'New1', 'New2']);
    await close();
  });

  it('routes an inbox that was replaced (deleted, or the state restored) from its start', async () => {
    const file = join(dir, 'replaced.db');
    const { engine, store, inbox, close } = engineOn(file);
    store.setInboxPosition({ id: 500, routed: 0 }); // the state had routed 499 deliveries of an earlier inbox
    inbox.add([JSON.stringify(parsed([alert({ alertname: 'AfterReplace' })]))], new Date().toISOString());
    engine.start();
    await engine.idle();
    expect(store.listActions().map((a) => a.alert.labels.alertname)).toEqual(['AfterReplace']);
    expect(store.inboxPosition()).toEqual({ id: 2, routed: 0 });
    await close();
  });

  it('takes a delivery without alerts out of the inbox', async () => {
    const { engine, store, intake, close } = engineOn();
    await intake.accept(body([]));
    await engine.idle();
    expect(engine.inboxSize).toBe(0);
    expect(store.listActions()).toEqual([]);
    await close();
  });

  it('deletes routed deliveries from the inbox file along with a later insert, once the state is flushed', async () => {
    const { engine, store, inbox, intake, close, reported } = engineOn();
    const order: string[] = [];
    const syncToDisk = store.syncToDisk.bind(store);
    store.syncToDisk = () => {
      order.push(`state flushed (${reported.length} reported)`);
      syncToDisk();
    };
    await intake.accept(body([alert({ alertname: 'First' })]));
    await engine.idle();
    // Routed and committed, but the inbox hears of it only once the state's log is flushed: at a
    // checkpoint, after 64 deliveries or a quiet second.
    expect(reported).toEqual([]);
    expect(await waitFor(() => reported.length > 0, 5_000)).toBe(true);
    expect(reported).toEqual([2]);
    expect(order).toEqual(['state flushed (0 reported)']);
    expect(inbox.countFrom(0)).toBe(1); // not deleted yet: deleting is never on its own on the acknowledgement's path
    await intake.accept(body([alert({ alertname: 'Second' })]));
    expect(inbox.countFrom(0)).toBe(1);
    await close();
  });

  it('acknowledging after the write: the log is flushed in the background, and after a failed flush no delivery is taken', async () => {
    const file = join(dir, 'write.inbox.db');
    const failures: unknown[] = [];
    const inbox = new Inbox(file, { acknowledgeAfter: 'write', onFlushError: (error) => failures.push(error) });
    try {
      expect(inbox.add(['{"n":1}'], new Date().toISOString())).toEqual([1]);
      await inbox.acknowledgeable(); // at once: the flush follows
      // The log SQLite committed to disappears before the background flush gets to it: the flush fails.
      rmSync(`${file}-wal`);
      await sleep(INBOX_FLUSH_INTERVAL_MS * 10);
      expect(failures).toHaveLength(1);
      for (const n of [2, 3]) {
        let failure: unknown;
        try {
          inbox.add([`{"n":${n}}`], new Date().toISOString());
        } catch (error) {
          failure = error;
        }
        expect(isWarrenError(failure, 'STATE_UNAVAILABLE')).toBe(true);
        expect(String((failure as Error).message)).toMatch(/the inbox's log could not be flushed to disk: .*(ENOENT|removed while in use)/);
      }
    } finally {
      inbox.close();
    }
  });

  it('acknowledging after the flush: a delivery is acknowledgeable once a flush that started after its commit is done; commits during a flush share the next one', async () => {
    const file = join(dir, 'flush.inbox.db');
    const failures: unknown[] = [];
    const inbox = new Inbox(file, { onFlushError: (error) => failures.push(error) });
    const flushes = await countLogFlushes();
    try {
      // How many flushes had completed when each delivery became acknowledgeable.
      const settledAfter: Record<string, number> = {};
      const track = (name: string, promise: Promise<void>) => promise.then(() => void (settledAfter[name] = flushes.count(file)));
      inbox.add(['{"n":1}'], new Date().toISOString());
      const first = track('first', inbox.acknowledgeable());
      // Committed while the first flush runs: these wait for a second one, which they share.
      inbox.add(['{"n":2}'], new Date().toISOString());
      const second = track('second', inbox.acknowledgeable());
      inbox.add(['{"n":3}'], new Date().toISOString());
      const third = track('third', inbox.acknowledgeable());
      await Promise.all([first, second, third]);
      expect(settledAfter).toEqual({ first: 1, second: 2, third: 2 });
      expect(flushes.count(file)).toBe(2);
      await inbox.acknowledgeable(); // nothing new: no flush
      expect(flushes.count(file)).toBe(2);
      // A failed flush rejects the deliveries waiting for it (500: Alertmanager retries) and stops the intake.
      inbox.add(['{"n":4}'], new Date().toISOString());
      rmSync(`${file}-wal`);
      await expect(inbox.acknowledgeable()).rejects.toThrow(/the inbox's log could not be flushed to disk: .*(ENOENT|removed while in use)/);
      expect(failures).toHaveLength(1);
      expect(() => inbox.add(['{"n":5}'], new Date().toISOString())).toThrow(/could not be flushed/);
    } finally {
      flushes.restore();
      inbox.close();
    }
  });

  it('closing while a flush runs is not a failed flush: what waited for it is acknowledged, and nothing is reported', async () => {
    for (const acknowledgeAfter of ['flush', 'write'] as const) {
      const file = join(dir, `closing-${acknowledgeAfter}.inbox.db`);
      const failures: unknown[] = [];
      const inbox = new Inbox(file, { acknowledgeAfter, onFlushError: (error) => failures.push(error) });
      inbox.add(['{"n":1}'], new Date().toISOString());
      const flushed = inbox.flushed(); // under way (opening the log, or in its datasync)
      inbox.add(['{"n":2}'], new Date().toISOString());
      const next = inbox.flushed(); // queued behind it; close flushes this one's commit itself
      inbox.close();
      await expect(flushed).resolves.toBeUndefined();
      await expect(next).resolves.toBeUndefined();
      expect(failures).toEqual([]);
      const reopened = new Inbox(file);
      expect(reopened.countFrom(0)).toBe(2);
      reopened.close();
    }
  });

  it('the intake answers a delivery only once it may be acknowledged; those arriving meanwhile are committed together, all of them, and share one flush', async () => {
    const commits: number[] = [];
    const flushes: { resolve: () => void; reject: (error: Error) => void }[] = [];
    const intake = new Intake(
      (payloadJsons) => {
        commits.push(payloadJsons.length);
        return payloadJsons.map((_, i) => commits.length * 1000 + i);
      },
      () => undefined,
      () => new Promise<void>((resolve, reject) => flushes.push({ resolve, reject })),
    );
    let answered = false;
    const first = intake.accept(body([alert({ alertname: 'First' })])).then((outcome) => ((answered = true), outcome));
    expect(await waitFor(() => flushes.length === 1, 1_000)).toBe(true);
    expect(commits).toEqual([1]);
    // 100 arrive while that flush runs: none is committed until it is done.
    const meanwhile = Array.from({ length: 100 }, (_, n) => intake.accept(body([alert({ alertname: `Meanwhile${n}` })])));
    await sleep(20);
    expect(answered).toBe(false); // committed, not flushed: no answer yet
    expect(commits).toEqual([1]);
    flushes[0]!.resolve();
    expect(await first).toMatchObject({ ok: true, delivery: 1000 });
    // Then all of them: two transactions (64 + 36), one flush.
    expect(await waitFor(() => flushes.length === 2, 1_000)).toBe(true);
    expect(commits).toEqual([1, 64, 36]);
    // That flush fails: all 100 are rejected (answered 500, Alertmanager retries).
    flushes[1]!.reject(new Error('flush failed'));
    const settled = await Promise.allSettled(meanwhile);
    expect(settled.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as Error).message : 'answered'))).toEqual(Array(100).fill('flush failed'));
    // The intake goes on with the next delivery (the remediator itself stops on a failed flush: engine-process tests).
    const later = intake.accept(body([alert({ alertname: 'Later' })]));
    expect(await waitFor(() => flushes.length === 3, 1_000)).toBe(true);
    flushes[2]!.resolve();
    expect(await later).toMatchObject({ ok: true, delivery: 4000 });
  });

  it('opening waits for a lock another process holds (the inbox writer and the engine open a new inbox at the same time)', async () => {
    const file = join(dir, 'contended.inbox.db');
    // Another process takes the new file's lock and keeps it a moment: switching it to WAL has to wait.
    const holder = spawn(process.execPath, ['-e', `
      const { DatabaseSync } = require('node:sqlite');
      const db = new DatabaseSync(${JSON.stringify(file)});
      db.exec('BEGIN EXCLUSIVE; CREATE TABLE held (x)');
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, 500);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(holder, 'exit');
    await once(holder.stdout!, 'data');
    const inbox = new Inbox(file);
    try {
      expect(inbox.add(['{}'], new Date().toISOString())).toEqual([1]);
    } finally {
      inbox.close();
      await exited;
    }
  });

  it('deletes a long routed backlog a batch per insert, and the rest once the inbox is quiet', async () => {
    const { engine, inbox, intake, close, reported } = engineOn();
    // One turn's deliveries, one commit; then all of them are routed, and reported once flushed.
    await Promise.all(Array.from({ length: 40 }, (_, n) => intake.accept(body([alert({ alertname: `Backlog${n}` })]))));
    await engine.idle();
    expect(await waitFor(() => reported.includes(41), 5_000)).toBe(true);
    expect(inbox.countFrom(0)).toBe(40);
    await intake.accept(body([alert({ alertname: 'Next' })]));
    // One acknowledgement's transaction deleted 16 rows, not the whole backlog.
    expect(inbox.countFrom(0)).toBe(40 + 1 - 16);
    await engine.idle();
    // The rest goes in batches once the inbox has been quiet a second.
    expect(await waitFor(() => inbox.countFrom(0) === 0, 5_000)).toBe(true);
    await close();
  });

  it('moves deliveries an older warren kept in the state file into the inbox, and routes them', async () => {
    const file = join(dir, 'old.db');
    const old = new DatabaseSync(file);
    old.exec('CREATE TABLE inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, payload TEXT NOT NULL, routed INTEGER NOT NULL DEFAULT 0)');
    old.prepare('INSERT INTO inbox (received_at, payload) VALUES (?, ?)').run('2026-11-22T00:00:00.000Z', JSON.stringify(parsed([alert({ alertname: 'Legacy' })])));
    old.close();
    const { engine, store, close } = engineOn(file);
    engine.start();
    await engine.idle();
    expect(store.listActions().map((a) => a.alert.labels.alertname)).toEqual(['Legacy']);
    expect(store.legacyInbox()).toEqual([]);
    await close();
  });
});

function indexesOf(file: string): unknown[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name`).all();
  } finally {
    db.close();
  }
}

describe('state files of schema version 1', () => {
  it('are migrated: episode keys lead with startsAt, deduplication still recognises their alerts', async () => {
    const file = join(dir, 'v1.db');
    const seen = alert({ alertname: 'SeenBeforeUpgrade' }, { fingerprint: 'ABCDEF0123456789', startsAt: '2026-11-22T05:00:00.123+00:00' });
    {
      const { engine, close } = engineOn(file);
      engine.receive(parsed([seen]));
      await close();
    }
    // What version 1 wrote: `fingerprint|startsAt|status` keys and an index led by the fingerprint.
    const v1 = new DatabaseSync(file);
    v1.exec(`UPDATE episodes SET key = fingerprint || '|' || starts_at || '|' || status`);
    v1.exec('DROP INDEX actions_episode; CREATE INDEX actions_fingerprint ON actions(fingerprint, starts_at)');
    v1.exec(`UPDATE meta SET value = '1' WHERE key = 'schema_version'`);
    v1.close();

    const { engine, store, close } = engineOn(file);
    const again = engine.receive(parsed([seen]));
    expect(again.duplicates).toBe(1);
    expect(store.listActions().map((a) => a.alert.labels.alertname)).toEqual(['SeenBeforeUpgrade']);
    await close();
    const migrated = new DatabaseSync(file, { readOnly: true });
    expect(migrated.prepare('SELECT key FROM episodes').all()).toEqual([{ key: '2026-11-22T05:00:00.123Z|abcdef0123456789|firing' }]);
    expect(migrated.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'actions' ORDER BY name`).all().map((row) => row.name)).toEqual(['actions_episode', 'actions_state']);
    expect(migrated.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get()).toEqual({ value: '2' });
    migrated.close();
  });

  it('a state file from a newer warren is refused, and left as it was', () => {
    const file = join(dir, 'future.db');
    new RemediationStore(file).close();
    const future = new DatabaseSync(file);
    future.exec(`UPDATE meta SET value = '3' WHERE key = 'schema_version'`);
    future.exec('DROP INDEX actions_episode'); // as if version 3 had no use for it
    future.close();
    const indexesBefore = indexesOf(file);
    expect(() => new RemediationStore(file)).toThrow(/state schema version 3, this warren understands 2/);
    expect(indexesOf(file)).toEqual(indexesBefore);
  });
});

describe('inboxFileFor', () => {
  it.each([
    ['/var/lib/warren/remediator.db', '/var/lib/warren/remediator.inbox.db'],
    ['state.sqlite3', 'state.inbox.sqlite3'],
    ['/srv/state', '/srv/state.inbox'],
    [':memory:', ':memory:'],
  ])('%s -> %s', (state, inbox) => {
    expect(inboxFileFor(state)).toBe(inbox);
    expect(existsSync(inbox)).toBe(false);
  });
});
