// Calls across a worker thread: the main thread sends `{seq, method, args}`, the worker answers
// `{seq, ok, value | error}`. Used by the remediator's two worker threads (the inbox writer and the
// engine); everything that crosses is plain data.
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { Worker } from 'node:worker_threads';
import { WarrenError, describeError, type WarrenErrorCode } from '../errors.ts';
import type { Logger } from '../logging.ts';

export interface RpcRequest {
  seq: number;
  method: string;
  args: unknown[];
}
export interface SerialisedError {
  message: string;
  code?: string | undefined;
}
export type RpcReply = { seq: number; ok: true; value: unknown } | { seq: number; ok: false; error: SerialisedError };
/** Sent once by a worker that could not start (unreadable config, state or inbox file). */
export interface RpcFatal {
  fatal: SerialisedError;
}

/** The method a worker runs at `close`; after it answers, the worker ends. */
export const CLOSE = 'close';

export function serialiseError(error: unknown): SerialisedError {
  const code = (error as { code?: unknown } | undefined)?.code;
  return { message: error instanceof Error ? error.message : describeError(error), code: typeof code === 'string' ? code : undefined };
}

function deserialiseError(error: SerialisedError): Error {
  return new WarrenError((error.code ?? 'ENGINE_UNAVAILABLE') as WarrenErrorCode, error.message);
}

export interface WorkerRpc {
  call(method: string, args: unknown[]): Promise<unknown>;
  /** Calls the worker's `close` with `args`, then waits for the thread to end. */
  close(args: unknown[]): Promise<void>;
  /** Resolves with the reason if the worker stops on its own (it crashed or could not start). */
  readonly failed: Promise<Error>;
}

export function startWorker(name: string, entry: URL, workerData: unknown, transferList: readonly TransferListItem[], logger: Logger): WorkerRpc {
  const worker = new Worker(entry, { workerData, transferList: [...transferList] });
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
      logger.fatal({ err: describeError(error), thread: name }, `the remediator's ${name} thread stopped working`);
      reportFailure(error);
    }
  };

  worker.on('message', (message: RpcReply | RpcFatal) => {
    if ('fatal' in message) return fail(deserialiseError(message.fatal));
    const waiting = pending.get(message.seq);
    if (!waiting) return;
    pending.delete(message.seq);
    if (message.ok) waiting.resolve(message.value);
    else waiting.reject(deserialiseError(message.error));
  });
  worker.on('error', (error) => fail(new WarrenError('ENGINE_UNAVAILABLE', `the remediator's ${name} thread crashed: ${describeError(error)}`, { cause: error })));
  worker.on('exit', (code) => fail(new WarrenError('ENGINE_UNAVAILABLE', `the remediator's ${name} thread exited (code ${code})`)));

  const call = (method: string, args: unknown[]): Promise<unknown> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const request: RpcRequest = { seq: ++seq, method, args };
      pending.set(request.seq, { resolve, reject });
      worker.postMessage(request);
    });
  };

  return {
    call,
    failed,
    async close(args) {
      if (closing) return;
      closing = true;
      if (failure) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      await call(CLOSE, args).catch((error: unknown) => logger.error({ err: describeError(error), thread: name }, `the remediator's ${name} thread did not close cleanly`));
      // The worker ends once it has answered; terminate() is only for one that hangs.
      const timer = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The worker's side: answers calls on `port` from `methods`; `close` runs last, then the port
 * closes and the thread can end. A method may return a value or a promise, or throw.
 */
export function serveCalls(port: MessagePort, methods: Record<string, (...args: unknown[]) => unknown>, close: (...args: unknown[]) => Promise<void>): void {
  port.on('message', (request: RpcRequest) => {
    const reply = (value: unknown) => port.postMessage({ seq: request.seq, ok: true, value } satisfies RpcReply);
    const replyError = (error: unknown) => port.postMessage({ seq: request.seq, ok: false, error: serialiseError(error) } satisfies RpcReply);
    if (request.method === CLOSE) {
      close(...request.args)
        .then(() => reply(undefined), replyError)
        .finally(() => port.close());
      return;
    }
    const method = Object.hasOwn(methods, request.method) ? methods[request.method] : undefined;
    if (!method) return replyError(new Error(`unknown call ${JSON.stringify(request.method)}`));
    let value: unknown;
    try {
      value = method(...request.args);
    } catch (error) {
      return replyError(error);
    }
    if (value instanceof Promise) value.then(reply, replyError);
    else reply(value);
  });
}

/** Reports a worker that could not start, then lets it end. */
export function reportFatal(port: MessagePort, error: unknown): void {
  port.postMessage({ fatal: serialiseError(error) } satisfies RpcFatal);
  port.close();
}
