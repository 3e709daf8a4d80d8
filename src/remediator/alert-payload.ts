// The Alertmanager webhook payload (version 4). Fields warren does not use are accepted and kept,
// because newer Alertmanager releases add some (e.g. notification_reason); fields it does use are
// checked strictly enough that a malformed alert never reaches routing.
import { z } from 'zod';

/** Alertmanager's zero time: `endsAt` of a firing alert. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

const MAX_LABEL_NAME = 1024;
const MAX_LABEL_VALUE = 16_384;

/**
 * A label (or annotation) set: string names and values, checked in one pass per set rather than
 * one zod schema per value (a 50-alert delivery has ~600 of them, and this runs on every request).
 * Lone UTF-16 surrogates cannot be percent-encoded into an API path or stored as UTF-8 text. A
 * label named `__proto__` is put back after parsing (restoreProtoLabels): zod's record drops it.
 * (A transform building the sets itself kept it too, but that rewrite, together with the other
 * input checks of the same change, doubled the acknowledgement's p99 in the webhook benchmark;
 * this form is the measured one: docs/benchmarks.md.)
 */
const stringSet = (maxValue: number) =>
  z.record(z.string(), z.string()).check((context) => {
    for (const [name, value] of Object.entries(context.value)) {
      const problem =
        name === '' ? 'label names must not be empty'
        : name.length > MAX_LABEL_NAME ? `label names must be at most ${MAX_LABEL_NAME} characters`
        : !name.isWellFormed() ? 'must be well-formed Unicode'
        : value.length > maxValue ? `must be at most ${maxValue} characters`
        : !value.isWellFormed() ? 'must be well-formed Unicode'
        : undefined;
      if (problem) context.issues.push({ code: 'custom', message: problem, input: value, path: [name] });
    }
  });
const labelSet = stringSet(MAX_LABEL_VALUE);
/** Annotations are prose (descriptions, runbooks): only the body's size limits them. */
const annotationSet = stringSet(Number.POSITIVE_INFINITY);

/** RFC 3339 as Alertmanager writes it (Go's RFC3339Nano): a date, a time, a zone; nothing else. */
const RFC3339 = /^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;
const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether `text` is an RFC 3339 timestamp of a real instant. Date.parse alone takes "1" (2001),
 * "2026-02-30" (2 March) and zone-less times (server-local), and would store them rewritten.
 * Digits are read in place: this runs twice per alert on every delivery.
 */
export function isRfc3339(text: string): boolean {
  if (!RFC3339.test(text)) return false;
  const digit = (at: number) => text.charCodeAt(at) - 48;
  const year = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
  const month = digit(5) * 10 + digit(6);
  const day = digit(8) * 10 + digit(9);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month] ?? 0);
  return day >= 1 && day <= monthDays && digit(11) * 10 + digit(12) <= 23 && digit(14) * 10 + digit(15) <= 59 && digit(17) * 10 + digit(18) <= 59 && !Number.isNaN(Date.parse(text));
}

const timestamp = z.string().refine(isRfc3339, 'must be an RFC 3339 timestamp, such as 2026-11-22T06:00:00Z');

export const webhookAlertSchema = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: annotationSet.default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().regex(/^[0-9a-fA-F]{1,64}$/, 'must be a hex fingerprint'),
});

export const webhookPayloadSchema = z.looseObject({
  version: z.literal('4', { message: 'only webhook payload version "4" is supported' }),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().default(''),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: annotationSet.default({}),
  externalURL: z.string().default(''),
  // As many as max_body_size lets in: refusing a large group would drop every alert in it.
  alerts: z.array(webhookAlertSchema),
});

export type WebhookAlert = z.output<typeof webhookAlertSchema>;
export type WebhookPayload = z.output<typeof webhookPayloadSchema>;

export interface PayloadProblem {
  path: string;
  message: string;
}

/** Alertmanager's payload nests 4 deep; unknown fields from newer releases get this much room. */
export const MAX_NESTING = 64;

/**
 * The JSON path of the first value nested deeper than `limit`, or undefined. Checked before the
 * body is validated and stored: a few kilobytes of `[[[[...` parse fine but overflow the stack of
 * whatever walks them recursively later (JSON.stringify), which must not turn bad input into a 5xx.
 */
export function tooDeep(value: unknown, limit = MAX_NESTING): string | undefined {
  // Runs on every delivery: one small record per container and none per key (Object.entries
  // allocated an array per object and cost as much as JSON.parse itself).
  interface Container {
    value: object;
    depth: number;
    parent: Container | undefined;
    key: string | number;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: Container[] = [{ value, depth: 0, parent: undefined, key: '' }];
  for (let container = stack.pop(); container !== undefined; container = stack.pop()) {
    const push = (child: unknown, key: string | number): Container | undefined => {
      if (typeof child !== 'object' || child === null) return undefined;
      const entry: Container = { value: child, depth: (container as Container).depth + 1, parent: container, key };
      if (entry.depth > limit) return entry;
      stack.push(entry);
      return undefined;
    };
    let deepest: Container | undefined;
    if (Array.isArray(container.value)) {
      for (let i = 0; i < container.value.length && !deepest; i++) deepest = push(container.value[i], i);
    } else {
      const record = container.value as Record<string, unknown>;
      for (const key in record) if (!deepest) deepest = push(record[key], key);
    }
    if (deepest) {
      const path: (string | number)[] = [];
      for (let at: Container | undefined = deepest; at?.parent; at = at.parent) path.unshift(at.key);
      return jsonPath(path.slice(0, 8)) + (path.length > 8 ? '...' : '');
    }
  }
  return undefined;
}

/** Validates a parsed JSON body; problems name the JSON path (`alerts[2].fingerprint`). */
export function parseWebhookPayload(body: unknown): { ok: true; payload: WebhookPayload } | { ok: false; problems: PayloadProblem[] } {
  const parsed = webhookPayloadSchema.safeParse(body);
  if (parsed.success) return { ok: true, payload: restoreProtoLabels(body as { alerts: unknown[] }, parsed.data) };
  return {
    ok: false,
    problems: parsed.error.issues.slice(0, 20).map((issue) => ({ path: jsonPath(issue.path) || '(body)', message: issue.message })),
  };
}

/**
 * Puts back what zod's record drops: a label or annotation named `__proto__` (a plain assignment
 * would set the prototype instead). Rare, so only a property check per set when there is none.
 */
function restoreProtoLabels(input: { alerts: unknown[] }, payload: WebhookPayload): WebhookPayload {
  payload.alerts.forEach((alert, index) => {
    const source = input.alerts[index] as Record<string, Record<string, string>>;
    for (const field of ['labels', 'annotations'] as const) {
      const set = source[field];
      if (set && Object.hasOwn(set, '__proto__')) Object.defineProperty(alert[field], '__proto__', { value: set['__proto__'], enumerable: true, writable: true, configurable: true });
    }
  });
  return payload;
}

function jsonPath(path: readonly PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}

/** One firing episode of one alert, and its status: the durable deduplication key. */
export function episodeKey(alert: Pick<WebhookAlert, 'fingerprint' | 'startsAt' | 'status'>): string {
  // Time first: fingerprints are hashes, so a key led by one lands on a random page of the index,
  // and an alert storm rewrites a page per alert; new episodes' startsAt is near now, so their keys
  // land at the index's end, a few pages for a whole burst.
  return `${normaliseTime(alert.startsAt)}|${alert.fingerprint.toLowerCase()}|${alert.status}`;
}

/** What toISOString() writes; already-normalised keys skip a parse at webhook rates. */
const CANONICAL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The same instant written two ways (HA peers, `Z` vs `+00:00`) must give the same key. */
export function normaliseTime(text: string): string {
  if (CANONICAL_TIME.test(text)) return text;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}
