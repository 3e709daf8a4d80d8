// Stopping a server: it does not wait for keep-alive connections to time out.
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { listen } from '../../../src/http/server.ts';

describe('RunningServer.close', () => {
  it('closes a keep-alive connection that was busy when closing began, once its answer is written', { timeout: 10_000 }, async () => {
    let answer: () => void = () => undefined;
    const running = await listen(
      (_request, response) => {
        answer = () => response.end('done');
      },
      { address: '127.0.0.1', port: 0 },
    );
    // An idle timeout far beyond the test's: closing must not wait for it.
    running.server.keepAliveTimeout = 60_000;
    const agent = new Agent({ keepAlive: true });
    try {
      const body = new Promise<string>((resolve, reject) => {
        request(`${running.url}/`, { agent }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve(text));
        })
          .on('error', reject)
          .end();
      });
      await new Promise((resolve) => setTimeout(resolve, 100)); // the request is in
      const closed = running.close();
      answer();
      expect(await body).toBe('done');
      await closed; // before the test's timeout, not after 60 s
    } finally {
      agent.destroy();
    }
  });
});
