// Where the remediator's work runs. The HTTP thread only authenticates, reads bodies and answers;
// the rest is behind two promise-returning interfaces that work the same either way:
//   - accept: parses and validates a delivery and commits it to the inbox (the 200 waits for this);
//   - engine: routing, guards, strategies and the audit trail (EngineCalls).
// `warren remediator` runs the inbox writer in a worker thread and the engine in a child process
// (separateBackend): the writer spends most of its time waiting for its commit, the engine keeps
// the second core busy, and neither holds up the next request. Tests that script strategies run
// both in their own thread (inlineBackend).
import { MessageChannel } from 'node:worker_threads';
import type { ConfigSource } from '../config/source.ts';
import type { Logger } from '../logging.ts';
import { ENGINE_CALLS, type EngineCalls, type EngineRuntime } from './engine-runtime.ts';
import { Intake, type IntakeOutcome } from './intake.ts';
import type { RemediatorOverrides } from './settings.ts';
import { startProcess, startWorker } from './worker-rpc.ts';

export type EngineClient = {
  [M in keyof EngineCalls]: (...args: Parameters<EngineCalls[M]>) => Promise<Awaited<ReturnType<EngineCalls[M]>>>;
};

export interface RemediatorBackend {
  engine: EngineClient;
  /** Parses, validates and persists one delivery's body; rejects only when it could not be persisted (a 500). */
  accept(body: string): Promise<IntakeOutcome>;
  /** Resolves with the reason if the inbox writer's thread or the engine's process stops on its own. */
  failed: Promise<Error>;
  /** Stops taking deliveries, then stops the engine (running actions get `graceMs`). */
  close(graceMs: number): Promise<void>;
}

/** What the workers need to build the same remediator: where the configuration comes from, and the command line's overrides. */
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

/**
 * The inbox writer in a worker thread, the engine in a child process. Not the engine in a thread:
 * threads of one process share V8's garbage-collection helpers, and an engine busy with a storm's
 * actions made them, and with them the acknowledgements, wait (measured: docs/benchmarks.md). A
 * process of its own has its own helpers and runs all its threads at a lower priority. The engine's
 * news for the inbox writer, and the writer's for the engine, pass through this thread.
 */
export function separateBackend(data: RemediatorWorkerData, logger: Logger): RemediatorBackend & { enginePid: number | undefined } {
  const { port1: intakePort, port2: newsPort } = new MessageChannel();
  const intake = startWorker('inbox', new URL('./intake-worker.ts', import.meta.url), { ...data, news: intakePort }, [intakePort], logger);
  const engineProcess = startProcess(
    'engine',
    new URL('./engine-process.ts', import.meta.url),
    data,
    {
      execArgv: engineProcessFlags(process.execArgv),
      onOther: (message) => {
        if (isEngineNews(message)) newsPort.postMessage(message.news);
      },
    },
    logger,
  );
  newsPort.on('message', (news: InboxNews) => engineProcess.send({ news } satisfies EngineNews));
  const engine: Record<string, unknown> = {};
  for (const method of ENGINE_CALLS) engine[method] = (...args: unknown[]) => engineProcess.call(method, args);
  return {
    engine: engine as EngineClient,
    enginePid: engineProcess.pid,
    accept: (body) => intake.call('accept', [body]) as Promise<IntakeOutcome>,
    failed: Promise.race([intake.failed, engineProcess.failed]),
    async close(graceMs) {
      await intake.close([]);
      // Running actions get graceMs; closing its clients and files takes moments more.
      await engineProcess.close([graceMs], graceMs + 10_000);
      newsPort.close();
    },
  };
}

/** Inbox news on the engine process's channel, either way. */
export interface EngineNews {
  news: InboxNews;
}

export function isEngineNews(message: unknown): message is EngineNews {
  return typeof message === 'object' && message !== null && 'news' in message;
}

/**
 * The engine process's Node flags: this process's heap limits (the `warren` executable sets them),
 * nothing else (a test runner's loaders or inspector flags would not work in a plain child).
 */
export function engineProcessFlags(execArgv: readonly string[]): string[] {
  return execArgv.filter((flag) => /^--max-(old|semi)-space-size=\d+$/.test(flag));
}
