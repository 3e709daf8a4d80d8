// Calls across to a worker process: the calling side sends `{seq, method, args}`, the worker answers
// `{seq, ok, value | error}`. The remediator's engine is such a worker, a child process (engine-host.ts
// says why). Everything that crosses is plain data (structured clone over the IPC channel).
import { fork, type Serializable } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
  /** Calls the worker's `close` with `args`, then waits for it to end; ends it after `closeLimitMs` (default 5 s) if it has not. */
  close(args: unknown[], closeLimitMs?: number): Promise<void>;
  /** Resolves with the reason if the worker stops on its own (it crashed or could not start). */
  readonly failed: Promise<Error>;
}

/** A child process, as the calling side sees it. */
interface WorkerHandle {
  /** "process", for messages. */
  kind: string;
  send(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: 'exit', listener: (code: number | null, signal?: NodeJS.Signals | null) => void): void;
  once(event: 'exit', listener: () => void): void;
  /** Ends a worker that does not end after answering `close`. */
  kill(): void;
}

export interface ProcessRpc extends WorkerRpc {
  /** Undefined when the process could not be started (`failed` then says why). */
  readonly pid: number | undefined;
  /** A message that is not a call (the child's `process.on('message')` sees it). */
  send(message: unknown): void;
}

/**
 * Starts `entry` as a child process of the same Node, sends it `init` as its first message, and
 * calls it over the IPC channel. Messages it sends that are not replies go to `onOther`. The child
 * inherits stderr (its logs) and nothing else; `execArgv` are its V8/Node flags.
 */
export function startProcess(name: string, entry: URL, init: unknown, options: { execArgv: string[]; onOther: (message: unknown) => void }, logger: Logger): ProcessRpc {
  const child = fork(fileURLToPath(entry), [], { execArgv: options.execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // 'exit' can come before the child's last messages (a fatal report, the answer to close) are read
  // from the channel: an exit counts once the channel is closed too (or a second later).
  type ExitListener = (code: number | null, signal?: NodeJS.Signals | null) => void;
  const afterChannel = (listener: ExitListener) => (code: number | null, signal: NodeJS.Signals | null) => {
    if (!child.connected) return listener(code, signal);
    const timer = setTimeout(() => listener(code, signal), 1_000);
    child.once('disconnect', () => {
      clearTimeout(timer);
      listener(code, signal);
    });
  };
  const handle: WorkerHandle = {
    kind: 'process',
    send(message) {
      // Sending after the child is gone fails on its own through 'exit'; an IPC error here must not throw into the caller.
      if (child.connected) child.send(message as Serializable, (error) => error && logger.debug({ err: describeError(error), process: name }, 'message to a stopping child process not sent'));
    },
    on: ((event: string, listener: (...args: unknown[]) => void) => {
      if (event === 'exit') child.on('exit', afterChannel(listener as ExitListener));
      else child.on(event, listener);
    }) as WorkerHandle['on'],
    once: (_event, listener) => void child.once('exit', afterChannel(listener)),
    kill: () => void child.kill('SIGKILL'),
  };
  // Listening before anything can fail: a fork that fails reports it as an 'error' event, which fails the calls.
  const rpc = rpcClient(name, handle, logger, options.onOther);
  handle.send({ init } satisfies ProcessInit);
  return { ...rpc, pid: child.pid, send: handle.send };
}

/** The first message a child process gets: what its worker data would be. */
export interface ProcessInit {
  init: unknown;
}

/** Calls over `worker`; messages that are neither replies nor a fatal report (a child process's news) go to `onOther`. */
function rpcClient(name: string, worker: WorkerHandle, logger: Logger, onOther?: (message: unknown) => void): WorkerRpc {
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
      logger.fatal({ err: describeError(error), [worker.kind]: name }, `the remediator's ${name} ${worker.kind} stopped working`);
      reportFailure(error);
    }
  };

  worker.on('message', (raw) => {
    const message = raw as RpcReply | RpcFatal;
    if (typeof message === 'object' && message !== null && 'fatal' in message) return fail(deserialiseError(message.fatal));
    if (typeof message !== 'object' || message === null || !('seq' in message)) return onOther?.(raw);
    const waiting = pending.get(message.seq);
    if (!waiting) return;
    pending.delete(message.seq);
    if (message.ok) waiting.resolve(message.value);
    else waiting.reject(deserialiseError(message.error));
  });
  worker.on('error', (error) => fail(new WarrenError('ENGINE_UNAVAILABLE', `the remediator's ${name} ${worker.kind} crashed: ${describeError(error)}`, { cause: error })));
  worker.on('exit', (code, signal) => fail(new WarrenError('ENGINE_UNAVAILABLE', `the remediator's ${name} ${worker.kind} exited (${signal ? `signal ${signal}` : `code ${code}`})`)));

  const call = (method: string, args: unknown[]): Promise<unknown> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const request: RpcRequest = { seq: ++seq, method, args };
      pending.set(request.seq, { resolve, reject });
      worker.send(request);
    });
  };

  return {
    call,
    failed,
    async close(args, closeLimitMs = 5_000) {
      if (closing) return;
      closing = true;
      // A worker that reported a failure may still be running (it stopped answering): it is ended.
      if (failure) return worker.kill();
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      // The worker ends once it has answered; kill() is only for one that hangs, answering or not.
      const timer = setTimeout(() => worker.kill(), closeLimitMs);
      await call(CLOSE, args).catch((error: unknown) => logger.error({ err: describeError(error), [worker.kind]: name }, `the remediator's ${name} ${worker.kind} did not close cleanly`));
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The worker's end of the calls: a child process's IPC channel. */
export interface CallPort {
  on(event: 'message', listener: (message: RpcRequest) => void): void;
  /** Replies, and (from a child process) messages of its own for the parent's `onOther`. */
  postMessage(message: unknown): void;
  /** Closes the channel once everything posted is sent; the worker can then end. */
  close(): void;
}

/** A child process's IPC channel as a CallPort. */
export function processPort(): CallPort {
  if (!process.send) throw new Error('this module runs only as a child process with an IPC channel');
  const send = process.send.bind(process);
  // disconnect() would drop messages still being written: it waits for the last one's callback.
  let sending = 0;
  let closing = false;
  const disconnect = () => process.connected && process.disconnect();
  return {
    on: (event, listener) => void process.on(event, listener as (message: unknown) => void),
    postMessage(message) {
      if (!process.connected) return;
      sending++;
      send(message as Serializable, undefined, {}, () => {
        sending--;
        if (closing && sending === 0) disconnect();
      });
    },
    close() {
      closing = true;
      if (sending === 0) disconnect();
    },
  };
}

/**
 * The worker's side: answers calls on `port` from `methods`; `close` runs last, then the port
 * closes and the process can end. A method may return a value or a promise, or throw.
 */
export function serveCalls(port: CallPort, methods: Record<string, (...args: unknown[]) => unknown>, close: (...args: unknown[]) => Promise<void>): void {
  port.on('message', (request: RpcRequest) => {
    // A child process's channel also carries messages of other kinds (news, its init): not calls.
    if (typeof request !== 'object' || request === null || typeof request.method !== 'string') return;
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
export function reportFatal(port: CallPort, error: unknown): void {
  port.postMessage({ fatal: serialiseError(error) } satisfies RpcFatal);
  port.close();
}
