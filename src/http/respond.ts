// Writing a whole response with its length, shared by warren's HTTP apps. HEAD gets the headers only.
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
