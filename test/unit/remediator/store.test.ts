// The state store's deferred writes (notes that ride along with the next commit) and its paging of
// actions by state.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RemediationStore, type NewAction } from '../../../src/remediator/store.ts';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
  file = join(dir, 'state.db');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** What another process sees in the file: only committed writes. */
function committed<T>(read: (store: RemediationStore) => T): T {
  const other = new RemediationStore(file);
  try {
    return read(other);
  } finally {
    other.close();
  }
}

const NOW = '2026-11-22T06:00:00.000Z';

function newAction(queue: string): NewAction {
  return {
    state: 'pending',
    mode: 'enforce',
    rule: 'r',
    cluster: 'local',
    targets: [`local/queue/%2F/${queue}`],
    chain: [{ strategy: 'notify_only', params: {}, executeTimeoutMs: 1000, verifyTimeoutMs: 1000 }],
    alert: { fingerprint: 'abc', status: 'firing', startsAt: NOW, labels: { alertname: 'A', queue }, annotations: {} },
    receiver: 'warren',
  };
}

describe('deferred writes', () => {
  it('wait for the next write and are committed with it, in order', () => {
    const store = new RemediationStore(file);
    store.defer(() => store.setSetting('a', '1'));
    store.defer(() => store.setSetting('a', '2'));
    expect(committed((other) => other.getSetting('a'))).toBeUndefined();
    store.setSetting('b', 'x');
    expect(committed((other) => [other.getSetting('a'), other.getSetting('b')])).toEqual(['2', 'x']);
    store.close();
  });

  it('are committed by flush() and by close()', () => {
    const store = new RemediationStore(file);
    store.defer(() => store.setSetting('a', 'flushed'));
    store.flush();
    expect(committed((other) => other.getSetting('a'))).toBe('flushed');
    store.defer(() => store.setSetting('a', 'closed'));
    store.close();
    expect(committed((other) => other.getSetting('a'))).toBe('closed');
  });

  it('stay queued when the transaction that carried them fails', () => {
    const store = new RemediationStore(file);
    store.defer(() => store.setSetting('a', 'kept'));
    expect(() =>
      store.transaction(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(committed((other) => other.getSetting('a'))).toBeUndefined();
    store.flush();
    expect(committed((other) => other.getSetting('a'))).toBe('kept');
    store.close();
  });

  it('one that fails is reported and dropped; the others and later commits go on', () => {
    const store = new RemediationStore(file);
    const failures: unknown[] = [];
    store.onDeferredError = (error) => failures.push(error);
    store.defer(() => store.setSetting('a', 'before'));
    store.defer(() => {
      throw new Error('a broken note');
    });
    store.defer(() => store.setSetting('c', 'after'));
    store.setSetting('b', 'x');
    expect(failures.map((error) => (error as Error).message)).toEqual(['a broken note']);
    expect(committed((other) => [other.getSetting('a'), other.getSetting('b'), other.getSetting('c')])).toEqual(['before', 'x', 'after']);
    store.setSetting('d', 'y');
    expect(failures).toHaveLength(1);
    store.close();
  });

  it('run at once inside a transaction', () => {
    const store = new RemediationStore(file);
    store.transaction(() => {
      store.defer(() => store.setSetting('a', 'inside'));
      expect(store.getSetting('a')).toBe('inside');
    });
    store.close();
  });
});

describe('actionsInStates', () => {
  it('pages through several states in id order', () => {
    const store = new RemediationStore(file);
    const ids = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6'].map((queue) => store.insertAction(newAction(queue), NOW));
    // pending, approved, pending, approved, ...: both states interleave by id.
    for (const id of ids.filter((_, i) => i % 2 === 1)) expect(store.transition(id, ['pending'], 'approved', NOW)).toBe(true);
    const first = store.actionsInStates(['pending', 'approved'], { limit: 4 });
    expect(first.map((action) => action.id)).toEqual(ids.slice(0, 4));
    const rest = store.actionsInStates(['approved', 'pending'], { afterId: first.at(-1)?.id as number, limit: 4 });
    expect(rest.map((action) => action.id)).toEqual(ids.slice(4));
    expect(store.actionsInStates(['approved']).map((action) => action.id)).toEqual(ids.filter((_, i) => i % 2 === 1));
    store.close();
  });
});

describe('pruneActions (audit_retention)', () => {
  const at = (minute: number) => new Date(Date.parse(NOW) + minute * 60_000).toISOString();

  /** An action created at `minute`, with two steps, left in `state` (finished a minute after it was created when final). */
  function actionAt(store: RemediationStore, minute: number, state: 'succeeded' | 'skipped' | 'pending' | 'running' | 'awaiting_approval'): number {
    const id = store.insertAction(newAction(`q${minute}`), at(minute));
    for (const seq of [1, 2]) store.appendStep(id, { seq, strategy: 'notify_only', phase: 'notify', description: 'tell someone', status: 'ok', startedAt: at(minute) });
    if (state === 'running') store.markStarted(id, at(minute));
    if (state === 'awaiting_approval') store.transition(id, ['pending'], 'awaiting_approval', at(minute));
    if (state === 'succeeded') {
      store.markStarted(id, at(minute));
      store.finish(id, 'succeeded', at(minute + 1), { durationMs: 60_000 });
    }
    if (state === 'skipped') store.transition(id, ['pending'], 'skipped', at(minute + 1), { reason: 'cooldown' });
    return id;
  }

  it('forgets finished actions that finished before the line, with their steps, oldest first and a batch at a time; keeps unfinished ones however old', () => {
    const store = new RemediationStore(file);
    try {
      const old = [actionAt(store, 0, 'succeeded'), actionAt(store, 1, 'skipped'), actionAt(store, 2, 'pending'), actionAt(store, 3, 'running'), actionAt(store, 4, 'awaiting_approval'), actionAt(store, 5, 'succeeded'), actionAt(store, 6, 'skipped')];
      // Finished at minute 11, after the line at minute 10: kept, like everything newer.
      const recent = [actionAt(store, 10, 'succeeded'), actionAt(store, 20, 'succeeded'), actionAt(store, 21, 'pending')];
      const line = at(10);
      expect(store.pruneActions(line, 3)).toBe(3); // minutes 0, 1 and 5: the oldest finished ones
      expect(store.pruneActions(line, 3)).toBe(1); // minute 6
      expect(store.pruneActions(line, 3)).toBe(0);
      const left = store.listActions({ limit: 100 }).map((action) => action.id).sort((a, b) => a - b);
      expect(left).toEqual([old[2], old[3], old[4], ...recent]);
      for (const id of [old[0], old[1], old[5], old[6]]) expect(store.getAction(id as number)).toBeUndefined();
      // Their steps went with them; the others keep theirs.
      expect(committed((other) => other.lastStepSeq(old[0] as number))).toBe(0);
      expect(store.getAction(recent[0] as number)?.steps).toHaveLength(2);
      expect(store.getAction(old[2] as number)?.steps).toHaveLength(2);
    } finally {
      store.close();
    }
  });

  it('finds the line among the gaps earlier prunes left, and does nothing when every action is newer', () => {
    const store = new RemediationStore(file);
    try {
      // Minutes 0-39; every third still pending, so pruning leaves holes between the ones it keeps.
      const ids = Array.from({ length: 40 }, (_, minute) => actionAt(store, minute, minute % 3 === 0 ? 'pending' : 'succeeded'));
      expect(store.pruneActions(at(0), 100)).toBe(0);
      expect(store.pruneActions(at(20), 100)).toBe(12); // finished by minute 19: created 1-18, not multiples of 3
      expect(store.pruneActions(at(30), 100)).toBe(7); // 19, 20, 22, 23, 25, 26, 28
      const expected = ids.filter((_, minute) => minute % 3 === 0 || minute >= 29);
      expect(store.listActions({ limit: 100 }).map((action) => action.id).sort((a, b) => a - b)).toEqual(expected);
    } finally {
      store.close();
    }
  });
});

describe('pruneActions when the clock ran ahead', () => {
  it('an oldest action dated in the future does not hide the others', () => {
    const store = new RemediationStore(file);
    try {
      const future = store.insertAction(newAction('future'), '2030-01-01T00:00:00.000Z');
      const old = store.insertAction(newAction('old'), NOW);
      store.transition(old, ['pending'], 'skipped', NOW, { reason: 'cooldown' });
      expect(store.pruneActions(new Date(Date.parse(NOW) + 3_600_000).toISOString(), 100)).toBe(1);
      expect(store.listActions().map((action) => action.id)).toEqual([future]);
    } finally {
      store.close();
    }
  });
});
