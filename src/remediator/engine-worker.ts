// The remediation engine's worker thread (see engine-thread.ts): it loads the same configuration the
// command did, builds the engine runtime with its own SQLite connection and cluster clients, and
// answers the HTTP side's calls. Logs go straight to stderr's file descriptor, not through the
// main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { loadConfigSource } from '../config/source.ts';
import { describeError } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { createEngineRuntime, ENGINE_CALLS, type EngineCalls, type EngineRuntime } from './engine-runtime.ts';
import { serialiseError, type EngineFatal, type EngineReply, type EngineRequest, type EngineWorkerData } from './engine-thread.ts';
import { remediatorSettings } from './settings.ts';

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('engine-worker.ts runs only as a worker thread');
  const data = workerData as EngineWorkerData;
  let runtime: EngineRuntime;
  try {
    const config = loadConfigSource(data.source);
    const settings = remediatorSettings(config.remediation, data.overrides);
    const logger = createLogger(config.logLevel, pino.destination({ dest: 2, sync: true }));
    runtime = createEngineRuntime({ config, settings, logger });
  } catch (error) {
    port.postMessage({ fatal: serialiseError(error) } satisfies EngineFatal);
    port.close();
    return;
  }
  const calls = runtime.calls as unknown as Record<keyof EngineCalls, (...args: unknown[]) => unknown>;
  const known = new Set<string>(ENGINE_CALLS);

  port.on('message', (request: EngineRequest) => {
    const reply = (value: unknown) => port.postMessage({ seq: request.seq, ok: true, value } satisfies EngineReply);
    const replyError = (error: unknown) => port.postMessage({ seq: request.seq, ok: false, error: serialiseError(error) } satisfies EngineReply);
    if (request.method === 'close') {
      runtime
        .close(request.args[0] as number)
        .then(() => reply(undefined), replyError)
        .finally(() => port.close());
      return;
    }
    if (!known.has(request.method)) return replyError(new Error(`unknown engine call ${describeError(request.method)}`));
    let value: unknown;
    try {
      value = calls[request.method](...request.args);
    } catch (error) {
      return replyError(error);
    }
    if (value instanceof Promise) value.then(reply, replyError);
    else reply(value);
  });
}

main();
