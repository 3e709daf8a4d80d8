// The webhook payload's validation, as a table: each malformed label set is refused with the JSON
// path of the offending label, and well-formed odd values pass unchanged.
import { describe, expect, it } from 'vitest';
import { parseWebhookPayload } from '../../../src/remediator/alert-payload.ts';
import { alert, payload } from './support.ts';

function problemsFor(labels: Record<string, unknown>, where: 'labels' | 'annotations' = 'labels') {
  const one = alert({ alertname: 'X' });
  const body = payload([{ ...one, [where]: labels } as typeof one]);
  const parsed = parseWebhookPayload(body);
  return parsed.ok ? [] : parsed.problems;
}

describe('parseWebhookPayload label sets', () => {
  it.each([
    ['an empty label name', { '': 'x' }, 'alerts[0].labels.', /must not be empty/],
    ['a label name over 1024 characters', { ['n'.repeat(1025)]: 'x' }, `alerts[0].labels.${'n'.repeat(1025)}`, /at most 1024/],
    ['a lone surrogate in a name', { 'bad\ud800': 'x' }, 'alerts[0].labels.bad\ud800', /well-formed Unicode/],
    ['a lone surrogate in a value', { queue: 'bad\udc00' }, 'alerts[0].labels.queue', /well-formed Unicode/],
    ['a value over 16384 characters', { queue: 'v'.repeat(16_385) }, 'alerts[0].labels.queue', /at most 16384/],
    ['a value that is null', { queue: null }, 'alerts[0].labels.queue', /expected string, received null/],
    ['a value that is not a string', { queue: 42 }, 'alerts[0].labels.queue', /string/],
  ])('refuses %s, naming its path', (_what, labels, path, message) => {
    const problems = problemsFor(labels);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe(path);
    expect(problems[0]?.message).toMatch(message);
  });

  it('checks annotations the same way', () => {
    expect(problemsFor({ summary: 'ok', description: 'bad\ud800' }, 'annotations')[0]?.path).toBe('alerts[0].annotations.description');
  });

  it('accepts odd but well-formed values verbatim', () => {
    const labels = { queue: 'q\nwith\\newline ${HOME} $(rm -rf /)', vhost: 'ünïcødé "vh" 🐇', empty: '' };
    const parsed = parseWebhookPayload(payload([alert(labels)]));
    expect(parsed.ok && parsed.payload.alerts[0]?.labels).toEqual(labels);
  });

  it('keeps a label named __proto__ like any other (dropping it would change the alert)', () => {
    const labels = JSON.parse('{"alertname":"X","__proto__":"p","constructor":"c"}') as Record<string, string>;
    const parsed = parseWebhookPayload(payload([alert(labels)]));
    expect(parsed.ok).toBe(true);
    const kept = parsed.ok ? (parsed.payload.alerts[0]?.labels as Record<string, string>) : {};
    expect(Object.keys(kept).sort()).toEqual(['__proto__', 'alertname', 'constructor']);
    expect(JSON.parse(JSON.stringify(kept))).toEqual(labels);
    expect(Object.hasOwn(kept, '__proto__') && kept['__proto__']).toBe('p');
  });

  it('refuses a label set that is not an object, naming its path', () => {
    expect(problemsFor(['a'] as unknown as Record<string, unknown>)).toEqual([{ path: 'alerts[0].labels', message: expect.stringMatching(/expected record, received array/) }]);
  });

  it('limits label values but not annotations, which are prose (the body size limits them)', () => {
    expect(problemsFor({ description: 'd'.repeat(100_000) }, 'annotations')).toEqual([]);
  });
});

describe('parseWebhookPayload timestamps', () => {
  it.each(['0001-01-01T00:00:00Z', '2026-11-22T06:00:00Z', '2026-11-22T06:00:00.123456789+01:00', '2024-02-29T23:59:59.5-05:30'])('accepts %s', (startsAt) => {
    expect(parseWebhookPayload(payload([alert({ alertname: 'X' }, { startsAt })])).ok).toBe(true);
  });

  it.each(['1', '2024', '2026-02-30T00:00:00Z', '2025-02-29T00:00:00Z', '2026-11-20 10:00:00', '2026-11-20T10:00:00', 'Mon, 01 Jan 2024 00:00:00 GMT', '2026-11-22T24:00:00Z', '2026-13-01T00:00:00Z'])(
    'refuses %s, which Date.parse alone would take or rewrite',
    (startsAt) => {
      const parsed = parseWebhookPayload(payload([alert({ alertname: 'X' }, { startsAt })]));
      expect(parsed.ok ? [] : parsed.problems).toEqual([{ path: 'alerts[0].startsAt', message: 'must be an RFC 3339 timestamp, such as 2026-11-22T06:00:00Z' }]);
    },
  );
});
