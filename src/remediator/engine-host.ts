// Where the remediator's work runs. The HTTP thread only authenticates, reads bodies and answers;
// the rest is behind two promise-returning interfaces that work the same either way:
//   - accept: parses and validates a delivery and writes it to the inbox, durably (the 200 waits for this);
//   - engine: routing, guards, strategies and the audit trail (EngineCalls).
// `warren remediator` runs each in a worker thread of its own (threadedBackend): the inbox writer
// spends most of its time waiting for its disk flush, the engine keeps the second core busy, and
// neither holds up the next request. Tests that script strategies run both in their own
// thread (inlineBackend).
import { MessageChannel } from 'node:worker_threads';
import type { ConfigSource } from '../config/source.ts';
import type { Logger } from '../logging.ts';
import { ENGINE_CALLS, type EngineCalls, type EngineRuntime } from './engine-runtime.ts';
import { Intake, type IntakeOutcome } from './intake.ts';
import type { RemediatorOverrides } from './settings.ts';
import { startWorker } from './worker-rpc.ts';

export type EngineClient = {
  [M in keyof EngineCalls]: (...args: Parameters<EngineCalls[M]>) => Promise<Awaited<ReturnType<EngineCalls[M]>>>;
};

export interface RemediatorBackend {
  engine: EngineClient;
  /** Parses, validates and persists one delivery's body; rejects only when it could not be persisted (a 500). */
  accept(body: string): Promise<IntakeOutcome>;
  /** Resolves with the reason if a worker thread stops on its own. */
  failed: Promise<Error>;
  /** Stops taking deliveries, then stops the engine (running actions get `graceMs`). */
  close(graceMs: number): Promise<void>;
}

/** What the worker threads need to build the same remediator: where the configuration comes from, and the command line's overrides. */
export interface RemediatorWorkerData {
  source: ConfigSource;
  overrides: RemediatorOverrides;
}

/** Messages between the inbox writer and the engine, on a channel of their own. */
export type InboxNews = { delivered: true } | { forgetBelow: number };

/** Everything in this thread. */
export function inlineBackend(runtime: EngineRuntime, now: () => number = Date.now): RemediatorBackend {
  const engine: Record<string, unknown> = {};
  for (const method of ENGINE_CALLS) {
    const call = runtime.calls[method] as (...args: unknown[]) => unknown;
    engine[method] = async (...args: unknown[]) => call(...args);
  }
  const intake = new Intake(
    (payloadJsons) => runtime.inbox.add(payloadJsons, new Date(now()).toISOString()),
    () => runtime.engine.inboxChanged(),
  );
  return {
    engine: engine as EngineClient,
    accept: (body) => intake.accept(body),
    failed: new Promise<Error>(() => undefined), // fails with this thread
    close: (graceMs) => runtime.close(graceMs),
  };
}

/** The inbox writer and the engine in worker threads of their own. */
export function threadedBackend(data: RemediatorWorkerData, logger: Logger): RemediatorBackend {
  const { port1: intakePort, port2: enginePort } = new MessageChannel();
  const intake = startWorker('inbox', new URL('./intake-worker.ts', import.meta.url), { ...data, news: intakePort }, [intakePort], logger);
  const engineWorker = startWorker('engine', new URL('./engine-worker.ts', import.meta.url), { ...data, news: enginePort }, [enginePort], logger);
  const engine: Record<string, unknown> = {};
  for (const method of ENGINE_CALLS) engine[method] = (...args: unknown[]) => engineWorker.call(method, args);
  return {
    engine: engine as EngineClient,
    accept: (body) => intake.call('accept', [body]) as Promise<IntakeOutcome>,
    failed: Promise.race([intake.failed, engineWorker.failed]),
    async close(graceMs) {
      await intake.close([]);
      await engineWorker.close([graceMs]);
    },
  };
}
