// The inbox writer's worker thread (see engine-host.ts): commits validated deliveries to the inbox
// file, each batch with one disk flush, answers with their ids, and tells the engine. It deletes
// what the engine reports routed along with later inserts. Nothing else runs here, so a delivery's
// acknowledgement waits only for its own flush.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { loadConfigSource } from '../config/source.ts';
import type { InboxNews, RemediatorWorkerData } from './engine-host.ts';
import { Inbox, inboxFileFor } from './inbox.ts';
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
    inbox = new Inbox(inboxFileFor(settings.stateFile), { checkpoints: false });
  } catch (error) {
    data.news.close();
    return reportFatal(port, error);
  }
  data.news.on('message', (news: InboxNews) => {
    if ('forgetBelow' in news) inbox.forgetBelow(news.forgetBelow);
  });
  // Group commit across calls: what arrives while a flush is under way is written by the next one,
  // all together, so a slow disk slows every acknowledgement a little rather than queueing them.
  let waiting: { payloadJsons: string[]; resolve: (ids: number[]) => void; reject: (error: unknown) => void }[] = [];
  const flush = () => {
    const batch = waiting;
    waiting = [];
    try {
      const ids = inbox.add(batch.flatMap((call) => call.payloadJsons), new Date().toISOString());
      let offset = 0;
      for (const call of batch) {
        call.resolve(ids.slice(offset, offset + call.payloadJsons.length));
        offset += call.payloadJsons.length;
      }
      data.news.postMessage({ delivered: true } satisfies InboxNews);
    } catch (error) {
      for (const call of batch) call.reject(error);
    }
  };
  serveCalls(
    port,
    {
      add(payloadJsons) {
        return new Promise<number[]>((resolve, reject) => {
          if (waiting.length === 0) setImmediate(flush); // after every call this turn has received
          waiting.push({ payloadJsons: payloadJsons as string[], resolve, reject });
        });
      },
    },
    async () => {
      inbox.close();
      data.news.close();
    },
  );
}

main();
