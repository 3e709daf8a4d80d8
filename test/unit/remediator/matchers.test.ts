import { describe, expect, it } from 'vitest';
import { isWarrenError } from '../../../src/errors.ts';
import { matcherFromSilence, matches, matchesAll, parseMatcher } from '../../../src/remediator/routing/matchers.ts';

describe('parseMatcher reads Alertmanager matcher syntax', () => {
  it.each([
    ['fault="node_down"', 'fault', '=', 'node_down'],
    ['severity=~"warning|critical"', 'severity', '=~', 'warning|critical'],
    ['env!=dev', 'env', '!=', 'dev'],
    ['  queue !~ "amq\\\\.gen-.*"  ', 'queue', '!~', 'amq\\.gen-.*'],
    [String.raw`msg="say \"hi\"\n\\"`, 'msg', '=', 'say "hi"\n\\'],
    ['tab="a\\tb"', 'tab', '=', 'a\tb'],
    ['foo=""', 'foo', '=', ''],
    ['a=b=c', 'a', '=', 'b=c'],
    ['_x9="with, comma and space"', '_x9', '=', 'with, comma and space'],
    ['path="a=~b"', 'path', '=', 'a=~b'],
  ])('%s', (text, label, operator, value) => {
    const matcher = parseMatcher(text);
    expect({ label: matcher.label, operator: matcher.operator, value: matcher.value }).toEqual({ label, operator, value });
    expect(matcher.text).toBe(text.trim());
    expect(matcher.regex !== undefined).toBe(operator === '=~' || operator === '!~');
  });

  it.each([
    ['fault', /no operator/],
    ['="x"', /missing label name/],
    ['1abc="x"', /invalid label name "1abc"/],
    ['foo.bar="x"', /invalid label name "foo.bar"/],
    ['foo=', /missing value \(write "" for the empty string\)/],
    ['foo=a b', /unquoted value "a b" contains spaces, commas or quotes/],
    ['foo=a,b', /contains spaces, commas or quotes/],
    ['foo="x', /unterminated quoted value/],
    ['foo="x\\', /unterminated quoted value/],
    ['foo="x" y', /unexpected text after the closing quote: "y"/],
    ['foo="\\q"', /unknown escape \\q/],
    ['foo=~"(["', /invalid regular expression: /],
    ['foo==x', /value starts with =/],
  ])('rejects %s', (text, message) => {
    let thrown: unknown;
    try {
      parseMatcher(text);
    } catch (error) {
      thrown = error;
    }
    expect(isWarrenError(thrown, 'INVALID_ARGUMENT')).toBe(true);
    expect((thrown as Error).message).toContain(`invalid matcher ${JSON.stringify(text)}: `);
    expect((thrown as Error).message).toMatch(message);
  });
});

describe('matches follows Alertmanager semantics', () => {
  it.each([
    ['foo="x"', { foo: 'x' }, true],
    ['foo="X"', { foo: 'x' }, false],
    // An absent label equals the empty string.
    ['foo=""', {}, true],
    ['foo=""', { foo: 'x' }, false],
    ['foo!=""', {}, false],
    ['foo!=""', { foo: 'x' }, true],
    ['foo!="x"', {}, true],
    ['foo=~".*"', {}, true],
    ['foo=~".+"', {}, false],
    // Regexes are anchored: they match whole values, alternation included.
    ['queue=~"orders"', { queue: 'orders-1' }, false],
    ['queue=~"orders.*"', { queue: 'orders-1' }, true],
    ['queue=~"a|b"', { queue: 'ab' }, false],
    ['queue=~"a|b"', { queue: 'b' }, true],
    ['queue!~"tmp-.*"', { queue: 'tmp-1' }, false],
    ['queue!~"tmp-.*"', { queue: 'orders' }, true],
    ['queue!~"tmp-.*"', {}, true],
    // `.` matches newlines (Prometheus compiles with (?s)).
    ['msg=~"a.b"', { msg: 'a\nb' }, true],
    ['sev=~"(?i)critical"', { sev: 'CRITICAL' }, true],
    ['sev=~"critical"', { sev: 'CRITICAL' }, false],
    // Label names that are Object.prototype members are absent labels, not inherited functions.
    ['constructor=""', {}, true],
    ['toString=~".+"', {}, false],
  ])('%s against %j is %s', (text, labels: Record<string, string>, expected) => {
    expect(matches(parseMatcher(text), labels)).toBe(expected);
  });

  it('matchesAll needs every matcher, and an empty list matches everything', () => {
    const matchers = [parseMatcher('fault="disk_low"'), parseMatcher('severity=~"warning|critical"')];
    expect(matchesAll(matchers, { fault: 'disk_low', severity: 'critical' })).toBe(true);
    expect(matchesAll(matchers, { fault: 'disk_low', severity: 'info' })).toBe(false);
    expect(matchesAll(matchers, { severity: 'critical' })).toBe(false);
    expect(matchesAll([], {})).toBe(true);
  });
});

describe('matcherFromSilence builds matchers from Alertmanager silences', () => {
  it.each([
    [{ name: 'queue', value: 'orders', isRegex: false, isEqual: true }, '=', 'queue="orders"', { queue: 'orders' }, true],
    [{ name: 'queue', value: 'orders', isRegex: false }, '=', 'queue="orders"', { queue: 'orders' }, true],
    [{ name: 'queue', value: 'orders', isRegex: false, isEqual: false }, '!=', 'queue!="orders"', { queue: 'orders' }, false],
    [{ name: 'queue', value: 'orders-.*', isRegex: true, isEqual: true }, '=~', 'queue=~"orders-.*"', { queue: 'orders-1' }, true],
    [{ name: 'queue', value: 'orders', isRegex: true, isEqual: true }, '=~', 'queue=~"orders"', { queue: 'orders-1' }, false],
    [{ name: 'queue', value: 'orders-.*', isRegex: true, isEqual: false }, '!~', 'queue!~"orders-.*"', { queue: 'orders-1' }, false],
  ])('%j', (silence, operator, text, labels: Record<string, string>, expected) => {
    const matcher = matcherFromSilence(silence);
    expect(matcher.operator).toBe(operator);
    expect(matcher.text).toBe(text);
    expect(matches(matcher, labels)).toBe(expected);
  });

  it('refuses a silence whose regex does not compile', () => {
    expect(() => matcherFromSilence({ name: 'q', value: '(', isRegex: true })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/invalid silence matcher q=~"\(": invalid regular expression/) }));
  });
});
