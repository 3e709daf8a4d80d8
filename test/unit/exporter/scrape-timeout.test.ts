import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { scrapeTimeoutMs } from '../../../src/exporter/app.ts';

const FALLBACK_MS = 10_000;

function requestWith(header?: string | string[]): IncomingMessage {
  const headers = header === undefined ? {} : { 'x-prometheus-scrape-timeout-seconds': header };
  return { headers } as IncomingMessage;
}

describe('scrapeTimeoutMs', () => {
  it('answers half a second before the deadline Prometheus announces', () => {
    expect(scrapeTimeoutMs(requestWith('10'), FALLBACK_MS)).toBe(9_500);
    expect(scrapeTimeoutMs(requestWith('2.5'), FALLBACK_MS)).toBe(2_000);
  });

  it('takes the configured fallback, less the margin, without the header', () => {
    expect(scrapeTimeoutMs(requestWith(), FALLBACK_MS)).toBe(9_500);
    expect(scrapeTimeoutMs(requestWith(), 30_000)).toBe(29_500);
  });

  it.each(['', 'soon', '0', '-5', 'Infinity', 'NaN'])('falls back on a header of %j', (header) => {
    expect(scrapeTimeoutMs(requestWith(header), FALLBACK_MS)).toBe(9_500);
  });

  it('falls back when the header is repeated', () => {
    expect(scrapeTimeoutMs(requestWith(['10', '20']), FALLBACK_MS)).toBe(9_500);
  });

  it('keeps tiny deadlines positive rather than subtracting the whole margin', () => {
    expect(scrapeTimeoutMs(requestWith('0.3'), FALLBACK_MS)).toBe(300);
    expect(scrapeTimeoutMs(requestWith('0.001'), FALLBACK_MS)).toBe(1);
    expect(scrapeTimeoutMs(requestWith('0.6'), FALLBACK_MS)).toBe(500);
    expect(scrapeTimeoutMs(requestWith(), 200)).toBe(200);
  });

  it('gives timers whole milliseconds within range, whatever the header says', () => {
    expect(scrapeTimeoutMs(requestWith('1.001'), FALLBACK_MS)).toBe(500);
    expect(scrapeTimeoutMs(requestWith('0.0001'), FALLBACK_MS)).toBe(1);
    expect(scrapeTimeoutMs(requestWith('1e9'), FALLBACK_MS)).toBe(300_000);
    for (const header of ['1.001', '0.0001', '1e9', '3.3333']) expect(Number.isInteger(scrapeTimeoutMs(requestWith(header), FALLBACK_MS))).toBe(true);
  });
});
