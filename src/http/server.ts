// Starting an HTTP(S) server for one of warren's apps, and stopping it cleanly.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface ListenOptions {
  address: string;
  port: number;
  tls?: { certFile: string; keyFile: string } | undefined;
}

export interface RunningServer {
  server: Server;
  /** The bound address (port resolved when 0 was asked for). */
  address: AddressInfo;
  url: string;
  close: () => Promise<void>;
}

export async function listen(handler: RequestListener, options: ListenOptions): Promise<RunningServer> {
  const server: Server = options.tls
    ? createHttpsServer({ cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) }, handler)
    : createHttpServer(handler);
  server.listen(options.port, options.address);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    address,
    url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}`,
    close: async () => {
      server.close();
      server.closeIdleConnections();
      // A keep-alive connection busy now turns idle once its answer is written: it is closed then,
      // not after the client's idle timeout, which is what server.close() alone would wait for.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      try {
        await once(server, 'close');
      } finally {
        clearInterval(sweep);
      }
    },
  };
}
