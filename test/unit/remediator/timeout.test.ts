// withTimeout, under which every strategy phase runs: it must let go of what a phase reached once
// the phase is done. A version built on AbortSignal.any([outer, AbortSignal.timeout(ms)]) did not:
// Node keeps such a signal alive while it has an abort listener and has not aborted, and request
// code listens, so each phase's signal and all it reached stayed until the timeout (minutes) was
// over: ~4 KB per action while a backlog of quick actions ran, a heap growing without end.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { isWarrenError } from '../../../src/errors.ts';
import { withTimeout } from '../../../src/remediator/engine.ts';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

describe('withTimeout', () => {
  it("lets go of the work's signal once the work is done, long before the timeout", async () => {
    const outer = new AbortController();
    let reference: WeakRef<AbortSignal> | undefined;
    await withTimeout(600_000, outer.signal, async (signal) => {
      reference = new WeakRef(signal);
      // As a client library does for a request, and need not undo once it has answered.
      signal.addEventListener('abort', () => undefined);
      return 'done';
    });
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(reference?.deref()).toBeUndefined();
  });

  it('rejects with STRATEGY_TIMEOUT and aborts the work when the time is up', async () => {
    let aborted: AbortSignal | undefined;
    const error = await withTimeout(20, new AbortController().signal, (signal) => {
      aborted = signal;
      return new Promise(() => {});
    }).catch((caught: unknown) => caught);
    expect(isWarrenError(error, 'STRATEGY_TIMEOUT')).toBe(true);
    expect(aborted?.aborted).toBe(true);
  });

  it("rejects with the outer signal's reason when that aborts first", async () => {
    const outer = new AbortController();
    const pending = withTimeout(600_000, outer.signal, () => new Promise(() => {}));
    outer.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
  });
});
