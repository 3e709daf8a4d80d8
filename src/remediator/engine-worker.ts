// The remediation engine's worker thread (see engine-host.ts): it loads the same configuration the
// command did, builds the engine runtime with its own SQLite connections and cluster clients, routes
// what the inbox writer reports delivered, and answers the HTTP side's calls. Logs go straight to
// stderr's file descriptor, not through the main thread.
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import { loadConfigSource } from '../config/source.ts';
import { createLogger } from '../logging.ts';
import type { InboxNews, RemediatorWorkerData } from './engine-host.ts';
import { createEngineRuntime, type EngineRuntime } from './engine-runtime.ts';
import { remediatorSettings } from './settings.ts';
import { reportFatal, serveCalls } from './worker-rpc.ts';

/** How much lower than the rest of the process the engine's thread runs. */
const ENGINE_NICE_INCREMENT = 10;

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('engine-worker.ts runs only as a worker thread');
  lowerThisThreadsPriority();
  const data = workerData as RemediatorWorkerData & { news: MessagePort };
  const news = data.news;
  let runtime: EngineRuntime;
  try {
    const config = loadConfigSource(data.source);
    const settings = remediatorSettings(config.remediation, data.overrides);
    const logger = createLogger(config.logLevel, pino.destination({ dest: 2, sync: true }));
    runtime = createEngineRuntime({ config, settings, logger, onRouted: (belowId) => news.postMessage({ forgetBelow: belowId } satisfies InboxNews) });
  } catch (error) {
    news.close();
    return reportFatal(port, error);
  }
  news.on('message', (message: InboxNews) => {
    if ('delivered' in message) runtime.engine.inboxChanged();
  });
  serveCalls(port, runtime.calls as unknown as Record<string, (...args: unknown[]) => unknown>, async (graceMs) => {
    await runtime.close(graceMs as number);
    news.close();
  });
}

/**
 * Background work yields to the acknowledgement path: when the cores are busy (an alert storm keeps
 * the engine running flat out), the HTTP and inbox threads get the CPU first. On Linux a thread's
 * nice value is its own, so this lowers only the engine's thread. Best effort: where it is not
 * allowed, the engine runs at the process's priority.
 */
function lowerThisThreadsPriority(): void {
  try {
    setPriority(Math.min(19, getPriority() + ENGINE_NICE_INCREMENT));
  } catch {
    // Not permitted here (some sandboxes): nothing to lower.
  }
}

main();
