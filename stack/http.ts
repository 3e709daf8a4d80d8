// A minimal readiness probe. node:http without an agent: no keep-alive socket outlives the check.

import http from 'node:http';

/** The HTTP status of GET url, or null if nothing answered within timeoutMs. */
export async function httpStatus(url: string, timeoutMs = 2_000): Promise<number | null> {
  return await new Promise<number | null>((resolve) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode ?? null);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(null));
  });
}

export async function isHttpOk(url: string, timeoutMs?: number): Promise<boolean> {
  return (await httpStatus(url, timeoutMs)) === 200;
}
