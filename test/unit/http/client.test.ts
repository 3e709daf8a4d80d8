// warren's HTTP client (src/http/client.ts) against a local node:http(s) server: connection reuse
// and limits, bodies both ways, aborts before and during the answer, close, and TLS options.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as HttpsServer, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClientClosedError, HttpOrigin, discard, pathOf, readText } from '../../../src/http/client.ts';

interface TestServer {
  url: string;
  /** Every connection the server accepted. */
  connections: Socket[];
  /** Requests seen, in order. */
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
}

const servers: Server[] = [];
const origins: HttpOrigin[] = [];

afterEach(async () => {
  for (const origin of origins.splice(0)) origin.close();
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      server.close();
      return once(server, 'close');
    }),
  );
});

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void, server: Server = createServer()): Promise<TestServer> {
  const state: TestServer = { url: '', connections: [], requests: [] };
  server.on('connection', (socket: Socket) => state.connections.push(socket));
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      state.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      handler(request, response);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  const scheme = server instanceof HttpsServer ? 'https' : 'http';
  state.url = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

function origin(url: string, options: Partial<ConstructorParameters<typeof HttpOrigin>[1]> = {}): HttpOrigin {
  const created = new HttpOrigin(url, { connections: 2, connectTimeoutMs: 5_000, ...options });
  origins.push(created);
  return created;
}

describe('HttpOrigin', () => {
  it('sends method, path, headers and body, and returns status, headers and body', async () => {
    const server = await serve((_, response) => {
      response.writeHead(201, { 'x-answer': 'yes' });
      response.end('créé');
    });
    const client = origin(server.url);
    const response = await client.request({ method: 'POST', path: '/api/queues/%2F/q?x=1', headers: { 'content-type': 'application/json' }, body: '{"ü":1}' });
    expect(response.status).toBe(201);
    expect(response.headers['x-answer']).toBe('yes');
    expect(await readText(response)).toBe('créé');
    expect(server.requests).toEqual([expect.objectContaining({ method: 'POST', url: '/api/queues/%2F/q?x=1', body: '{"ü":1}' })]);
    expect(server.requests[0]?.headers['content-length']).toBe(String(Buffer.byteLength('{"ü":1}')));
  });

  it('keeps connections alive and opens no more than the limit', async () => {
    const held: ServerResponse[] = [];
    const server = await serve((_, response) => {
      held.push(response);
      if (held.length === 2) for (const r of held.splice(0)) r.end('ok');
    });
    const client = origin(server.url, { connections: 2 });
    const answers = await Promise.all(Array.from({ length: 8 }, () => client.request({ path: '/' }).then(readText)));
    expect(answers).toEqual(Array(8).fill('ok'));
    expect(server.connections).toHaveLength(2);
    // The next requests reuse them.
    const more = [client.request({ path: '/' }).then(readText), client.request({ path: '/' }).then(readText)];
    expect(await Promise.all(more)).toEqual(['ok', 'ok']);
    expect(server.connections).toHaveLength(2);
  });

  it('rejects with the signal\'s reason when aborted before the answer, and drops the connection', async () => {
    const server = await serve(() => undefined); // never answers
    const client = origin(server.url);
    const controller = new AbortController();
    const pending = client.request({ path: '/hang', signal: controller.signal });
    while (server.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const reason = new Error('deadline');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    const [socket] = server.connections;
    if (!socket?.destroyed) await once(socket as Socket, 'close');
  });

  // The management client's per-attempt timeout must end an attempt queued behind a hung node's connections.
  it('rejects a request waiting for a busy connection as soon as it is aborted', async () => {
    const server = await serve((request, response) => {
      if (request.url !== '/hang') response.end('ok');
    });
    const client = origin(server.url, { connections: 1 });
    const hung = client.request({ path: '/hang' });
    hung.catch(() => undefined);
    while (server.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const controller = new AbortController();
    const waiting = client.request({ path: '/queued', signal: controller.signal });
    const reason = new Error('attempt timeout');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(server.requests.map((r) => r.url)).toEqual(['/hang']);
  });

  it('rejects an already aborted signal without sending anything', async () => {
    const server = await serve((_, response) => response.end());
    const reason = new Error('too late');
    await expect(origin(server.url).request({ path: '/', signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(server.connections).toHaveLength(0);
  });

  it('aborts the reading of a body that has begun', async () => {
    const server = await serve((_, response) => {
      response.writeHead(200);
      response.write('first part\n'); // and never the rest
    });
    const controller = new AbortController();
    const response = await origin(server.url).request({ path: '/', signal: controller.signal });
    const reading = readText(response);
    const reason = new Error('scrape deadline');
    controller.abort(reason);
    await expect(reading).rejects.toBe(reason);
  });

  it('lets the body be discarded, freeing the connection for the next request', async () => {
    const server = await serve((request, response) => response.end(request.url === '/big' ? 'x'.repeat(1_000_000) : 'small'));
    const client = origin(server.url, { connections: 1 });
    await discard(await client.request({ path: '/big' }));
    expect(await readText(await client.request({ path: '/small' }))).toBe('small');
    expect(server.connections).toHaveLength(1);
  });

  it('fails requests in flight and waiting, and later ones, once closed', async () => {
    const server = await serve(() => undefined);
    const client = origin(server.url, { connections: 1 });
    const inFlight = client.request({ path: '/a' });
    const waiting = client.request({ path: '/b' });
    while (server.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    client.close();
    await expect(inFlight).rejects.toBeInstanceOf(HttpClientClosedError);
    await expect(waiting).rejects.toBeInstanceOf(HttpClientClosedError);
    await expect(client.request({ path: '/c' })).rejects.toMatchObject({ code: 'HTTP_CLIENT_CLOSED' });
    expect(server.requests.map((r) => r.url)).toEqual(['/a']);
  });

  it('reports a refused connection with its system code', async () => {
    const server = await serve(() => undefined);
    const url = server.url;
    servers.splice(0).forEach((s) => s.close());
    await expect(origin(url).request({ path: '/' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('refuses a URL scheme other than http and https', () => {
    expect(() => new HttpOrigin('ftp://127.0.0.1', { connections: 1, connectTimeoutMs: 1 })).toThrow(/unsupported protocol/);
  });
});

describe('HttpOrigin over TLS', () => {
  it('trusts the configured CA, checks the name, and skips verification only when told to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-http-tls-'));
    const [certFile, keyFile] = [join(dir, 'tls.crt'), join(dir, 'tls.key')];
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=rabbit.test', '-addext', 'subjectAltName=DNS:rabbit.test', '-keyout', keyFile, '-out', certFile]);
    const ca = readFileSync(certFile);
    const server = await serve((_, response) => response.end('secure'), createHttpsServer({ cert: ca, key: readFileSync(keyFile) }));
    expect(server.url).toMatch(/^https:/);
    expect(await readText(await origin(server.url, { tls: { ca, servername: 'rabbit.test' } }).request({ path: '/' }))).toBe('secure');
    await expect(origin(server.url, { tls: { ca } }).request({ path: '/' })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    await expect(origin(server.url).request({ path: '/' })).rejects.toThrow(/self[- ]signed/);
    expect(await readText(await origin(server.url, { tls: { rejectUnauthorized: false } }).request({ path: '/' }))).toBe('secure');
  });
});

describe('pathOf', () => {
  it("sends a full URL's path and query", async () => {
    const server = await serve((_, response) => response.end('[]'));
    const url = new URL(`${server.url}/api/v2/silences?filter=x`);
    const response = await origin(url.origin).request({ path: pathOf(url), headers: { accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(await readText(response)).toBe('[]');
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/api/v2/silences?filter=x' });
  });
});
