// The management HTTP API client: keep-alive connections per node (src/http/client.ts), a selection strategy choosing which node
// a request tries first, failover to the next node on network errors, timeouts and 5xx, per-node
// health, and zod-typed responses.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ClusterConfig, NodeConfig } from '../../config/types.ts';
import { WarrenError, describeError } from '../../errors.ts';
import { formatPath } from '../../config/yaml-path.ts';
import { basicAuthorization } from '../../http/basic-auth.ts';
import { HttpConnectTimeoutError, HttpOrigin, readText, type TlsClientOptions } from '../../http/client.ts';
import { capabilitiesOf, parseBrokerVersion, type BrokerVersion, type Capabilities } from '../capabilities.ts';
import { assertNodeName, assertResourceName } from '../names.ts';
import { NodeHealth, type NodeHealthSnapshot } from './node-health.ts';
import { createNodeSelector, type NodeSelector } from './node-selection.ts';
import {
  apiErrorBodySchema,
  definitionsSchema,
  healthCheckSchema,
  nodeSchema,
  nodesSchema,
  overviewSchema,
  queuePageSchema,
  queueSchema,
  queuesSchema,
  vhostsSchema,
  whoamiSchema,
  type Definitions,
  type Overview,
  type Queue,
  type QueuePage,
  type RabbitNode,
  type Vhost,
} from './schemas.ts';

type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** An answer from RabbitMQ with a 4xx or 5xx status. */
export class ManagementApiError extends WarrenError {
  readonly status: number;
  /** RabbitMQ's `error` field, e.g. "Object Not Found". */
  readonly apiError: string | undefined;
  /** RabbitMQ's `reason` field, e.g. "Not Found". */
  readonly reason: string | undefined;
  readonly node: string;
  readonly method: string;
  readonly path: string;

  constructor(init: { status: number; apiError?: string | undefined; reason?: string | undefined; node: string; method: string; path: string }) {
    const detail = [init.apiError, init.reason].filter(Boolean).join(': ');
    super('MANAGEMENT_API_ERROR', `${init.method} ${init.path} on ${init.node}: HTTP ${init.status}${detail ? ` (${detail})` : ''}`);
    this.status = init.status;
    this.apiError = init.apiError;
    this.reason = init.reason;
    this.node = init.node;
    this.method = init.method;
    this.path = init.path;
  }
}

/** Every node was tried and none answered usefully. */
export class ManagementUnavailableError extends WarrenError {
  readonly attempts: readonly { node: string; error: string }[];

  constructor(method: string, path: string, attempts: readonly { node: string; error: string }[], cause?: unknown) {
    const tried = attempts.map((a) => `${a.node}: ${a.error}`).join('; ');
    super('MANAGEMENT_UNAVAILABLE', `${method} ${path}: no node answered (${tried || 'no attempt made'})`, { cause });
    this.attempts = attempts;
  }
}

export interface RequestOptions<T> {
  method?: HttpMethod;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  schema: z.ZodType<T>;
  /** Aborts the whole request, all attempts included (e.g. the scrape deadline). */
  signal?: AbortSignal | undefined;
  /** Per-attempt timeout for this request, instead of the configured `management.timeout`. */
  timeoutMs?: number | undefined;
  /** Send to this node only, no failover (node-local endpoints such as health checks). */
  node?: string | undefined;
  /**
   * Statuses that are answers rather than failures (a health check's 503 means "check failed"):
   * returned as ManagementApiError without failover and without marking the node unhealthy.
   */
  answerStatuses?: readonly number[];
  /** Extra headers, e.g. X-Reason when closing connections. */
  headers?: Record<string, string>;
}

export interface ManagementResponse<T> {
  data: T;
  node: string;
  latencyMs: number;
}

export interface ClusterIdentity {
  version: BrokerVersion;
  capabilities: Capabilities;
  clusterName: string | undefined;
  product: string | undefined;
  erlangVersion: string | undefined;
}

export interface HealthCheckResult {
  ok: boolean;
  status: string;
  reason: string | undefined;
  node: string;
}

export interface ManagementClientOptions {
  now?: () => number;
  random?: () => number;
}

interface NodeEndpoint {
  config: NodeConfig;
  health: NodeHealth;
  origin: HttpOrigin;
  /** Path prefix when the API sits below a path, e.g. https://host/rabbitmq/api. */
  basePath: string;
}

/** Why an attempt failed, and whether the next node may be tried. */
interface AttemptFailure {
  error: unknown;
  failover: boolean;
}

export class ManagementClient {
  readonly cluster: string;
  readonly #endpoints: NodeEndpoint[];
  readonly #selector: NodeSelector;
  readonly #timeoutMs: number;
  readonly #authorization: () => string;
  readonly #now: () => number;

  constructor(cluster: ClusterConfig, options: ManagementClientOptions = {}) {
    this.cluster = cluster.name;
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = cluster.management.timeoutMs;
    const { username, password } = cluster.management;
    // Built per request from the Secret so the plain value is never stored in a field.
    this.#authorization = () => basicAuthorization({ username, password });
    this.#selector = createNodeSelector(cluster.management.nodeSelection, { random: options.random ?? Math.random });
    const tlsOptions = tlsConnectOptions(cluster);
    this.#endpoints = cluster.nodes.map((node) => {
      const url = new URL(node.managementUrl);
      return {
        config: node,
        health: new NodeHealth(node.name, node.weight, cluster.management),
        origin: new HttpOrigin(url.origin, { connections: cluster.management.connectionsPerNode, connectTimeoutMs: cluster.management.timeoutMs, tls: tlsOptions }),
        basePath: url.pathname.replace(/\/+$/, ''),
      };
    });
  }

  nodeHealth(): NodeHealthSnapshot[] {
    return this.#endpoints.map((endpoint) => endpoint.health.snapshot());
  }

  /** Closes every connection; requests still in flight (a hung node's) are aborted, not awaited. */
  async close(): Promise<void> {
    for (const endpoint of this.#endpoints) endpoint.origin.close();
  }

  /** One API call with node selection and failover; the response is validated with `schema`. */
  async request<T>(path: string, options: RequestOptions<T>): Promise<ManagementResponse<T>> {
    const method = options.method ?? 'GET';
    const fullPath = withQuery(path, options.query);
    const candidates = options.node === undefined ? this.#selector.order(this.#endpoints.map((e) => e.health), this.#now()) : [this.#endpoint(options.node).health];
    const attempts: { node: string; error: string }[] = [];
    let lastError: unknown;
    for (const health of candidates) {
      options.signal?.throwIfAborted();
      const endpoint = this.#endpoint(health.node);
      const started = performance.now();
      try {
        const data = await this.#attempt(endpoint, method, fullPath, options);
        const latencyMs = performance.now() - started;
        health.recordSuccess(latencyMs, this.#now());
        return { data, node: health.node, latencyMs };
      } catch (error) {
        if (error instanceof ManagementApiError && options.answerStatuses?.includes(error.status)) {
          health.recordSuccess(performance.now() - started, this.#now());
          throw error;
        }
        const failure = classify(error, method, options.signal);
        if (!failure.failover) throw failure.error;
        health.recordFailure(describeError(failure.error), this.#now());
        attempts.push({ node: health.node, error: describeError(failure.error) });
        lastError = failure.error;
      }
    }
    if (options.node !== undefined && lastError !== undefined) throw lastError;
    throw new ManagementUnavailableError(method, fullPath, attempts, lastError);
  }

  async #attempt<T>(endpoint: NodeEndpoint, method: HttpMethod, path: string, options: RequestOptions<T>): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    // Action endpoints (e.g. queue sync) offer no JSON representation and answer 406 to a strict
    // `accept: application/json`; JSON stays preferred wherever it exists.
    const headers: Record<string, string> = { authorization: this.#authorization(), accept: 'application/json, */*;q=0.5', ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    try {
      const response = await endpoint.origin.request({ path: endpoint.basePath + path, method, headers, body, signal });
      const text = await readText(response);
      if (response.status >= 400) {
        const parsed = apiErrorBodySchema.safeParse(safeJson(text));
        throw new ManagementApiError({
          status: response.status,
          apiError: parsed.success ? parsed.data.error : undefined,
          reason: parsed.success ? parsed.data.reason : text.slice(0, 200) || undefined,
          node: endpoint.config.name,
          method,
          path,
        });
      }
      // 201/204 carry no body (PUT, DELETE, POST actions).
      return parseResponse(text === '' ? undefined : safeJson(text), options.schema, endpoint.config.name, method, path);
    } catch (error) {
      if (timeout.aborted && !options.signal?.aborted) {
        throw new WarrenError('MANAGEMENT_TIMEOUT', `${method} ${path} on ${endpoint.config.name}: no answer within ${timeoutMs} ms`, { cause: error });
      }
      throw error;
    }
  }

  #endpoint(node: string): NodeEndpoint {
    const endpoint = this.#endpoints.find((e) => e.config.name === node);
    if (!endpoint) throw new WarrenError('UNKNOWN_NODE', `node ${node} is not configured in cluster ${this.cluster}`);
    return endpoint;
  }

  // ---- typed helpers ------------------------------------------------------------------------

  async overview(signal?: AbortSignal): Promise<ManagementResponse<Overview>> {
    return this.request('/api/overview', { schema: overviewSchema, signal });
  }

  async nodes(signal?: AbortSignal): Promise<ManagementResponse<RabbitNode[]>> {
    return this.request('/api/nodes', { schema: nodesSchema, signal });
  }

  /**
   * The node's entry for itself, asked of its own management_url only (no failover). During a
   * partition each side's /api/nodes lists the other side as not running and shows stale
   * partitions for it; only a node's answer about itself is first-hand. A node benched for failing
   * requests is not asked before its retry time, as in node selection: a hung node would otherwise
   * hold every caller for the whole timeout.
   */
  async ownNodeView(node: string, options: { signal?: AbortSignal | undefined; columns?: readonly string[] | undefined } = {}): Promise<ManagementResponse<RabbitNode>> {
    assertNodeName(node);
    const path = `/api/nodes/${encodeURIComponent(node)}`;
    const health = this.#endpoint(node).health;
    if (!health.eligible(this.#now())) {
      throw new ManagementUnavailableError('GET', path, [{ node, error: `not asked while benched (last error: ${health.snapshot().lastError ?? 'unknown'})` }]);
    }
    const columns = (options.columns ?? NODE_COLUMNS).join(',');
    return this.request(path, { schema: nodeSchema, node, signal: options.signal, query: { columns } });
  }

  async vhosts(signal?: AbortSignal): Promise<ManagementResponse<Vhost[]>> {
    return this.request('/api/vhosts', { schema: vhostsSchema, signal });
  }

  /** All queues, or one vhost's. `query` passes e.g. disable_stats, enable_queue_totals, columns. */
  async queues(options: { vhost?: string; query?: RequestOptions<unknown>['query']; signal?: AbortSignal } = {}): Promise<ManagementResponse<Queue[]>> {
    const path = options.vhost === undefined ? '/api/queues' : `/api/queues/${encodeURIComponent(assertResourceName(options.vhost, 'vhost'))}`;
    return this.request(path, { schema: queuesSchema, query: options.query, signal: options.signal });
  }

  /** One page of queues (`page` starts at 1); bounded memory per response at any queue count. */
  async queuePage(page: number, pageSize: number, options: { query?: RequestOptions<unknown>['query']; signal?: AbortSignal } = {}): Promise<ManagementResponse<QueuePage>> {
    return this.request('/api/queues', { schema: queuePageSchema, query: { ...options.query, page, page_size: pageSize }, signal: options.signal });
  }

  async queue(vhost: string, name: string, signal?: AbortSignal): Promise<ManagementResponse<Queue>> {
    return this.request(queuePath(vhost, name), { schema: queueSchema, signal });
  }

  /** Starts synchronisation of a classic mirrored queue (3.x only). */
  async syncQueue(vhost: string, name: string, signal?: AbortSignal): Promise<ManagementResponse<unknown>> {
    return this.request(`${queuePath(vhost, name)}/actions`, { method: 'POST', body: { action: 'sync' }, schema: z.unknown(), signal });
  }

  async definitions(signal?: AbortSignal): Promise<ManagementResponse<Definitions>> {
    return this.request('/api/definitions', { schema: definitionsSchema, signal });
  }

  /** Imports definitions; RabbitMQ merges them into what exists. Large imports take minutes. */
  async importDefinitions(definitions: Definitions, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ManagementResponse<unknown>> {
    return this.request('/api/definitions', { method: 'POST', body: definitions, schema: z.unknown(), signal: options.signal, timeoutMs: options.timeoutMs ?? 600_000 });
  }

  async whoami(signal?: AbortSignal): Promise<ManagementResponse<z.infer<typeof whoamiSchema>>> {
    return this.request('/api/whoami', { schema: whoamiSchema, signal });
  }

  /**
   * Runs a health check endpoint (e.g. `alarms`, `node-is-quorum-critical`, `virtual-hosts`).
   * A 503 is the check failing, not the API failing, so it is returned rather than thrown. Pass
   * `node` for checks that are node-local.
   */
  async healthCheck(check: string, options: { node?: string; signal?: AbortSignal } = {}): Promise<HealthCheckResult> {
    if (!/^[a-z0-9-]+(\/[A-Za-z0-9_.@-]+)*$/.test(check)) throw new WarrenError('INVALID_ARGUMENT', `invalid health check name ${JSON.stringify(check)}`);
    if (options.node !== undefined) assertNodeName(options.node);
    try {
      const { data, node } = await this.request(`/api/health/checks/${check}`, { schema: healthCheckSchema, node: options.node, signal: options.signal, answerStatuses: [503] });
      return { ok: data.status === 'ok', status: data.status, reason: data.reason, node };
    } catch (error) {
      if (error instanceof ManagementApiError && error.status === 503) {
        return { ok: false, status: 'failed', reason: error.reason ?? error.apiError, node: error.node };
      }
      throw error;
    }
  }

  /** Version, capabilities and names, from /api/overview. */
  async identify(signal?: AbortSignal): Promise<ClusterIdentity> {
    const { data } = await this.overview(signal);
    const versionText = data.rabbitmq_version ?? data.product_version;
    if (versionText === undefined) {
      throw new WarrenError('MANAGEMENT_RESPONSE_INVALID', 'GET /api/overview: neither rabbitmq_version nor product_version present');
    }
    const version = parseBrokerVersion(versionText);
    return {
      version,
      capabilities: capabilitiesOf(version),
      clusterName: data.cluster_name,
      product: data.product_name,
      erlangVersion: data.erlang_version,
    };
  }
}

/** The fields warren reads of a node: asked for by name, a node's own entry is about 0.5 KB instead of 9. */
export const NODE_COLUMNS: readonly string[] = Object.keys(nodeSchema.shape);

/** A configured node's answer about itself (ownNodeView), or why there is none. */
export interface OwnNodeView {
  node: string;
  view?: RabbitNode | undefined;
  error?: string | undefined;
}

/**
 * The cluster's nodes as they report themselves: /api/nodes from whichever node answers, and
 * concurrently every given node's own entry (one small request each, with the client's timeouts),
 * merged by mergeOwnViews. Rejects only when the list cannot be read; a node that does not answer
 * for itself keeps the list's entry.
 */
export async function nodesFirstHand(api: ManagementClient, nodes: readonly string[], signal?: AbortSignal): Promise<RabbitNode[]> {
  const own = Promise.all(
    nodes.map(async (node): Promise<OwnNodeView> => {
      try {
        return { node, view: (await api.ownNodeView(node, { signal })).data };
      } catch (error) {
        return { node, error: describeError(error) };
      }
    }),
  );
  const listed = (await api.nodes(signal)).data;
  return mergeOwnViews(listed, await own);
}

/**
 * Each node's own answer overrides what the list says of it: its management API runs inside its
 * app, so a node that answered is running, and its partitions and resources are its own. A node
 * without an answer keeps the list's entry (a drained node suspends its HTTP listeners and still
 * runs; a stopped one is listed not running). A node that answered but is missing from the list
 * (the answering node's view of the cluster is partial) is added.
 */
export function mergeOwnViews(listed: readonly RabbitNode[], own: readonly OwnNodeView[]): RabbitNode[] {
  const views = new Map<string, RabbitNode>();
  // An answer about another name is not first-hand (a management_url pointing elsewhere): ignored.
  for (const { node, view } of own) if (view !== undefined && view.name === node) views.set(node, view);
  const merged = listed.map((entry) => {
    const view = views.get(entry.name);
    return view === undefined ? entry : { ...entry, ...view, running: true };
  });
  const listedNames = new Set(listed.map((entry) => entry.name));
  for (const [name, view] of views) if (!listedNames.has(name)) merged.push({ ...view, running: true });
  return merged;
}

function queuePath(vhost: string, name: string): string {
  return `/api/queues/${encodeURIComponent(assertResourceName(vhost, 'vhost'))}/${encodeURIComponent(assertResourceName(name, 'queue name'))}`;
}

function withQuery(path: string, query: RequestOptions<unknown>['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseResponse<T>(raw: unknown, schema: z.ZodType<T>, node: string, method: string, path: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue ? `${formatPath(issue.path)}: ${issue.message}` : 'unexpected shape';
  throw new WarrenError('MANAGEMENT_RESPONSE_INVALID', `${method} ${path} on ${node}: response not understood at ${where}`);
}

/**
 * Decides whether a failed attempt may move on to the next node. Connection failures are always
 * safe to retry elsewhere (the request never reached RabbitMQ). Timeouts and 5xx are retried for
 * idempotent methods only: a POST that timed out may already have been applied.
 */
function classify(error: unknown, method: HttpMethod, callerSignal: AbortSignal | undefined): AttemptFailure {
  if (callerSignal?.aborted) return { error: callerSignal.reason ?? error, failover: false };
  if (error instanceof ManagementApiError) {
    const retryable = error.status === 503 || (error.status >= 500 && method !== 'POST');
    return { error, failover: retryable };
  }
  if (error instanceof WarrenError && error.code === 'MANAGEMENT_RESPONSE_INVALID') return { error, failover: false };
  if (isConnectError(error)) return { error, failover: true };
  return { error, failover: method !== 'POST' };
}

function isConnectError(error: unknown): boolean {
  if (error instanceof HttpConnectTimeoutError) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code);
}

/** TLS options for the cluster's management TLS settings (also used for the plugin port). */
export function tlsConnectOptions(cluster: ClusterConfig): TlsClientOptions {
  const tls = cluster.management.tls;
  if (!tls) return {};
  return {
    ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
    cert: tls.certFile ? readFileSync(tls.certFile) : undefined,
    key: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
    servername: tls.serverName,
    rejectUnauthorized: !tls.insecureSkipVerify,
  };
}
