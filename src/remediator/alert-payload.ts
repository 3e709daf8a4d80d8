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
 * Lone UTF-16 surrogates cannot be percent-encoded into an API path or stored as UTF-8 text. The
 * copy has no prototype, so that a label named `__proto__` is kept as a label like any other (an
 * object literal, or zod's record, would drop it and change the alert's identity).
 */
const stringSet = (maxValue: number) => z.unknown().transform((input, context): Record<string, string> => {
  const set = Object.create(null) as Record<string, string>;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    context.addIssue({ code: 'custom', message: `expected an object of string values, received ${input === null ? 'null' : Array.isArray(input) ? 'array' : typeof input}` });
    return set;
  }
  for (const [name, value] of Object.entries(input)) {
    const problem =
      typeof value !== 'string' ? `expected string, received ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`
      : name === '' ? 'label names must not be empty'
      : name.length > MAX_LABEL_NAME ? `label names must be at most ${MAX_LABEL_NAME} characters`
      : !name.isWellFormed() ? 'must be well-formed Unicode'
      : value.length > maxValue ? `must be at most ${maxValue} characters`
      : !value.isWellFormed() ? 'must be well-formed Unicode'
      : undefined;
    if (problem) context.addIssue({ code: 'custom', message: problem, input: value, path: [name] });
    else set[name] = value;
  }
  return set;
});
const labelSet = stringSet(MAX_LABEL_VALUE);
/** Annotations are prose (descriptions, runbooks): only the body's size limits them. */
const annotationSet = stringSet(Number.POSITIVE_INFINITY);

/** RFC 3339 as Alertmanager writes it (Go's RFC3339Nano): a date, a time, a zone; nothing else. */
const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;

/**
 * Whether `text` is an RFC 3339 timestamp of a real instant. Date.parse alone takes "1" (2001),
 * "2026-02-30" (2 March) and zone-less times (server-local), and would store them rewritten.
 */
export function isRfc3339(text: string): boolean {
  const match = RFC3339.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(2000 + (year % 400), month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59 && !Number.isNaN(Date.parse(text));
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
  if (parsed.success) return { ok: true, payload: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.slice(0, 20).map((issue) => ({ path: jsonPath(issue.path) || '(body)', message: issue.message })),
  };
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
