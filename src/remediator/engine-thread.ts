// How the HTTP side talks to the remediation engine: an EngineClient, the same promise-returning
// calls whether the engine runs in this thread (tests) or in a worker thread of its own
// (`warren remediator`). In the worker, deduplication, routing, SQLite commits and strategies use
// the second core and never hold up the event loop that parses and acknowledges webhook deliveries.
import { Worker } from 'node:worker_threads';
import type { ConfigSource } from '../config/source.ts';
import { WarrenError, describeError, type WarrenErrorCode } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { ENGINE_CALLS, type EngineCalls, type EngineRuntime } from './engine-runtime.ts';
import type { RemediatorOverrides } from './settings.ts';

export type EngineClient = {
  [M in keyof EngineCalls]: (...args: Parameters<EngineCalls[M]>) => Promise<Awaited<ReturnType<EngineCalls[M]>>>;
} & {
  /** Stops the engine (running actions get `graceMs`) and releases what it holds. */
  close(graceMs: number): Promise<void>;
  /** Resolves with the reason if the engine stops working on its own (its thread died). */
  readonly failed: Promise<Error>;
};

/** What the worker needs to build the same engine: where the configuration comes from, and the command line's overrides. */
export interface EngineWorkerData {
  source: ConfigSource;
  overrides: RemediatorOverrides;
}

export type EngineRequest = { seq: number; method: keyof EngineCalls | 'close'; args: unknown[] };
export interface SerialisedError {
  message: string;
  code?: string | undefined;
}
export type EngineReply = { seq: number; ok: true; value: unknown } | { seq: number; ok: false; error: SerialisedError };
/** Sent once by a worker whose engine could not be built (unreadable config or state file). */
export interface EngineFatal {
  fatal: SerialisedError;
}

export function serialiseError(error: unknown): SerialisedError {
  const code = (error as { code?: unknown } | undefined)?.code;
  return { message: error instanceof Error ? error.message : describeError(error), code: typeof code === 'string' ? code : undefined };
}

function deserialiseError(error: SerialisedError): Error {
  return new WarrenError((error.code ?? 'ENGINE_UNAVAILABLE') as WarrenErrorCode, error.message);
}

/** The engine in this thread: calls go straight to it. */
export function inlineEngineClient(runtime: EngineRuntime): EngineClient {
  const client: Record<string, unknown> = {};
  for (const method of ENGINE_CALLS) {
    const call = runtime.calls[method] as (...args: unknown[]) => unknown;
    client[method] = async (...args: unknown[]) => call(...args);
  }
  client.close = (graceMs: number) => runtime.close(graceMs);
  client.failed = new Promise<Error>(() => undefined); // an engine in this thread fails with it
  return client as EngineClient;
}

/** Starts the engine in a worker thread and returns its client. */
export function threadEngineClient(data: EngineWorkerData, logger: Logger): EngineClient {
  const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { workerData: data });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let seq = 0;
  let closing = false;
  let failure: Error | undefined;
  let reportFailure: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (reportFailure = resolve));

  const fail = (error: Error) => {
    if (failure) return;
    failure = error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
    if (!closing) {
      logger.fatal({ err: describeError(error) }, 'the remediation engine stopped working');
      reportFailure(error);
    }
  };

  worker.on('message', (message: EngineReply | EngineFatal) => {
    if ('fatal' in message) return fail(deserialiseError(message.fatal));
    const waiting = pending.get(message.seq);
    if (!waiting) return;
    pending.delete(message.seq);
    if (message.ok) waiting.resolve(message.value);
    else waiting.reject(deserialiseError(message.error));
  });
  worker.on('error', (error) => fail(new WarrenError('ENGINE_UNAVAILABLE', `the remediation engine's thread crashed: ${describeError(error)}`, { cause: error })));
  worker.on('exit', (code) => fail(new WarrenError('ENGINE_UNAVAILABLE', `the remediation engine's thread exited (code ${code})`)));

  const call = (method: EngineRequest['method'], args: unknown[]): Promise<unknown> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const request: EngineRequest = { seq: ++seq, method, args };
      pending.set(request.seq, { resolve, reject });
      worker.postMessage(request);
    });
  };

  const client: Record<string, unknown> = {};
  for (const method of ENGINE_CALLS) client[method] = (...args: unknown[]) => call(method, args);
  client.failed = failed;
  client.close = async (graceMs: number) => {
    if (closing) return;
    closing = true;
    if (!failure) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      await call('close', [graceMs]).catch((error: unknown) => logger.error({ err: describeError(error) }, 'the remediation engine did not close cleanly'));
      // The worker ends once it has replied; terminate() is only for one that hangs.
      const timer = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return client as EngineClient;
}
