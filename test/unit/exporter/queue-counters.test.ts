import { describe, expect, it } from 'vitest';
import { countersOf } from '../../../src/exporter/queue-counters.ts';

describe('countersOf', () => {
  it('keeps the counter fields the management API reports and ignores rates and junk', () => {
    expect(countersOf({ publish: 7, publish_details: { rate: 0.2 }, deliver: 5, ack: 4, deliver_no_ack: 0, get: 'x', redeliver: -1 })).toEqual({ publish: 7, deliver: 5, ack: 4, deliver_no_ack: 0 });
  });

  it('says "no data" for a queue without message_stats or without any counter', () => {
    expect(countersOf(undefined)).toBeUndefined();
    expect(countersOf({ publish_details: { rate: 1 } })).toBeUndefined();
  });
});
