// The YAML schema of warren.yml. Every object is strict (unknown keys are errors, as in
// blackbox_exporter) so a typo never silently falls back to a default.
import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.ts';
import { isValidNodeName } from '../rabbitmq/names.ts';

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
export const TEMPLATE_PLACEHOLDERS = ['node', 'host', 'cluster'] as const;

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
  const given = (['password', 'password_env', 'password_file'] as const).filter((key) => value[key] !== undefined);
  if (given.length > 1) {
    ctx.addIssue({ code: 'custom', path: [given[1] as string], message: `give only one of ${given.join(', ')}` });
  }
}

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

const argvTemplate = z
  .array(z.string())
  .min(1, 'an argv template needs at least the program')
  .superRefine((argv, ctx) => {
    argv.forEach((arg, index) => {
      for (const [, name] of arg.matchAll(/\{([^}]*)\}/g)) {
        if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name as string)) {
          ctx.addIssue({ code: 'custom', path: [index], message: `unknown placeholder {${name}}: use ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}` });
        }
      }
    });
    if (/[{}]/.test(argv[0] ?? '')) {
      ctx.addIssue({ code: 'custom', path: [0], message: 'the program itself cannot be a placeholder' });
    }
  });

const cliSchema = z.strictObject({
  bin_dir: z.string().min(1).optional(),
  erlang_home: z.string().min(1).optional(),
  timeout: boundedDuration(1, 86_400_000).optional(),
  commands: z.partialRecord(z.enum(TEMPLATABLE_OPERATIONS), argvTemplate).optional(),
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
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  basic_auth: z.strictObject({ username: z.string().min(1), ...secretFields }).superRefine(atMostOneSecret, evenWithOtherErrors).optional(),
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
    })
    .prefault({}),
  amqp_probe: z.strictObject({ enabled: z.boolean().default(true), interval: boundedDuration(1000, 86_400_000).prefault('15s') }).prefault({}),
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

export const CLUSTER_NAME = /^[a-zA-Z_][a-zA-Z0-9_.-]{0,62}$/;

export const warrenConfigSchema = z
  .strictObject({
    default_cluster: z.string().optional(),
    exporter: exporterSchema.prefault({}),
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
  }, evenWithOtherErrors);

export type WarrenConfigInput = z.input<typeof warrenConfigSchema>;
export type WarrenConfigParsed = z.output<typeof warrenConfigSchema>;
export type ClusterParsed = z.output<typeof clusterSchema>;
export type CliParsed = z.output<typeof cliSchema>;
