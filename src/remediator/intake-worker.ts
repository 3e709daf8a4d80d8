// The inbox writer's worker thread (see engine-host.ts): parses and validates delivery bodies,
// commits the valid ones to the inbox file (deliveries of one turn in one commit), answers,
// and tells the engine. It deletes what the engine reports routed along with later inserts. Nothing
// else runs here, so an acknowledgement waits only for its own parsing and flush, and a slow disk
// never stalls the HTTP thread (health, metrics and the API keep answering).
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { loadConfigSource } from '../config/source.ts';
import type { InboxNews, RemediatorWorkerData } from './engine-host.ts';
import { Inbox, inboxFileFor } from './inbox.ts';
import { Intake } from './intake.ts';
import { remediatorSettings } from './settings.ts';
import { reportFatal, serveCalls } from './worker-rpc.ts';

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('intake-worker.ts runs only as a worker thread');
  const data = workerData as RemediatorWorkerData & { news: MessagePort };
  let inbox: Inbox;
  try {
    const config = loadConfigSource(data.source);
    const settings = remediatorSettings(config.remediation, data.overrides);
    // The engine's connection checkpoints (copies the log into the file): never on this path.
    inbox = new Inbox(inboxFileFor(settings.stateFile), {
      checkpoints: false,
      acknowledgeAfter: settings.acknowledgeAfter,
      // Nothing can be promised after a failed flush: the remediator stops (fatal), to be restarted.
      onFlushError: (error) => reportFatal(port, error),
    });
  } catch (error) {
    data.news.close();
    return reportFatal(port, error);
  }
  data.news.on('message', (news: InboxNews) => {
    if ('forgetBelow' in news) inbox.forgetBelow(news.forgetBelow);
  });
  const intake = new Intake(
    (payloadJsons) => inbox.add(payloadJsons, new Date().toISOString()),
    () => data.news.postMessage({ delivered: true } satisfies InboxNews),
  );
  serveCalls(
    port,
    { accept: (body) => intake.accept(body as string) },
    async () => {
      inbox.close();
      data.news.close();
    },
  );
}

main();
