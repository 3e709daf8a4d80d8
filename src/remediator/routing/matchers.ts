// Alertmanager label matchers: `severity="critical"`, `queue=~"orders-.*"`, `env!=dev`. The same
// matchers evaluate remediation rules and, built from their JSON form, Alertmanager silences.
import { WarrenError } from '../../errors.ts';
import type { MatchOperator, Matcher } from '../settings.ts';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Longest operators first, so `=~` is not read as `=` followed by a value starting with `~`.
const OPERATOR = /=~|!~|!=|=/;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t' };

/**
 * Parses `name OP "value"` or `name OP value` (unquoted when the value has no spaces, commas or
 * quotes). Operators: = != =~ !~. Quoted values take Go escapes \" \\ \n \t. Throws WarrenError
 * INVALID_ARGUMENT naming the matcher and what is wrong with it.
 */
export function parseMatcher(text: string): Matcher {
  const fail = (problem: string): never => {
    throw new WarrenError('INVALID_ARGUMENT', `invalid matcher ${JSON.stringify(text)}: ${problem}`);
  };
  const written = text.trim();
  const operatorMatch = OPERATOR.exec(written);
  if (!operatorMatch) return fail('no operator: write name="value", name!="value", name=~"regex" or name!~"regex"');
  const label = written.slice(0, operatorMatch.index).trim();
  if (label === '') fail('missing label name before the operator');
  if (!LABEL_NAME.test(label)) fail(`invalid label name ${JSON.stringify(label)}: use letters, digits and _, not starting with a digit`);
  const operator = operatorMatch[0] as MatchOperator;
  const rest = written.slice(operatorMatch.index + operator.length).trim();

  let value: string;
  if (rest.startsWith('"')) {
    value = parseQuoted(rest, fail);
  } else {
    if (rest === '') fail('missing value (write "" for the empty string)');
    if (/[\s,"']/.test(rest)) fail(`unquoted value ${JSON.stringify(rest)} contains spaces, commas or quotes: put it in double quotes`);
    if (/^[=~]/.test(rest)) fail(`value starts with ${rest[0]}: quote it if that is meant (operators are =, !=, =~, !~)`);
    value = rest;
  }

  const matcher: Matcher = { label, operator, value, text: written };
  if (operator === '=~' || operator === '!~') {
    try {
      matcher.regex = anchoredRegex(value);
    } catch (error) {
      fail(`invalid regular expression: ${regexProblem(error)}`);
    }
  }
  return matcher;
}

/** The value of a double-quoted string that must make up all of `rest`. */
function parseQuoted(rest: string, fail: (problem: string) => never): string {
  let value = '';
  for (let i = 1; i < rest.length; i++) {
    const char = rest[i] as string;
    if (char === '"') {
      const trailing = rest.slice(i + 1).trim();
      if (trailing !== '') fail(`unexpected text after the closing quote: ${JSON.stringify(trailing)}`);
      return value;
    }
    if (char === '\\') {
      const next = rest[i + 1];
      const escaped = next === undefined ? undefined : ESCAPES[next];
      if (escaped === undefined) fail(next === undefined ? 'unterminated quoted value' : `unknown escape \\${next} (use \\" \\\\ \\n \\t)`);
      value += escaped;
      i++;
      continue;
    }
    value += char;
  }
  return fail('unterminated quoted value: missing closing "');
}

/**
 * Compiles a regex anchored like Alertmanager and Prometheus (`^(?:re)$`, `.` matching newlines). A
 * leading `(?i)`, common in Go-flavoured configs, becomes JavaScript's case-insensitive flag.
 */
function anchoredRegex(pattern: string): RegExp {
  const caseInsensitive = pattern.startsWith('(?i)');
  const body = caseInsensitive ? pattern.slice(4) : pattern;
  return new RegExp(`^(?:${body})$`, caseInsensitive ? 'si' : 's');
}

/** V8's reason without its `Invalid regular expression: /^(?:...)$/s:` prefix, which shows the anchoring, not the user's text. */
function regexProblem(error: unknown): string {
  return (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
}

/** A label's value; an absent label is the empty string (Alertmanager semantics). */
function labelValue(labels: Readonly<Record<string, string>>, name: string): string {
  const value = Object.hasOwn(labels, name) ? labels[name] : undefined;
  return typeof value === 'string' ? value : '';
}

export function matches(matcher: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const value = labelValue(labels, matcher.label);
  switch (matcher.operator) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return regexOf(matcher).test(value);
    case '!~':
      return !regexOf(matcher).test(value);
  }
}

/** True when every matcher matches (an empty list matches everything, as in Alertmanager). */
export function matchesAll(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((matcher) => matches(matcher, labels));
}

function regexOf(matcher: Matcher): RegExp {
  // Matchers from parseMatcher and matcherFromSilence carry their compiled regex; a hand-built one may not.
  return matcher.regex ?? anchoredRegex(matcher.value);
}

/** A silence matcher as Alertmanager's API returns it; `isEqual` is absent before Alertmanager 0.22. */
export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual?: boolean | undefined;
}

/** The matcher of an Alertmanager silence; throws INVALID_ARGUMENT when its regex does not compile. */
export function matcherFromSilence(silence: SilenceMatcher): Matcher {
  const equal = silence.isEqual ?? true;
  const operator: MatchOperator = silence.isRegex ? (equal ? '=~' : '!~') : equal ? '=' : '!=';
  const matcher: Matcher = { label: silence.name, operator, value: silence.value, text: `${silence.name}${operator}${JSON.stringify(silence.value)}` };
  if (silence.isRegex) {
    try {
      matcher.regex = anchoredRegex(silence.value);
    } catch (error) {
      throw new WarrenError('INVALID_ARGUMENT', `invalid silence matcher ${matcher.text}: invalid regular expression: ${regexProblem(error)}`);
    }
  }
  return matcher;
}
