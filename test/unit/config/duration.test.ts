import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/config/duration.ts';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1m30s250ms', 90_250],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 's', '10 s', '-5s', '1.5s', '10sec', '5m10'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it.each([
    [500, '500ms'],
    [10_000, '10s'],
    [90_000, '90s'],
    [300_000, '5m'],
    [7_200_000, '2h'],
  ])('formats %d ms as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
