// Reads warren.yml into typed objects. Every problem (YAML syntax, schema, unreadable secrets) is
// collected and reported with its YAML path and line, so one run of `check-config` shows them all.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { WarrenError, isWarrenError } from '../errors.ts';
import type { ExporterSettings } from '../exporter/settings.ts';
import { DEFAULT_RULE_INPUTS } from '../remediator/routing/default-rules.ts';
import type { MaintenanceWindow, RemediationRule, RemediatorSettings } from '../remediator/settings.ts';
import {
  WEEKDAYS,
  mostCautiousMode,
  remediationRuleSchema,
  warrenConfigSchema,
  type CliParsed,
  type ExporterParsed,
  type ClusterParsed,
  type RemediationParsed,
  type RemediationRuleParsed,
  type WarrenConfigInput,
  type WarrenConfigParsed,
} from './schema.ts';
import { formatPath } from './yaml-path.ts';
import { resolveSecret, type Secret, type SecretReference } from './secret.ts';
import { DEFAULT_CLI_BIN_DIR, DEFAULT_CLI_TIMEOUT_MS, type ClusterConfig, type NodeCliConfig, type WarrenConfig } from './types.ts';
import type { LocalBrokerCli } from './local-stack.ts';
import { LOCAL_CLUSTER_NAME, LOCAL_HOST, LOCAL_NODES, LOCAL_PORTS, LOCAL_USER, localBrokerCli, localRemediatorTokenFile, recordedLocalProfile } from './local-stack.ts';

export interface ConfigProblem {
  /** Dotted YAML path, e.g. `clusters.prod.nodes[1].management_url`; `(root)` for the document. */
  path: string;
  message: string;
  line?: number | undefined;
  column?: number | undefined;
}

export class ConfigError extends WarrenError {
  readonly problems: readonly ConfigProblem[];
  readonly source: string;

  constructor(source: string, unsorted: readonly ConfigProblem[]) {
    // In file order, as an editor shows them; problems without a position (missing root keys) first.
    const problems = [...unsorted].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    super('CONFIG_INVALID', `${source}: ${problems.length} problem(s)\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    this.problems = problems;
    this.source = source;
  }
}

export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line === undefined ? '' : ` (line ${problem.line}, column ${problem.column ?? 1})`;
  return `${problem.path}${where}: ${problem.message}`;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
}

/** Loads and validates a config file; throws ConfigError listing every problem. */
export function loadConfigFile(file: string, options: LoadOptions = {}): WarrenConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new WarrenError('CONFIG_UNREADABLE', `cannot read config ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  return parseConfigText(text, file, options);
}

/** Validates YAML text as warren.yml; relative paths inside resolve against the file's directory. */
export function parseConfigText(text: string, source: string, options: LoadOptions = {}): WarrenConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0]);
        return { path: '(yaml)', message: error.message.split('\n')[0] ?? error.message, line: pos.line, column: pos.col };
      }),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = warrenConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(source, parsed.error.issues.flatMap((issue) => issueToProblems(issue, doc, lineCounter)));
  }
  return buildConfig(parsed.data, source, dirname(resolve(source)), options.env ?? process.env, (path) => locate(doc, lineCounter, path));
}

/** The configuration used when no file is given: the local stack from `npm run stack`. */
/** The CLI settings that reach the local stack's nodes, for the profile it runs (3.10 or 4.0 in a chroot). */
function localCliSettings(cli: LocalBrokerCli): NonNullable<WarrenConfigInput['clusters'][string]['cli']> {
  return {
    bin_dir: cli.binDir,
    erlang_home: cli.erlangHome,
    ...(cli.commandPrefix.length > 0 ? { command_prefix: [...cli.commandPrefix] } : {}),
    ...(Object.keys(cli.env).length > 0 ? { env: { ...cli.env } } : {}),
  };
}

export function localStackConfig(stackDir: string, options: LoadOptions = {}): WarrenConfig {
  const input: WarrenConfigInput = {
    default_cluster: LOCAL_CLUSTER_NAME,
    clusters: {
      [LOCAL_CLUSTER_NAME]: {
        management: { username: LOCAL_USER.username, password: LOCAL_USER.password },
        amqp: { username: LOCAL_USER.username, password: LOCAL_USER.password, load_balancer_url: `amqp://${LOCAL_HOST}:${LOCAL_PORTS.haproxyAmqp}` },
        cli: localCliSettings(localBrokerCli(stackDir, recordedLocalProfile(stackDir))),
        nodes: LOCAL_NODES.map((node) => ({
          name: node.name,
          management_url: `http://${LOCAL_HOST}:${node.managementPort}`,
          amqp_url: `amqp://${LOCAL_HOST}:${node.amqpPort}`,
          prometheus_url: `http://${LOCAL_HOST}:${node.prometheusPort}`,
        })),
      },
    },
    // The remediator's state lives with the stack's; Alertmanager's token is used once `stack up` made it.
    remediation: {
      state_file: `${stackDir}/remediator/state.db`,
      alertmanager: { url: `http://${LOCAL_HOST}:${LOCAL_PORTS.alertmanager}` },
      ...(existsSync(localRemediatorTokenFile(stackDir)) ? { auth: { bearer_token_file: localRemediatorTokenFile(stackDir) } } : {}),
    },
  };
  const source = 'built-in local stack defaults';
  return buildConfig(warrenConfigSchema.parse(input), source, process.cwd(), options.env ?? process.env, () => ({}));
}

type Locator = (path: readonly PropertyKey[]) => { line?: number; column?: number };
/** Resolves a secret whose YAML keys are `<last key of yamlPath>`, `..._env` and `..._file`. */
type SecretResolver = (ref: SecretReference, yamlPath: PropertyKey[]) => Secret;

function issueToProblems(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return { path: formatPath(path), message: 'unknown key', ...locate(doc, lineCounter, path, true) };
    });
  }
  const missing = issue.code === 'invalid_type' && issue.message.includes('received undefined');
  const message = missing ? `required (${issue.expected})` : issue.message;
  return [{ path: formatPath(issue.path), message, ...locate(doc, lineCounter, issue.path) }];
}

/** Line and column of the deepest existing node on `path` (a missing key points at its parent). */
function locate(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[], atKey = false): { line?: number; column?: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth) as unknown[];
    const node = atKey && depth === path.length ? findKeyNode(doc, prefix) : doc.getIn(prefix, true);
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}

function findKeyNode(doc: Document, path: unknown[]): unknown {
  const parent = doc.getIn(path.slice(0, -1), true);
  if (parent && typeof parent === 'object' && 'items' in parent && Array.isArray(parent.items)) {
    const pair = parent.items.find((item: { key?: { value?: unknown } }) => item.key?.value === path.at(-1));
    return pair?.key;
  }
  return undefined;
}

function buildConfig(parsed: WarrenConfigParsed, source: string, baseDir: string, env: NodeJS.ProcessEnv, locateAt: Locator): WarrenConfig {
  const problems: ConfigProblem[] = [];
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const secret = (ref: SecretReference, yamlPath: PropertyKey[]) => {
    const fileRef = ref.file === undefined ? ref : { ...ref, file: path(ref.file) };
    try {
      return resolveSecret(fileRef, env, formatPath(yamlPath));
    } catch (error) {
      if (!isWarrenError(error, 'SECRET_UNAVAILABLE')) throw error;
      const key = `${String(yamlPath.at(-1))}${ref.env !== undefined ? '_env' : '_file'}`;
      problems.push({ path: formatPath([...yamlPath.slice(0, -1), key]), message: error.message.replace(/^[^:]*: /, ''), ...locateAt([...yamlPath.slice(0, -1), key]) });
      return resolveSecret({ value: '' }, env, '');
    }
  };

  const clusters = new Map<string, ClusterConfig>();
  for (const [name, cluster] of Object.entries(parsed.clusters)) {
    clusters.set(name, buildCluster(name, cluster, path, secret));
  }

  const exporter = buildExporterSettings(parsed.exporter, path, secret);
  const remediation = buildRemediatorSettings(parsed.remediation, path, secret);
  if (problems.length > 0) throw new ConfigError(source, problems);

  const [firstCluster] = clusters.keys();
  return {
    source,
    defaultCluster: parsed.default_cluster ?? (firstCluster as string),
    logLevel: parsed.log.level,
    clusters,
    exporter,
    remediation,
  };
}

function buildCluster(
  name: string,
  cluster: ClusterParsed,
  path: (p: string) => string,
  secret: SecretResolver,
): ClusterConfig {
  const { management, amqp } = cluster;
  const tls = management.tls;
  return {
    name,
    management: {
      username: management.username,
      password: secret({ value: management.password, env: management.password_env, file: management.password_file }, ['clusters', name, 'management', 'password']),
      timeoutMs: management.timeout,
      nodeSelection: management.node_selection,
      connectionsPerNode: management.connections_per_node,
      unhealthyAfterFailures: management.unhealthy_after_failures,
      retryUnhealthyAfterMs: management.retry_unhealthy_after,
      tls: tls && {
        caFile: tls.ca_file && path(tls.ca_file),
        certFile: tls.cert_file && path(tls.cert_file),
        keyFile: tls.key_file && path(tls.key_file),
        serverName: tls.server_name,
        insecureSkipVerify: tls.insecure_skip_verify,
      },
    },
    amqp: {
      username: amqp.username,
      password: secret({ value: amqp.password, env: amqp.password_env, file: amqp.password_file }, ['clusters', name, 'amqp', 'password']),
      vhost: amqp.vhost,
      loadBalancerUrl: amqp.load_balancer_url,
      timeoutMs: amqp.timeout,
    },
    nodes: cluster.nodes.map((node) => ({
      name: node.name,
      managementUrl: node.management_url,
      amqpUrl: node.amqp_url,
      prometheusUrl: node.prometheus_url,
      weight: node.weight,
      cli: mergeCli(cluster.cli, node.cli, path),
    })),
  };
}

/** `host:port`, `[::]:port` or `:port` (all interfaces); throws INVALID_ARGUMENT otherwise. */
export function parseListenAddress(text: string): { address: string; port: number } {
  const match = /^(.*):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new WarrenError('INVALID_ARGUMENT', `expected host:port (e.g. 0.0.0.0:9419 or [::]:9419), got ${JSON.stringify(text)}`);
  return { address: (match[1] as string).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', port };
}

/** Anchored like Prometheus relabel regexes: `orders.*` matches whole names only. */
function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 's');
}

function buildExporterSettings(
  exporter: ExporterParsed,
  path: (p: string) => string,
  secret: SecretResolver,
): ExporterSettings {
  const { address, port } = parseListenAddress(exporter.listen_address);
  const { queues, health_score: score } = exporter;
  const auth = exporter.basic_auth;
  return {
    listenAddress: address,
    port,
    tls: exporter.tls && { certFile: path(exporter.tls.cert_file), keyFile: path(exporter.tls.key_file) },
    basicAuth: auth && {
      username: auth.username,
      password: secret({ value: auth.password, env: auth.password_env, file: auth.password_file }, ['exporter', 'basic_auth', 'password']),
    },
    defaultScrapeTimeoutMs: exporter.scrape_timeout,
    queues: {
      includeVhosts: anchored(queues.include_vhosts),
      excludeVhosts: queues.exclude_vhosts === undefined ? undefined : anchored(queues.exclude_vhosts),
      include: anchored(queues.include),
      exclude: queues.exclude === undefined ? undefined : anchored(queues.exclude),
      maxQueues: queues.max_queues,
      details: queues.details,
      metadataMaxAgeMs: queues.metadata_max_age,
      metadataRefetchBelowMs: queues.metadata_refetch_below,
      counters: { enabled: queues.counters.enabled, intervalMs: queues.counters.interval, pageSize: queues.counters.page_size },
    },
    amqpProbe: { enabled: exporter.amqp_probe.enabled, intervalMs: exporter.amqp_probe.interval },
    healthChecks: { intervalMs: exporter.health_checks.interval },
    host: { enabled: exporter.host.enabled, sampleIntervalMs: exporter.host.sample_interval },
    healthScore: {
      weights: score.weights,
      hostWarningUsagePercent: score.host_warning_usage_percent,
      hostCriticalUsagePercent: score.host_critical_usage_percent,
      clusterWarningBelow: score.cluster_warning_below,
      clusterCriticalBelow: score.cluster_critical_below,
    },
  };
}

function buildRemediatorSettings(remediation: RemediationParsed, path: (p: string) => string, secret: SecretResolver): RemediatorSettings {
  const { address, port } = parseListenAddress(remediation.listen_address);
  const { auth, escalation_webhook: webhook, alertmanager } = remediation;
  const at = (...keys: PropertyKey[]): PropertyKey[] => ['remediation', ...keys];
  const bearerToken = (holder: { bearer_token?: string | undefined; bearer_token_env?: string | undefined; bearer_token_file?: string | undefined }, yamlPath: PropertyKey[]) =>
    holder.bearer_token === undefined && holder.bearer_token_env === undefined && holder.bearer_token_file === undefined
      ? undefined
      : secret({ value: holder.bearer_token, env: holder.bearer_token_env, file: holder.bearer_token_file }, yamlPath);
  const basicAuth = (basic: { username: string; password?: string | undefined; password_env?: string | undefined; password_file?: string | undefined } | undefined, yamlPath: PropertyKey[]) =>
    basic && { username: basic.username, password: secret({ value: basic.password, env: basic.password_env, file: basic.password_file }, [...yamlPath, 'password']) };

  const rules = remediation.rules.map((rule) => buildRule(rule, remediation, 'config'));
  if (remediation.default_rules) {
    // The shipped rules are YAML-shaped input: they take the same schema and builder as configured ones.
    rules.push(...DEFAULT_RULE_INPUTS.map((input) => buildRule(remediationRuleSchema.parse(input), remediation, 'default')));
  }
  return {
    listenAddress: address,
    port,
    tls: remediation.tls && { certFile: path(remediation.tls.cert_file), keyFile: path(remediation.tls.key_file) },
    auth: {
      bearerToken: auth && bearerToken(auth, at('auth', 'bearer_token')),
      basicAuth: basicAuth(auth?.basic_auth, at('auth', 'basic_auth')),
    },
    mode: remediation.mode,
    // `:memory:` is SQLite's in-memory database, not a file name.
    stateFile: remediation.state_file === ':memory:' ? ':memory:' : path(remediation.state_file),
    maxBodyBytes: remediation.max_body_size,
    acknowledgeAfter: remediation.acknowledge_after,
    executeTimeoutMs: remediation.execute_timeout,
    verifyTimeoutMs: remediation.verify_timeout,
    verifyIntervalMs: remediation.verify_interval,
    cooldownMs: remediation.cooldown,
    breaker: { maxAttempts: remediation.breaker.max_attempts, windowMs: remediation.breaker.window, openForMs: remediation.breaker.open_for },
    dedupRetentionMs: remediation.dedup_retention,
    auditRetentionMs: remediation.audit_retention,
    approvalTimeoutMs: remediation.approval_timeout,
    escalationWebhook: webhook && { url: webhook.url, bearerToken: bearerToken(webhook, at('escalation_webhook', 'bearer_token')), timeoutMs: webhook.timeout },
    alertmanager: alertmanager && {
      url: alertmanager.url,
      checkSilences: alertmanager.check_silences,
      timeoutMs: alertmanager.timeout,
      basicAuth: basicAuth(alertmanager.basic_auth, at('alertmanager', 'basic_auth')),
    },
    maintenanceWindows: remediation.maintenance_windows.map((window): MaintenanceWindow => {
      if (window.from !== undefined && window.to !== undefined) return { name: window.name, kind: 'absolute', fromMs: window.from, toMs: window.to };
      return {
        name: window.name,
        kind: 'weekly',
        weekdays: window.weekdays === undefined ? [0, 1, 2, 3, 4, 5, 6] : [...new Set(window.weekdays.map((day) => WEEKDAYS.indexOf(day)))].sort((a, b) => a - b),
        startMinute: window.start as number,
        endMinute: window.end as number,
        timezone: window.timezone ?? 'UTC',
      };
    }),
    rules,
  };
}

/** A rule with every setting it leaves out taken from the section, and its effective mode. */
function buildRule(rule: RemediationRuleParsed, section: RemediationParsed, origin: RemediationRule['origin']): RemediationRule {
  return {
    name: rule.name,
    matchers: rule.matchers,
    status: rule.status,
    chain: rule.strategies.map((step) => ({
      strategy: step.strategy,
      params: step.params,
      executeTimeoutMs: step.execute_timeout ?? section.execute_timeout,
      verifyTimeoutMs: step.verify_timeout ?? section.verify_timeout,
    })),
    continue: rule.continue,
    mode: mostCautiousMode(section.mode, rule.mode ?? section.mode),
    ownMode: rule.mode,
    cooldownMs: rule.cooldown ?? section.cooldown,
    breaker: {
      maxAttempts: rule.breaker?.max_attempts ?? section.breaker.max_attempts,
      windowMs: rule.breaker?.window ?? section.breaker.window,
      openForMs: rule.breaker?.open_for ?? section.breaker.open_for,
    },
    origin,
  };
}

/**
 * Node-level CLI settings override the cluster's, key by key; `commands` and `env` entry by entry,
 * `command_prefix` as a whole (a node's `[]` turns the cluster's prefix off).
 */
function mergeCli(clusterCli: CliParsed | undefined, nodeCli: CliParsed | undefined, path: (p: string) => string): NodeCliConfig {
  const binDir = nodeCli?.bin_dir ?? clusterCli?.bin_dir;
  const erlangHome = nodeCli?.erlang_home ?? clusterCli?.erlang_home;
  return {
    binDir: binDir === undefined ? DEFAULT_CLI_BIN_DIR : path(binDir),
    erlangHome: erlangHome === undefined ? undefined : path(erlangHome),
    timeoutMs: nodeCli?.timeout ?? clusterCli?.timeout ?? DEFAULT_CLI_TIMEOUT_MS,
    commands: { ...clusterCli?.commands, ...nodeCli?.commands },
    env: { ...clusterCli?.env, ...nodeCli?.env },
    commandPrefix: nodeCli?.command_prefix ?? clusterCli?.command_prefix ?? [],
  };
}

/** The cluster a request names, or the default one. */
export function selectCluster(config: WarrenConfig, name?: string): ClusterConfig {
  const clusterName = name ?? config.defaultCluster;
  const cluster = config.clusters.get(clusterName);
  if (!cluster) {
    throw new WarrenError('UNKNOWN_CLUSTER', `unknown cluster ${JSON.stringify(clusterName)} (configured: ${[...config.clusters.keys()].join(', ')})`);
  }
  return cluster;
}
