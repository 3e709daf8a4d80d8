// warren's outgoing HTTP/1.1 requests, on node:http and node:https: keep-alive connections to one
// origin with a connection limit and a connect timeout, TLS options per origin, and an AbortSignal
// that covers the whole exchange, the body included. It replaced the undici package, whose import
// alone cost the exporter about 13 MiB of resident memory. Nothing here retries: whether a failed
// request may be sent again (elsewhere) is the caller's decision.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';

/** TLS settings for https:// origins (node:tls names). */
export interface TlsClientOptions {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  servername?: string | undefined;
  rejectUnauthorized?: boolean | undefined;
}

export interface HttpOriginOptions {
  /** Connections open at most; further requests wait for one to be free. */
  connections: number;
  /** How long establishing a connection (TCP, and TLS for https) may take. */
  connectTimeoutMs: number;
  tls?: TlsClientOptions | undefined;
  /** An idle keep-alive connection is closed after this long (default 4 s, below common server idle timeouts). */
  idleTimeoutMs?: number | undefined;
}

export interface HttpRequest {
  method?: string | undefined;
  /** Path and query, e.g. `/api/queues?columns=name`. */
  path: string;
  headers?: Record<string, string> | undefined;
  body?: string | undefined;
  /** Aborts the request, or the reading of its body when the answer has begun. */
  signal?: AbortSignal | undefined;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as it arrives (Buffer chunks). Read it, or `discard` it to free the connection. */
  body: IncomingMessage;
}

/** A connection could not be established within `connectTimeoutMs`: the request was never sent. */
export class HttpConnectTimeoutError extends Error {
  readonly code = 'HTTP_CONNECT_TIMEOUT';

  constructor(origin: string, timeoutMs: number) {
    super(`connecting to ${origin} took longer than ${timeoutMs} ms`);
    this.name = 'HttpConnectTimeoutError';
  }
}

/** The client was closed while the request was waiting or in flight. */
export class HttpClientClosedError extends Error {
  readonly code = 'HTTP_CLIENT_CLOSED';

  constructor(origin: string) {
    super(`the HTTP client for ${origin} was closed`);
    this.name = 'HttpClientClosedError';
  }
}

const DEFAULT_IDLE_TIMEOUT_MS = 4_000;

/** Keep-alive connections to one origin (scheme, host, port). */
export class HttpOrigin {
  readonly origin: string;
  readonly #url: URL;
  readonly #agent: HttpAgent;
  readonly #send: typeof httpRequest;
  readonly #connectTimeoutMs: number;
  /** Requests not yet answered, or whose answer is being read, and how to end each. */
  readonly #inFlight = new Map<ClientRequest, (error: Error) => void>();
  #closed = false;

  constructor(origin: string | URL, options: HttpOriginOptions) {
    this.#url = new URL(origin);
    this.origin = this.#url.origin;
    const https = this.#url.protocol === 'https:';
    if (!https && this.#url.protocol !== 'http:') throw new TypeError(`unsupported protocol ${this.#url.protocol} in ${this.origin}`);
    const agentOptions = { keepAlive: true, maxSockets: options.connections, timeout: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, scheduling: 'lifo' as const };
    this.#agent = https ? new HttpsAgent({ ...agentOptions, ...definedOnly(options.tls ?? {}) }) : new HttpAgent(agentOptions);
    this.#send = https ? httpsRequest : httpRequest;
    this.#connectTimeoutMs = options.connectTimeoutMs;
  }

  /** Sends a request; resolves with the status and headers once they arrive, the body to be read. */
  request(request: HttpRequest): Promise<HttpResponse> {
    const { signal } = request;
    if (this.#closed) return Promise.reject(new HttpClientClosedError(this.origin));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...request.headers };
      if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
      const options: RequestOptions = {
        agent: this.#agent,
        protocol: this.#url.protocol,
        hostname: this.#url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: this.#url.port || undefined,
        method: request.method ?? 'GET',
        path: request.path,
        headers,
      };
      const req = this.#send(options);
      let response: IncomingMessage | undefined;
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#inFlight.delete(req);
      };
      /**
       * Ends the exchange with `error` wherever it is. A request still waiting for a connection
       * (all `connections` busy) is rejected now: node:http would report it only once a
       * connection frees up, which behind a hung node may be never.
       */
      const fail = (error: Error) => {
        // Destroying the answer destroys its connection, so it is never reused half-read.
        if (response && !response.complete) response.destroy(error);
        else req.destroy(error);
        if (!response) {
          done();
          reject(error);
        }
      };
      const onAbort = () => fail(abortReason(signal as AbortSignal));
      this.#inFlight.set(req, fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('socket', (socket: Socket) => this.#limitConnect(req, socket));
      req.on('error', (error) => {
        done();
        reject(error);
      });
      req.once('response', (res: IncomingMessage) => {
        response = res;
        res.once('close', done);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      req.end(request.body);
    });
  }

  /** Closes every connection; requests still waiting or in flight fail with HttpClientClosedError. */
  close(): void {
    this.#closed = true;
    for (const fail of [...this.#inFlight.values()]) fail(new HttpClientClosedError(this.origin));
    this.#inFlight.clear();
    this.#agent.destroy();
  }

  #limitConnect(req: ClientRequest, socket: Socket): void {
    if (!socket.connecting) return; // a kept-alive connection
    const timer = setTimeout(() => req.destroy(new HttpConnectTimeoutError(this.origin, this.#connectTimeoutMs)), this.#connectTimeoutMs);
    const clear = () => clearTimeout(timer);
    socket.once('encrypted' in socket ? 'secureConnect' : 'connect', clear);
    socket.once('close', clear);
  }
}

/** The whole body as text (UTF-8). */
export async function readText(response: HttpResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads the body to its end without keeping it, so the connection can be reused. */
export async function discard(response: HttpResponse): Promise<void> {
  for await (const chunk of response.body) void chunk;
}

/** The path and query of a URL, as HttpRequest.path wants them. */
export function pathOf(url: URL): string {
  return `${url.pathname}${url.search}`;
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
