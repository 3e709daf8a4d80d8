// Where the remediator's work runs. The HTTP thread only authenticates, reads bodies and answers;
// the rest is behind two promise-returning interfaces that work the same either way:
//   - accept: parses and validates a delivery and commits it to the inbox (the 200 waits for this);
//   - engine: routing, guards, strategies and the audit trail (EngineCalls).
// `warren remediator` writes the inbox in the HTTP thread and runs the engine in a child process
// (separateBackend): the engine keeps the second core busy without holding up the next request.
// Tests that script strategies run both in their own thread (inlineBackend).
import type { ConfigSource } from '../config/source.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { ENGINE_CALLS, type EngineCalls, type EngineRuntime } from './engine-runtime.ts';
import { Inbox, inboxFileFor } from './inbox.ts';
import { Intake, type IntakeOutcome } from './intake.ts';
import type { RemediatorOverrides, RemediatorSettings } from './settings.ts';
import { startProcess } from './worker-rpc.ts';

export type EngineClient = {
  [M in keyof EngineCalls]: (...args: Parameters<EngineCalls[M]>) => Promise<Awaited<ReturnType<EngineCalls[M]>>>;
};

export interface RemediatorBackend {
  engine: EngineClient;
  /** Parses, validates and persists one delivery's body; rejects only when it could not be persisted (a 500). */
  accept(body: string): Promise<IntakeOutcome>;
  /** Resolves with the reason if the inbox cannot be flushed or the engine's process stops on its own. */
  failed: Promise<Error>;
  /** Stops taking deliveries, then stops the engine (running actions get `graceMs`). */
  close(graceMs: number): Promise<void>;
}

/** What the workers need to build the same remediator: where the configuration comes from, and the command line's overrides. */
export interface RemediatorWorkerData {
  source: ConfigSource;
  overrides: RemediatorOverrides;
}

/** Messages between the inbox writer and the engine. */
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
    () => runtime.inbox.acknowledgeable(),
  );
  return {
    engine: engine as EngineClient,
    accept: (body) => intake.accept(body),
    failed: new Promise<Error>(() => undefined), // fails with this thread
    close: (graceMs) => runtime.close(graceMs),
  };
}

/**
 * The inbox writer in this thread, the engine in a child process. Not the engine in a thread:
 * threads of one process share V8's garbage-collection helpers, and an engine busy with a storm's
 * actions made them, and with them the acknowledgements, wait (measured: docs/benchmarks.md). A
 * process of its own has its own helpers and runs all its threads at a lower priority. The inbox
 * writer is not a thread of its own either: a commit is a write to the operating system and the
 * flush runs on libuv's thread pool (inbox.ts), and handing each request to a thread and back cost
 * the acknowledgement more than the work itself (docs/benchmarks.md). Throws when the inbox cannot
 * be opened.
 */
export function separateBackend(data: RemediatorWorkerData, settings: RemediatorSettings, logger: Logger): RemediatorBackend & { enginePid: number | undefined } {
  let reportInboxFailure: (error: Error) => void = () => undefined;
  const inboxFailed = new Promise<Error>((resolve) => (reportInboxFailure = resolve));
  // The engine's connection checkpoints (copies the log into the file): never on this path.
  const inbox = new Inbox(inboxFileFor(settings.stateFile), {
    checkpoints: false,
    acknowledgeAfter: settings.acknowledgeAfter,
    // Nothing can be promised after a failed flush: the remediator stops (fatal), to be restarted.
    onFlushError: (error) => {
      logger.fatal({ err: describeError(error) }, "the remediator's inbox could not be flushed to disk");
      reportInboxFailure(error);
    },
  });
  const engineProcess = startProcess(
    'engine',
    new URL('./engine-process.ts', import.meta.url),
    data,
    {
      execArgv: engineProcessFlags(process.execArgv),
      onOther: (message) => {
        if (isEngineNews(message) && 'forgetBelow' in message.news) inbox.forgetBelow(message.news.forgetBelow);
      },
    },
    logger,
  );
  const intake = new Intake(
    (payloadJsons) => inbox.add(payloadJsons, new Date().toISOString()),
    () => engineProcess.send({ news: { delivered: true } } satisfies EngineNews),
    () => inbox.acknowledgeable(),
  );
  const engine: Record<string, unknown> = {};
  for (const method of ENGINE_CALLS) engine[method] = (...args: unknown[]) => engineProcess.call(method, args);
  return {
    engine: engine as EngineClient,
    enginePid: engineProcess.pid,
    accept: (body) => intake.accept(body),
    failed: Promise.race([inboxFailed, engineProcess.failed]),
    async close(graceMs) {
      inbox.close();
      // Running actions get graceMs; closing its clients and files takes moments more.
      await engineProcess.close([graceMs], graceMs + 10_000);
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
