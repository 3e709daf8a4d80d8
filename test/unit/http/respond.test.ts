// Streaming a large response (src/http/respond.ts): what the client receives, HEAD, and a client
// that goes away mid-body.
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { stream } from '../../../src/http/respond.ts';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  server?.close();
  if (server) await once(server, 'close');
  server = undefined;
});

async function serveStream(chunks: () => Iterable<Buffer>, onDone: (taken: number) => void = () => undefined): Promise<string> {
  server = createServer((_, response) => {
    let taken = 0;
    const counted = function* () {
      for (const chunk of chunks()) {
        taken++;
        yield chunk;
      }
    };
    void stream(response, 200, 'text/plain', counted()).then(() => onDone(taken));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function get(url: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { method }, (response) => {
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => parts.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(parts).toString() }));
    })
      .on('error', reject)
      .end();
  });
}

const big = () => Array.from({ length: 64 }, (_, i) => Buffer.from(`${String(i).padStart(2, '0')}${'x'.repeat(64 * 1024)}\n`));

describe('stream', () => {
  it('sends every chunk in order, chunked', async () => {
    const url = await serveStream(big);
    const answer = await get(url);
    expect(answer.status).toBe(200);
    expect(answer.headers['transfer-encoding']).toBe('chunked');
    expect(answer.headers['content-type']).toBe('text/plain');
    expect(answer.body).toBe(Buffer.concat(big()).toString());
  });

  it('answers HEAD with headers only, rendering nothing', async () => {
    let taken = -1;
    const done = new Promise<void>((resolve) => {
      void serveStream(big, (n) => {
        taken = n;
        resolve();
      }).then((url) => get(url, 'HEAD').then((answer) => expect(answer).toMatchObject({ status: 200, body: '' })));
    });
    await done;
    expect(taken).toBe(0);
  });

  it('stops taking chunks when the client goes away', async () => {
    let finished: (taken: number) => void = () => undefined;
    const taken = new Promise<number>((resolve) => (finished = resolve));
    // Lazily made: up to 256 MiB, far more than the socket buffers take before the client has gone.
    const endless = function* () {
      for (let i = 0; i < 1_000; i++) yield Buffer.alloc(256 * 1024, 'y');
    };
    const url = await serveStream(endless, finished);
    const client = request(url, (response) => response.once('data', () => client.destroy()));
    client.on('error', () => undefined).end();
    expect(await taken).toBeLessThan(1_000);
  });
});
