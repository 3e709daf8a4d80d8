import { describe, expect, it } from 'vitest';
import { QueueMetadataCache } from '../../../src/exporter/queue-metadata.ts';
import type { ManagementClient } from '../../../src/rabbitmq/management/client.ts';

/** A management API whose /api/queues answers with one queue named after the fetch count. */
function fakeApi() {
  const state = { fetches: 0 };
  const api = {
    async request(path: string) {
      if (path === '/api/policies') return { data: [], node: 'n' };
      state.fetches++;
      return { data: [{ name: `q${state.fetches}`, vhost: '/', type: 'classic', durable: true, node: 'rabbit@a' }], node: 'n' };
    },
  };
  return { api: api as unknown as ManagementClient, state };
}

const signal = new AbortController().signal;

describe('QueueMetadataCache', () => {
  it('refetches on every scrape while fetching is cheap', async () => {
    const { api, state } = fakeApi();
    const cache = new QueueMetadataCache(api, { maxAgeMs: 30_000, refetchEveryScrapeBelowMs: Number.POSITIVE_INFINITY });
    await cache.get(signal);
    expect((await cache.get(signal)).queues[0]?.name).toBe('q2');
    expect(state.fetches).toBe(2);
  });

  it('once fetching is expensive, serves the snapshot and refreshes an old one only after the scrape', async () => {
    const { api, state } = fakeApi();
    let clock = 0;
    const cache = new QueueMetadataCache(api, { maxAgeMs: 30_000, refetchEveryScrapeBelowMs: 0, now: () => clock });
    expect((await cache.get(signal)).queues[0]?.name).toBe('q1');
    cache.afterScrape(); // nothing due
    expect(state.fetches).toBe(1);

    clock += 31_000;
    // The scrape that finds it old gets the old snapshot and starts nothing while it runs...
    expect((await cache.get(signal)).queues[0]?.name).toBe('q1');
    expect(state.fetches).toBe(1);
    // ...the refresh starts when it is done, and serves the next scrape.
    cache.afterScrape();
    expect(state.fetches).toBe(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await cache.get(signal)).queues[0]?.name).toBe('q2');
    cache.afterScrape();
    expect(state.fetches).toBe(2);
  });
});
