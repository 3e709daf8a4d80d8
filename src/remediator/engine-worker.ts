// The remediation engine's worker thread (see engine-host.ts): it loads the same configuration the
// command did, builds the engine runtime with its own SQLite connections and cluster clients, routes
// what the inbox writer reports delivered, and answers the HTTP side's calls. Logs go straight to
// stderr's file descriptor, not through the main thread.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import { loadConfigSource } from '../config/source.ts';
import { createLogger } from '../logging.ts';
import type { InboxNews, RemediatorWorkerData } from './engine-host.ts';
import { createEngineRuntime, type EngineRuntime } from './engine-runtime.ts';
import { remediatorSettings } from './settings.ts';
import { reportFatal, serveCalls } from './worker-rpc.ts';

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('engine-worker.ts runs only as a worker thread');
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

main();
