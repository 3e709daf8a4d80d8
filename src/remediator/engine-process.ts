// The remediation engine's child process (see engine-host.ts): it loads the same configuration the
// command did, builds the engine runtime with its own SQLite connections and cluster clients, routes
// what the HTTP side reports committed to the inbox, and answers the HTTP side's calls over the IPC channel.
// Logs go straight to stderr, which it shares with its parent.
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { pino } from 'pino';
import { loadConfigSource } from '../config/source.ts';
import { createLogger, type Logger } from '../logging.ts';
import { isEngineNews, type EngineNews, type RemediatorWorkerData } from './engine-host.ts';
import { acquireEngineLock } from './engine-lock.ts';
import { ENGINE_CALLS, createEngineRuntime, type EngineRuntime } from './engine-runtime.ts';
import { remediatorSettings } from './settings.ts';
import { processPort, reportFatal, serveCalls, type CallPort, type ProcessInit } from './worker-rpc.ts';

/** How much lower than its parent the engine process runs. */
const ENGINE_NICE_INCREMENT = 10;
/** How long running actions get when the parent is gone without closing the engine. */
const ORPHAN_GRACE_MS = 5_000;
/** How long an engine without a parent may take to stop before it exits regardless. */
const ORPHAN_EXIT_MS = ORPHAN_GRACE_MS + 10_000;

/** What the process has got to: the parent's channel closing means something different in each. */
interface EngineState {
  runtime?: EngineRuntime;
  logger?: Logger;
  closing: boolean;
}

function main(): void {
  const port = processPort();
  const engine: EngineState = { closing: false };
  lowerThisProcessPriority();
  // Signals meant for the whole process group (Ctrl-C, a service manager's SIGTERM) are the
  // parent's to handle: it closes the engine in order. Without a parent, the engine stops itself.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
  process.once('disconnect', () => orphaned(engine));
  // Gone before this module ran: 'disconnect' has been and gone.
  if (!process.connected) return orphaned(engine);
  process.once('message', (message: ProcessInit) => void start(port, message.init as RemediatorWorkerData, engine));
}

/** The parent died (kill -9, a crash) or closed the channel: stop acting, and exit in any case. */
function orphaned(engine: EngineState): void {
  setTimeout(() => process.exit(0), ORPHAN_EXIT_MS).unref();
  if (engine.closing || !engine.runtime) {
    // Closing already (the timer above ends a close that hangs), or nothing started: nothing to stop.
    if (!engine.runtime) process.exit(0);
    return;
  }
  engine.closing = true;
  engine.logger?.warn('the remediator process is gone: the engine stops; actions still running after 5 s are aborted and recorded interrupted');
  void engine.runtime.close(ORPHAN_GRACE_MS).finally(() => process.exit(0));
}

async function start(port: CallPort, data: RemediatorWorkerData, engine: EngineState): Promise<void> {
  // Calls are served from the start: while the engine waits for the state file's lock, a stop
  // (Ctrl-C during startup) must be heard and end the wait, and other calls wait for the engine.
  const built = Promise.withResolvers<EngineRuntime>();
  built.promise.catch(() => undefined); // a failed start is reported below, not as an unhandled rejection
  const stopWaiting = new AbortController();
  const calls = Object.fromEntries(ENGINE_CALLS.map((name) => [name, async (...args: unknown[]) => ((await built.promise).calls[name] as (...a: unknown[]) => unknown)(...args)]));
  serveCalls(port, calls, async (graceMs) => {
    engine.closing = true;
    if (engine.runtime) await engine.runtime.close(graceMs as number);
    else stopWaiting.abort(new Error('the remediator stopped before its engine started'));
    // Ends the process even if a client left a handle open; after the reply is sent (port.close).
    setTimeout(() => process.exit(0), 2_000).unref();
  });
  try {
    const config = loadConfigSource(data.source);
    const settings = remediatorSettings(config.remediation, data.overrides);
    const logger = createLogger(config.logLevel, pino.destination({ dest: 2, sync: true }));
    engine.logger = logger;
    const lock = await acquireEngineLock(settings.stateFile, logger, { signal: stopWaiting.signal });
    if (engine.closing) {
      lock?.release();
      return;
    }
    const runtime = createEngineRuntime({ config, settings, logger, lock, onRouted: (belowId) => port.postMessage({ news: { forgetBelow: belowId } } satisfies EngineNews) });
    engine.runtime = runtime;
    process.on('message', (message: unknown) => {
      if (isEngineNews(message) && 'delivered' in message.news) runtime.engine.inboxChanged();
    });
    built.resolve(runtime);
  } catch (error) {
    built.reject(error);
    // Stopped while it waited: the close call answers, nothing failed.
    if (stopWaiting.signal.aborted) return;
    return reportFatal(port, error);
  }
}

/**
 * Background work yields to the acknowledgement path: when the cores are busy (an alert storm keeps
 * the engine running flat out), the remediator's own threads get the CPU first, and so do their
 * garbage-collection helpers, which are this process's no longer. On Linux nice is per thread and
 * threads inherit it when created: V8's threads exist already, so each is lowered (/proc/self/task);
 * later ones start from the main thread's value. Best effort: where it is not allowed, the engine
 * runs at its parent's priority.
 */
function lowerThisProcessPriority(): void {
  const target = Math.min(19, getPriority() + ENGINE_NICE_INCREMENT);
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    threads = []; // not Linux: the main thread only
  }
  if (threads.length === 0) threads = ['0']; // 0: this thread
  for (const thread of threads) {
    try {
      setPriority(Number(thread), target);
    } catch {
      // Not permitted here (some sandboxes), or the thread has ended: the others still go lower.
    }
  }
}

main();
