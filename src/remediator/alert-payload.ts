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
 * Lone UTF-16 surrogates cannot be percent-encoded into an API path or stored as UTF-8 text.
 */
const labelSet = z.record(z.string(), z.string()).check((context) => {
  for (const [name, value] of Object.entries(context.value)) {
    const problem =
      name === '' ? 'label names must not be empty'
      : name.length > MAX_LABEL_NAME ? `label names must be at most ${MAX_LABEL_NAME} characters`
      : !name.isWellFormed() ? 'must be well-formed Unicode'
      : value.length > MAX_LABEL_VALUE ? `must be at most ${MAX_LABEL_VALUE} characters`
      : !value.isWellFormed() ? 'must be well-formed Unicode'
      : undefined;
    if (problem) context.issues.push({ code: 'custom', message: problem, input: value, path: [name] });
  }
});

const timestamp = z.string().refine((text) => !Number.isNaN(Date.parse(text)), 'must be an RFC 3339 timestamp');

export const webhookAlertSchema = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: labelSet.default({}),
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
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(webhookAlertSchema).max(10_000),
});

export type WebhookAlert = z.output<typeof webhookAlertSchema>;
export type WebhookPayload = z.output<typeof webhookPayloadSchema>;

export interface PayloadProblem {
  path: string;
  message: string;
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
