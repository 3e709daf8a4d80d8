// Writing responses, shared by warren's HTTP apps: a whole body with its length, or a large one
// streamed as it is produced. HEAD gets the headers only.
import type { ServerResponse } from 'node:http';

export function send(response: ServerResponse, status: number, contentType: string, body: string | readonly Buffer[]): void {
  const chunks = typeof body === 'string' ? [Buffer.from(body)] : body;
  response.writeHead(status, { 'content-type': contentType, 'content-length': chunks.reduce((sum, chunk) => sum + chunk.length, 0) });
  if (response.req.method !== 'HEAD') for (const chunk of chunks) response.write(chunk);
  response.end();
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

/**
 * Writes chunks as an iterable produces them (chunked transfer encoding), taking the next one only
 * once the client has taken the previous ones, so a large body is never held whole. Stops early,
 * without an error, when the client goes away.
 */
export async function stream(response: ServerResponse, status: number, contentType: string, chunks: Iterable<Buffer>): Promise<void> {
  response.writeHead(status, { 'content-type': contentType });
  if (response.req.method !== 'HEAD') {
    for (const chunk of chunks) {
      if (response.destroyed) return;
      if (!response.write(chunk)) await drained(response);
    }
  }
  response.end();
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
