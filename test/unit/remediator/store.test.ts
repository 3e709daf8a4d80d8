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
