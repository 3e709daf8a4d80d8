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
});
