// The YAML schema of warren.yml. Every object is strict (unknown keys are errors, as in
// blackbox_exporter) so a typo never silently falls back to a default.
import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.ts';
import { isValidNodeName } from '../rabbitmq/names.ts';
import { ARGV_PLACEHOLDERS, argvTemplateProblems } from '../rabbitmq/node-control.ts';
import type { AcknowledgeAfter, RemediationMode } from '../remediator/settings.ts';
import { DEFAULT_RULE_INPUTS } from '../remediator/routing/default-rules.ts';
import { parseMatcher } from '../remediator/routing/matchers.ts';
import { validateTemplate } from '../remediator/routing/templates.ts';
import { STRATEGY_NAMES, isStrategyName, strategyParams, type StrategyName } from '../remediator/strategies/catalogue.ts';

export const NODE_SELECTION_STRATEGIES = [
  'round_robin',
  'weighted_round_robin',
  'health_based',
  'random',
  'least_latency',
] as const;

/** Operations whose CLI command a site may replace with its own argv template. */
export const TEMPLATABLE_OPERATIONS = ['stop_app', 'start_app', 'stop', 'start', 'restart'] as const;
/** Placeholders an argv template may use; each value is validated before substitution. */
export const TEMPLATE_PLACEHOLDERS = ARGV_PLACEHOLDERS;

// Cross-field checks run even when a sibling field failed, so one check-config run reports
// everything; they therefore read their input defensively.
const evenWithOtherErrors = { when: () => true };

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(text)}: use e.g. 500ms, 10s, 5m, 1h` });
    return z.NEVER;
  }
  return ms;
});

/** A duration within [minMs, maxMs]: timers take at most 2^31-1 ms, and a 0s interval would spin. */
function boundedDuration(minMs: number, maxMs: number) {
  return duration.refine((ms) => ms >= minMs && ms <= maxMs, `must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`);
}

function url(schemes: readonly string[]) {
  return z.string().superRefine((text, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `invalid URL ${JSON.stringify(text)}` });
      return;
    }
    if (!schemes.includes(parsed.protocol.slice(0, -1))) {
      ctx.addIssue({ code: 'custom', message: `URL scheme must be one of ${schemes.join(', ')}, got ${parsed.protocol.slice(0, -1)}` });
    }
    // Credentials in a URL end up in logs and error messages; they belong in username/password_*.
    if (parsed.username !== '' || parsed.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'URL must not contain credentials: use username and password_env/password_file' });
    }
  });
}

/** `password`, `password_env` and `password_file`: at most one of them. */
const secretFields = {
  password: z.string().optional(),
  password_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
  password_file: z.string().min(1).optional(),
};

function atMostOneSecret(value: Partial<Record<'password' | 'password_env' | 'password_file', unknown>>, ctx: z.RefinementCtx): void {
  atMostOneOf(['password', 'password_env', 'password_file'], value, ctx);
}

function atMostOneOf(keys: readonly string[], value: unknown, ctx: z.RefinementCtx): void {
  if (typeof value !== 'object' || value === null) return;
  const given = keys.filter((key) => (value as Record<string, unknown>)[key] !== undefined);
  if (given.length > 1) {
    ctx.addIssue({ code: 'custom', path: [given[1] as string], message: `give only one of ${given.join(', ')}` });
  }
}

/** `bearer_token`, `bearer_token_env` and `bearer_token_file`: at most one of them. */
const BEARER_TOKEN_KEYS = ['bearer_token', 'bearer_token_env', 'bearer_token_file'] as const;
const bearerTokenFields = {
  bearer_token: z.string().min(1).optional(),
  bearer_token_env: secretFields.password_env,
  bearer_token_file: secretFields.password_file,
};

const basicAuthSchema = z.strictObject({ username: z.string().min(1), ...secretFields }).superRefine(atMostOneSecret, evenWithOtherErrors);

/** Basic auth where a password is mandatory: an empty password is no credential. */
const basicAuthWithPasswordSchema = basicAuthSchema.superRefine((auth, ctx) => {
  if (typeof auth !== 'object' || auth === null) return;
  if (auth.password === undefined && auth.password_env === undefined && auth.password_file === undefined) {
    ctx.addIssue({ code: 'custom', path: ['password'], message: 'required: give one of password, password_env, password_file' });
  }
}, evenWithOtherErrors);

const serverTlsSchema = z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) });

const tlsSchema = z.strictObject({
  ca_file: z.string().min(1).optional(),
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  server_name: z.string().min(1).optional(),
  insecure_skip_verify: z.boolean().default(false),
});

const managementSchema = z
  .strictObject({
    username: z.string().min(1).default('guest'),
    ...secretFields,
    timeout: boundedDuration(1, 3_600_000).prefault('10s'),
    node_selection: z.enum(NODE_SELECTION_STRATEGIES).default('round_robin'),
    connections_per_node: z.number().int().min(1).max(256).default(4),
    unhealthy_after_failures: z.number().int().min(1).max(100).default(2),
    retry_unhealthy_after: boundedDuration(0, 86_400_000).prefault('30s'),
    tls: tlsSchema.optional(),
  })
  .superRefine(atMostOneSecret, evenWithOtherErrors);

const amqpSchema = z
  .strictObject({
    username: z.string().min(1).default('guest'),
    ...secretFields,
    vhost: z.string().min(1).default('/'),
    load_balancer_url: url(['amqp', 'amqps']).optional(),
    timeout: boundedDuration(1, 3_600_000).prefault('5s'),
  })
  .superRefine(atMostOneSecret, evenWithOtherErrors);

// Placeholders {node} {host} {cluster}; `{{` and `}}` are literal braces (Erlang terms need them).
// The scanner is node-control's own, so what validates here is exactly what is substituted there.
const argvItems = z.array(z.string()).superRefine((argv, ctx) => {
  for (const { index, message } of argvTemplateProblems(argv)) ctx.addIssue({ code: 'custom', path: [index], message });
});
const argvTemplate = argvItems.refine((argv) => argv.length > 0, 'an argv template needs at least the program');

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What is wrong with an environment value, or its text: a string, or an integer as its decimal text. */
function envText(value: unknown): { text: string } | { problem: string } {
  if (typeof value === 'string') return value.includes('\0') ? { problem: 'contains a NUL character, which no environment variable can hold' } : { text: value };
  if (typeof value === 'number' && Number.isSafeInteger(value)) return { text: String(value) };
  const what = value === null ? 'no value' : typeof value === 'number' ? 'a number that is not an integer' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
  return { problem: `must be a string or an integer, got ${what}: quote it (e.g. "1.5", "true", "") to pass it as text` };
}

// `NAME: value` pairs. One transform checks names and values together, so every bad entry is
// reported in one run (and a `__proto__` key is refused rather than silently dropped).
const cliEnvSchema = z.unknown().transform((raw, ctx) => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    ctx.addIssue({ code: 'custom', message: 'expected a map of NAME: value' });
    return z.NEVER;
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!ENV_NAME.test(name) || name === '__proto__') {
      ctx.addIssue({ code: 'custom', path: [name], message: `invalid environment variable name ${JSON.stringify(name)}: use letters, digits and _, not starting with a digit` });
      continue;
    }
    const checked = envText(value);
    if ('problem' in checked) ctx.addIssue({ code: 'custom', path: [name], message: checked.problem });
    else env[name] = checked.text;
  }
  return env;
});

const cliSchema = z.strictObject({
  bin_dir: z.string().min(1).optional(),
  erlang_home: z.string().min(1).optional(),
  timeout: boundedDuration(1, 86_400_000).optional(),
  commands: z.partialRecord(z.enum(TEMPLATABLE_OPERATIONS), argvTemplate).optional(),
  env: cliEnvSchema.optional(),
  // Before every CLI tool call; `[]` on a node turns off the cluster's prefix there.
  command_prefix: argvItems.optional(),
});

const nodeSchema = z.strictObject({
  name: z.string().refine(isValidNodeName, 'must be an Erlang node name like rabbit@host (letters, digits, _ . -)'),
  management_url: url(['http', 'https']),
  amqp_url: url(['amqp', 'amqps']).optional(),
  prometheus_url: url(['http', 'https']).optional(),
  weight: z.number().int().min(1).max(1000).default(1),
  cli: cliSchema.optional(),
});

const clusterSchema = z
  .strictObject({
    management: managementSchema.prefault({}),
    amqp: amqpSchema.prefault({}),
    cli: cliSchema.optional(),
    nodes: z.array(nodeSchema).min(1, 'a cluster needs at least one node'),
  })
  .superRefine((cluster, ctx) => {
    if (!Array.isArray(cluster.nodes)) return;
    const seen = new Map<string, number>();
    cluster.nodes.forEach((node: unknown, index) => {
      if (typeof node !== 'object' || node === null || typeof (node as { name?: unknown }).name !== 'string') return;
      const name = (node as { name: string }).name;
      const first = seen.get(name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['nodes', index, 'name'], message: `duplicate node name ${name} (also nodes[${first}])` });
      } else {
        seen.set(name, index);
      }
    });
  }, evenWithOtherErrors);

/** A Prometheus-style regex: it must compile; it is anchored (full match) when used. */
const regex = z.string().superRefine((pattern, ctx) => {
  try {
    new RegExp(pattern);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(error as Error).message}` });
  }
});

const listenAddress = z.string().superRefine((text, ctx) => {
  const match = /^(.*):(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) > 65535) ctx.addIssue({ code: 'custom', message: `expected host:port (e.g. 0.0.0.0:9419 or [::]:9419), got ${JSON.stringify(text)}` });
});

const exporterSchema = z.strictObject({
  listen_address: listenAddress.default('0.0.0.0:9419'),
  tls: serverTlsSchema.optional(),
  basic_auth: basicAuthSchema.optional(),
  scrape_timeout: boundedDuration(1000, 300_000).prefault('10s'),
  queues: z
    .strictObject({
      include_vhosts: regex.default('.*'),
      exclude_vhosts: regex.optional(),
      include: regex.default('.*'),
      exclude: regex.optional(),
      max_queues: z.number().int().min(0).default(0),
      details: z.enum(['basic', 'full']).default('basic'),
      metadata_max_age: boundedDuration(1000, 86_400_000).prefault('30s'),
      metadata_refetch_below: boundedDuration(0, 60_000).prefault('250ms'),
      // Per-queue message counters from the management API, read page by page in the background.
      counters: z
        .strictObject({
          enabled: z.boolean().default(false),
          interval: boundedDuration(5_000, 86_400_000).prefault('60s'),
          page_size: z.number().int().min(10).max(5_000).default(500),
        })
        .prefault({}),
    })
    .prefault({}),
  amqp_probe: z.strictObject({ enabled: z.boolean().default(true), interval: boundedDuration(1000, 86_400_000).prefault('15s') }).prefault({}),
  // The management health-check endpoints, run on their own schedule (scrapes report the latest round).
  health_checks: z.strictObject({ interval: boundedDuration(1000, 86_400_000).prefault('15s') }).prefault({}),
  host: z.strictObject({ enabled: z.boolean().default(true), sample_interval: boundedDuration(1000, 86_400_000).prefault('15s') }).prefault({}),
  health_score: z
    .strictObject({
      weights: z
        .strictObject({
          nodes: z.number().min(0).default(0.35),
          alarms: z.number().min(0).default(0.2),
          partitions: z.number().min(0).default(0.15),
          replication: z.number().min(0).default(0.2),
          probe: z.number().min(0).default(0.1),
        })
        .prefault({}),
      host_warning_usage_percent: z.number().min(0).max(100).default(80),
      host_critical_usage_percent: z.number().min(0).max(100).default(90),
      cluster_warning_below: z.number().min(0).max(100).default(80),
      cluster_critical_below: z.number().min(0).max(100).default(50),
    })
    .prefault({}),
});
export type ExporterParsed = z.output<typeof exporterSchema>;

// ---- remediation: the Alertmanager webhook receiver and its rules ----

/** Most cautious first: a rule's effective mode is the earlier of the global mode and its own. */
export const REMEDIATION_MODES = ['dry_run', 'approve', 'enforce'] as const satisfies readonly RemediationMode[];
export const ACKNOWLEDGE_AFTER = ['flush', 'write'] as const satisfies readonly AcknowledgeAfter[];

/** The more cautious of two modes (dry_run over approve over enforce). */
export function mostCautiousMode(a: RemediationMode, b: RemediationMode): RemediationMode {
  return REMEDIATION_MODES[Math.min(REMEDIATION_MODES.indexOf(a), REMEDIATION_MODES.indexOf(b))] as RemediationMode;
}

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export const RULE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const WEEK_MS = 604_800_000;
const DAY_MS = 86_400_000;

const bearerTokenSecret = (value: unknown, ctx: z.RefinementCtx) => atMostOneOf(BEARER_TOKEN_KEYS, value, ctx);

const remediationAuthSchema = z
  .strictObject({ ...bearerTokenFields, basic_auth: basicAuthWithPasswordSchema.optional() })
  .superRefine(bearerTokenSecret, evenWithOtherErrors)
  .superRefine((auth, ctx) => {
    if (typeof auth !== 'object' || auth === null) return;
    if ([...BEARER_TOKEN_KEYS, 'basic_auth' as const].every((key) => auth[key] === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give bearer_token (or bearer_token_env, bearer_token_file), basic_auth, or both' });
    }
  }, evenWithOtherErrors);

/** An Alertmanager label matcher, parsed (and its regex compiled) at load time. */
const matcherText = z.string().transform((text, ctx) => {
  try {
    return parseMatcher(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const paramTemplate = z.string().superRefine((text, ctx) => {
  const problem = validateTemplate(text);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const strategyStepSchema = z
  .strictObject({
    strategy: z
      .string()
      .refine(isStrategyName, { error: (issue) => `unknown strategy ${JSON.stringify(issue.input)}: known strategies are ${STRATEGY_NAMES.join(', ')}` })
      .transform((name) => name as StrategyName),
    params: z.record(z.string(), paramTemplate).default({}),
    execute_timeout: boundedDuration(1000, DAY_MS).optional(),
    verify_timeout: boundedDuration(1000, DAY_MS).optional(),
  })
  .superRefine((step, ctx) => {
    if (typeof step !== 'object' || step === null || typeof step.strategy !== 'string' || !isStrategyName(step.strategy)) return;
    const params: unknown = step.params ?? {};
    if (typeof params !== 'object' || params === null) return;
    const { required, allowed } = strategyParams(step.strategy);
    for (const name of Object.keys(params)) {
      if (!allowed.includes(name)) ctx.addIssue({ code: 'custom', path: ['params', name], message: `unknown param for ${step.strategy}: allowed ${allowed.join(', ')}` });
    }
    for (const name of required) {
      if (!Object.hasOwn(params, name)) ctx.addIssue({ code: 'custom', path: ['params', name], message: `required by strategy ${step.strategy}` });
    }
  }, evenWithOtherErrors);

const breakerFields = {
  max_attempts: z.number().int().min(1).max(100),
  window: boundedDuration(1000, WEEK_MS),
  open_for: boundedDuration(1000, WEEK_MS),
};

export const remediationRuleSchema = z.strictObject({
  name: z.string().regex(RULE_NAME, 'rule names use letters, digits, _ . - (at most 128)'),
  matchers: z.array(matcherText).min(1, 'a rule needs at least one matcher'),
  status: z.enum(['firing', 'resolved', 'any']).default('firing'),
  strategies: z.array(strategyStepSchema).min(1, 'a rule needs at least one strategy'),
  continue: z.boolean().default(false),
  mode: z.enum(REMEDIATION_MODES).optional(),
  cooldown: boundedDuration(0, WEEK_MS).optional(),
  breaker: z
    .strictObject({ max_attempts: breakerFields.max_attempts.optional(), window: breakerFields.window.optional(), open_for: breakerFields.open_for.optional() })
    .optional(),
});
export type RemediationRuleInput = z.input<typeof remediationRuleSchema>;
export type RemediationRuleParsed = z.output<typeof remediationRuleSchema>;

/** `HH:MM`, 24-hour clock, as minutes after midnight. */
const clockTime = z.string().transform((text, ctx) => {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `expected HH:MM on a 24-hour clock (e.g. 22:00), got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return Number(match[1]) * 60 + Number(match[2]);
});

/** An ISO-8601 instant with its offset (`2026-12-01T00:00:00Z`, `...T02:00:00+02:00`), as epoch ms. */
const instant = z.string().transform((text, ctx) => {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/.exec(text);
  const ms = Date.parse(text);
  // Date.parse rolls 2026-02-30 over to March 2; a calendar check refuses it.
  const days = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]), 0)).getUTCDate() : 0;
  if (!match || Number.isNaN(ms) || Number(match[3]) < 1 || Number(match[3]) > days || Number(match[4]) > 23 || Number(match[5]) > 59 || Number(match[6] ?? 0) > 59) {
    ctx.addIssue({ code: 'custom', message: `expected an ISO-8601 instant with a time zone offset (e.g. 2026-12-01T00:00:00Z), got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return ms;
});

export function isValidTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const WEEKLY_KEYS = ['weekdays', 'start', 'end', 'timezone'] as const;
const ABSOLUTE_KEYS = ['from', 'to'] as const;

const maintenanceWindowSchema = z
  .strictObject({
    name: z.string().min(1),
    weekdays: z.array(z.enum(WEEKDAYS)).min(1).optional(),
    start: clockTime.optional(),
    end: clockTime.optional(),
    timezone: z.string().refine(isValidTimeZone, { error: (issue) => `unknown time zone ${JSON.stringify(issue.input)}: use an IANA name such as UTC or Europe/Berlin` }).optional(),
    from: instant.optional(),
    to: instant.optional(),
  })
  .superRefine((window, ctx) => {
    if (typeof window !== 'object' || window === null) return;
    const weekly = WEEKLY_KEYS.filter((key) => window[key] !== undefined);
    const absolute = ABSOLUTE_KEYS.filter((key) => window[key] !== undefined);
    if (weekly.length > 0 && absolute.length > 0) {
      ctx.addIssue({ code: 'custom', path: [absolute[0] as string], message: `a window is weekly (weekdays, start, end, timezone) or absolute (from, to), not both: remove ${absolute.join(', ')} or ${weekly.join(', ')}` });
      return;
    }
    if (absolute.length > 0) {
      for (const key of ABSOLUTE_KEYS) if (window[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required (an absolute window needs from and to)' });
      if (typeof window.from === 'number' && typeof window.to === 'number' && window.to <= window.from) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
      }
      return;
    }
    if (weekly.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'give start and end (a weekly window) or from and to (an absolute window)' });
      return;
    }
    for (const key of ['start', 'end'] as const) if (window[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required (a weekly window needs start and end)' });
    if (typeof window.start === 'number' && window.start === window.end) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: 'must differ from start (end before start crosses midnight)' });
    }
  }, evenWithOtherErrors);

const remediationSchema = z
  .strictObject({
    listen_address: listenAddress.default('0.0.0.0:9420'),
    tls: serverTlsSchema.optional(),
    auth: remediationAuthSchema.optional(),
    mode: z.enum(REMEDIATION_MODES).default('dry_run'),
    state_file: z.string().min(1).default('.warren/remediator.db'),
    max_body_size: z.number().int().min(1024).max(67_108_864).default(16_777_216),
    acknowledge_after: z.enum(ACKNOWLEDGE_AFTER).default('flush'),
    execute_timeout: boundedDuration(1000, DAY_MS).prefault('2m'),
    verify_timeout: boundedDuration(1000, DAY_MS).prefault('5m'),
    verify_interval: boundedDuration(100, 3_600_000).prefault('5s'),
    cooldown: boundedDuration(0, WEEK_MS).prefault('10m'),
    breaker: z
      .strictObject({
        max_attempts: breakerFields.max_attempts.default(3),
        window: breakerFields.window.prefault('1h'),
        open_for: breakerFields.open_for.prefault('1h'),
      })
      .prefault({}),
    dedup_retention: boundedDuration(60_000, 365 * DAY_MS).prefault('168h'),
    audit_retention: boundedDuration(3_600_000, 3650 * DAY_MS).prefault('2160h'),
    approval_timeout: boundedDuration(60_000, WEEK_MS).prefault('1h'),
    escalation_webhook: z
      .strictObject({ url: url(['http', 'https']), ...bearerTokenFields, timeout: boundedDuration(1, 300_000).prefault('5s') })
      .superRefine(bearerTokenSecret, evenWithOtherErrors)
      .optional(),
    alertmanager: z
      .strictObject({
        url: url(['http', 'https']),
        check_silences: z.boolean().default(false),
        timeout: boundedDuration(1, 300_000).prefault('5s'),
        basic_auth: basicAuthWithPasswordSchema.optional(),
      })
      .optional(),
    maintenance_windows: z.array(maintenanceWindowSchema).default([]),
    default_rules: z.boolean().default(true),
    rules: z.array(remediationRuleSchema).default([]),
  })
  .superRefine((section, ctx) => {
    if (typeof section !== 'object' || section === null) return;
    reportDuplicateNames(section.rules, 'rules', 'rule', ctx);
    reportDuplicateNames(section.maintenance_windows, 'maintenance_windows', 'window', ctx);
    if (section.default_rules !== false && Array.isArray(section.rules)) {
      const defaults = new Set(DEFAULT_RULE_INPUTS.map((rule) => rule.name));
      section.rules.forEach((rule: unknown, index) => {
        const name = nameOf(rule);
        if (name !== undefined && defaults.has(name)) {
          ctx.addIssue({ code: 'custom', path: ['rules', index, 'name'], message: `${name} is the name of a shipped default rule: rename this rule, or set default_rules: false` });
        }
      });
    }
  }, evenWithOtherErrors);
export type RemediationParsed = z.output<typeof remediationSchema>;

function nameOf(item: unknown): string | undefined {
  const name = typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

function reportDuplicateNames(items: unknown, key: string, what: string, ctx: z.RefinementCtx): void {
  if (!Array.isArray(items)) return;
  const seen = new Map<string, number>();
  items.forEach((item: unknown, index) => {
    const name = nameOf(item);
    if (name === undefined) return;
    const first = seen.get(name);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: [key, index, 'name'], message: `duplicate ${what} name ${name} (also ${key}[${first}])` });
    else seen.set(name, index);
  });
}

export const CLUSTER_NAME = /^[a-zA-Z_][a-zA-Z0-9_.-]{0,62}$/;

export const warrenConfigSchema = z
  .strictObject({
    default_cluster: z.string().optional(),
    exporter: exporterSchema.prefault({}),
    remediation: remediationSchema.prefault({}),
    log: z
      .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') })
      .prefault({}),
    clusters: z
      .record(z.string().regex(CLUSTER_NAME, 'cluster names use letters, digits, _ . - and start with a letter'), clusterSchema)
      .refine((clusters) => Object.keys(clusters).length > 0, 'at least one cluster is required'),
  })
  .superRefine((config, ctx) => {
    if (typeof config.clusters !== 'object' || config.clusters === null) return;
    const names = Object.keys(config.clusters);
    if (config.default_cluster !== undefined && !names.includes(config.default_cluster)) {
      ctx.addIssue({ code: 'custom', path: ['default_cluster'], message: `names no configured cluster (have: ${names.join(', ')})` });
    }
    if (config.default_cluster === undefined && names.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['default_cluster'], message: 'required when more than one cluster is configured' });
    }
    reportUnknownClusterParams(config.remediation, names, ctx);
  }, evenWithOtherErrors);

/** A literal `cluster` strategy param must name a configured cluster (a templated one is checked per alert). */
function reportUnknownClusterParams(remediation: unknown, clusters: readonly string[], ctx: z.RefinementCtx): void {
  const rules = (remediation as { rules?: unknown } | undefined)?.rules;
  if (!Array.isArray(rules)) return;
  rules.forEach((rule: unknown, ruleIndex) => {
    const steps = (rule as { strategies?: unknown } | null)?.strategies;
    if (!Array.isArray(steps)) return;
    steps.forEach((step: unknown, stepIndex) => {
      const cluster = (step as { params?: { cluster?: unknown } } | null)?.params?.cluster;
      // An action, and its lock, belong to one cluster: the one the chain's first step names.
      if (stepIndex > 0 && cluster !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['remediation', 'rules', ruleIndex, 'strategies', stepIndex, 'params', 'cluster'],
          message: 'a chain acts on one cluster: give cluster on the first step only',
        });
        return;
      }
      if (typeof cluster === 'string' && !cluster.includes('{{') && !clusters.includes(cluster)) {
        ctx.addIssue({
          code: 'custom',
          path: ['remediation', 'rules', ruleIndex, 'strategies', stepIndex, 'params', 'cluster'],
          message: `names no configured cluster (have: ${clusters.join(', ')})`,
        });
      }
    });
  });
}

export type WarrenConfigInput = z.input<typeof warrenConfigSchema>;
export type WarrenConfigParsed = z.output<typeof warrenConfigSchema>;
export type ClusterParsed = z.output<typeof clusterSchema>;
export type CliParsed = z.output<typeof cliSchema>;
