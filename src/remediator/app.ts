// The remediator's composition root and HTTP routes:
//   POST /api/v1/alerts                  Alertmanager webhook (v4): 200 once persisted, 4xx malformed/unauthorised, 5xx only when state could not be written
//   GET  /api/v1/actions[?filters]       the audit trail; GET /api/v1/actions/{id} one action with every step
//   POST /api/v1/actions/{id}/approve    run an action planned in approve mode; .../reject cancels it
//   POST /api/v1/pause, /api/v1/resume   hold or release new actions; GET /api/v1/status
//   GET  /metrics, /-/healthy, /-/ready
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterConfig, WarrenConfig } from '../config/types.ts';
import { WarrenError, describeError } from '../errors.ts';
import { basicAuthAccepts, secretsEqual } from '../http/basic-auth.ts';
import { send, sendJson } from '../http/respond.ts';
import type { Logger } from '../logging.ts';
import { processSnapshot, writeProcessMetrics } from '../metrics/process.ts';
import { MetricRegistry, TEXT_CONTENT_TYPE } from '../metrics/registry.ts';
import type { ClusterAccess, RemediationEngine } from './engine.ts';
import { createEngineRuntime } from './engine-runtime.ts';
import { inlineBackend, separateBackend, type EngineClient, type RemediatorBackend, type RemediatorWorkerData } from './engine-host.ts';
import { isRfc3339, normaliseTime } from './alert-payload.ts';
import { requiresCredentials, type RemediatorSettings } from './settings.ts';
import { ACTION_STATES, type ActionFilter, type ActionState, type RemediationStore } from './store.ts';
import type { Strategy } from './strategies/strategy.ts';
import type { StrategyName } from './strategies/catalogue.ts';

export interface RemediatorDeps {
  config: WarrenConfig;
  logger: Logger;
  /** Defaults to `config.remediation`. */
  settings?: RemediatorSettings;
  /**
   * Run the engine in a child process, which loads the configuration from this source, with these
   * overrides (`warren remediator`); the inbox is written in this thread either way. Without it the
   * engine runs in this thread too, and the dependencies below can be injected (tests).
   */
  separateEngine?: RemediatorWorkerData;
  /** Defaults to a store on `settings.stateFile`. */
  store?: RemediationStore;
  clusterAccess?: (cluster: ClusterConfig) => ClusterAccess;
  strategies?: Readonly<Record<StrategyName, Strategy>>;
  now?: () => number;
}

export interface RemediatorApp {
  handle: (request: IncomingMessage, response: ServerResponse) => void;
  engine: EngineClient;
  /** Resolves with the reason if the inbox cannot be flushed or the engine process stops on its own: the process should exit and be restarted. */
  failed: Promise<Error>;
  /** The engine and its store, when they run in this thread (no `separateEngine`). */
  local: { engine: RemediationEngine; store: RemediationStore } | undefined;
  /** The engine's process id, when it runs in a process of its own (`separateEngine`). */
  enginePid: number | undefined;
  /** Reports interrupted actions and starts routing and acting; rejects when the engine could not start. */
  start: () => Promise<void>;
  close: (graceMs?: number) => Promise<void>;
}

export function createRemediatorApp(deps: RemediatorDeps): RemediatorApp {
  const { config, logger } = deps;
  const settings = deps.settings ?? config.remediation;
  const hasCredentials = settings.auth.bearerToken !== undefined || settings.auth.basicAuth !== undefined;
  if (!hasCredentials && requiresCredentials(settings)) {
    throw new WarrenError(
      'REMEDIATOR_UNSAFE_CONFIG',
      `remediation.mode is ${settings.mode}: configure remediation.auth (bearer_token_* or basic_auth) so that only Alertmanager can trigger actions, or use mode dry_run`,
    );
  }
  let backend: RemediatorBackend;
  let local: RemediatorApp['local'];
  let enginePid: number | undefined;
  if (deps.separateEngine) {
    if (deps.store || deps.clusterAccess || deps.strategies || deps.now) {
      throw new WarrenError('INVALID_ARGUMENT', 'an engine in its own process builds its own store, clients and strategies; inject them only into an engine in this thread');
    }
    const separate = separateBackend(deps.separateEngine, settings, logger);
    backend = separate;
    enginePid = separate.enginePid;
  } else {
    const runtime = createEngineRuntime({ config, settings, logger, store: deps.store, clusterAccess: deps.clusterAccess, strategies: deps.strategies, now: deps.now });
    backend = inlineBackend(runtime, deps.now);
    local = { engine: runtime.engine, store: runtime.store };
  }
  const { engine } = backend;
  /** Webhook answers by HTTP status, counted here where they are answered. */
  const webhookRequests = new Map<string, number>();
  const countWebhook = (status: number) => webhookRequests.set(String(status), (webhookRequests.get(String(status)) ?? 0) + 1);

  /** Who is calling, or undefined when the credentials are wrong. */
  function principal(request: IncomingMessage): string | undefined {
    if (!hasCredentials) return 'anonymous';
    const header = request.headers.authorization ?? '';
    const { bearerToken, basicAuth } = settings.auth;
    if (bearerToken && /^Bearer\s/i.test(header)) {
      return secretsEqual(header.replace(/^Bearer\s+/i, '').trim(), bearerToken.reveal()) ? 'bearer-token' : undefined;
    }
    if (basicAuth && basicAuthAccepts(request, basicAuth)) return basicAuth.username;
    return undefined;
  }

  async function receiveAlerts(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const answer = (status: number, body: unknown) => {
      countWebhook(status);
      sendJson(response, status, body);
    };
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/(.+\+)?json\b/i.test(type)) return answer(415, { error: `content-type must be application/json, got ${type || 'none'}` });
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && !/^\s*identity\s*$/i.test(encoding)) {
      return answer(415, { error: `content-encoding ${encoding} is not supported; send the JSON uncompressed, as Alertmanager does` });
    }
    const body = await readBody(request, settings.maxBodyBytes);
    if (body === 'too_large') {
      response.setHeader('connection', 'close');
      return answer(413, { error: `body larger than remediation.max_body_size (${settings.maxBodyBytes} bytes)` });
    }
    // A byte that is not UTF-8 would otherwise become U+FFFD and be stored changed. Checked apart
    // from decoding: toString gives V8 a one-byte string for an ASCII body, where TextDecoder gave a
    // two-byte one, twice the memory for every step after it (measured: the benchmark's p99 doubled).
    if (!isUtf8(body)) return answer(400, { error: 'body is not valid UTF-8' });
    const hasBom = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
    const text = body.toString('utf8', hasBom ? 3 : 0);
    let outcome;
    try {
      outcome = await backend.accept(text);
    } catch (error) {
      // The only case Alertmanager should retry: nothing was recorded.
      logger.error({ err: describeError(error) }, 'could not persist a webhook delivery; answering 500 so that Alertmanager retries');
      return answer(500, { error: 'could not persist the alerts; retry' });
    }
    if (!outcome.ok) return answer(400, outcome.problems ? { error: outcome.error, problems: outcome.problems } : { error: outcome.error });
    // Persisted; deduplication and routing follow at once (GET /api/v1/actions?fingerprint=...).
    answer(200, { status: 'accepted', delivery: outcome.delivery, alerts: outcome.alerts });
  }

  async function listActions(url: URL, response: ServerResponse): Promise<void> {
    const query = url.searchParams;
    const problems: string[] = [];
    const state = query.get('state') ?? undefined;
    if (state !== undefined && !ACTION_STATES.includes(state as ActionState)) problems.push(`state must be one of ${ACTION_STATES.join(', ')}`);
    const number = (name: string, min: number, max: number): number | undefined => {
      const text = query.get(name);
      if (text === null) return undefined;
      const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isSafeInteger(value) || value < min || value > max) problems.push(`${name} must be a decimal integer in [${min}, ${max}]`);
      return value;
    };
    const instant = (name: string): string | undefined => {
      const text = query.get(name);
      if (text === null) return undefined;
      if (!isRfc3339(text)) {
        problems.push(`${name} must be an RFC 3339 timestamp, such as 2026-11-22T06:00:00Z`);
        return undefined;
      }
      return normaliseTime(text);
    };
    const filter: ActionFilter = {
      state: state as ActionState | undefined,
      rule: query.get('rule') ?? undefined,
      strategy: query.get('strategy') ?? undefined,
      alertname: query.get('alertname') ?? undefined,
      // Stored lowercased, as Alertmanager writes them.
      fingerprint: query.get('fingerprint')?.toLowerCase() ?? undefined,
      target: query.get('target') ?? undefined,
      since: instant('since'),
      until: instant('until'),
      beforeId: number('before_id', 1, Number.MAX_SAFE_INTEGER),
      limit: number('limit', 1, 1000),
    };
    const known = new Set(['state', 'rule', 'strategy', 'alertname', 'fingerprint', 'target', 'since', 'until', 'before_id', 'limit']);
    for (const key of new Set(query.keys())) {
      if (!known.has(key)) problems.push(`unknown filter ${key} (use ${[...known].join(', ')})`);
      else if (query.getAll(key).length > 1) problems.push(`filter ${key} is given more than once`);
    }
    if (problems.length > 0) return sendJson(response, 400, { error: 'bad filter', problems });
    const actions = await engine.listActions(filter);
    sendJson(response, 200, { actions, next_before_id: actions.length === (filter.limit ?? 100) ? actions.at(-1)?.id : undefined });
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://remediator');
    const path = url.pathname;
    const method = request.method ?? 'GET';
    if (path === '/-/healthy' || path === '/-/ready') return send(response, 200, 'text/plain; charset=utf-8', 'OK\n');
    if (path === '/metrics') {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(response, 'GET, HEAD');
      return send(response, 200, TEXT_CONTENT_TYPE, (await engine.metrics([...webhookRequests])) + ownProcessMetrics());
    }
    if (!path.startsWith('/api/v1/')) return sendJson(response, 404, { error: `no route ${path}` });
    // Browsers send Origin on cross-site requests; Alertmanager and curl do not. Refusing it keeps a
    // page from riding an operator's cached basic-auth credentials (approve, pause, ...).
    if (method !== 'GET' && method !== 'HEAD' && (request.headers.origin !== undefined || request.headers['sec-fetch-site'] === 'cross-site')) {
      if (path === '/api/v1/alerts') countWebhook(403);
      return sendJson(response, 403, { error: 'cross-origin requests are refused' });
    }
    const who = principal(request);
    if (who === undefined) {
      if (path === '/api/v1/alerts') countWebhook(401);
      response.setHeader('www-authenticate', settings.auth.basicAuth ? 'Basic realm="warren remediator"' : 'Bearer realm="warren remediator"');
      return sendJson(response, 401, { error: 'unauthorised' });
    }
    if (path === '/api/v1/alerts') {
      if (method !== 'POST') {
        countWebhook(405);
        return methodNotAllowed(response, 'POST');
      }
      return receiveAlerts(request, response);
    }
    if (path === '/api/v1/actions') {
      if (method !== 'GET') return methodNotAllowed(response, 'GET');
      return listActions(url, response);
    }
    const actionRoute = /^\/api\/v1\/actions\/(\d{1,15})(?:\/(approve|reject))?$/.exec(path);
    if (actionRoute) {
      const id = Number(actionRoute[1]);
      const verb = actionRoute[2];
      if (verb === undefined) {
        if (method !== 'GET') return methodNotAllowed(response, 'GET');
        const action = await engine.getAction(id);
        return action ? sendJson(response, 200, action) : sendJson(response, 404, { error: `no action ${id}` });
      }
      if (method !== 'POST') return methodNotAllowed(response, 'POST');
      const outcome = await (verb === 'approve' ? engine.approve(id, who) : engine.reject(id, who));
      return outcome.ok ? sendJson(response, 200, outcome.action) : sendJson(response, outcome.status, { error: outcome.message });
    }
    if (path === '/api/v1/pause' || path === '/api/v1/resume') {
      if (method !== 'POST') return methodNotAllowed(response, 'POST');
      return sendJson(response, 200, { paused: await engine.setPaused(path === '/api/v1/pause', who) });
    }
    if (path === '/api/v1/status') {
      if (method !== 'GET') return methodNotAllowed(response, 'GET');
      return sendJson(response, 200, await engine.status());
    }
    return sendJson(response, 404, { error: `no route ${path}` });
  }

  return {
    engine,
    failed: backend.failed,
    local,
    enginePid,
    start: () => engine.start(),
    handle(request, response) {
      route(request, response).catch((error: unknown) => {
        if (request.destroyed && (error as NodeJS.ErrnoException).code === 'ECONNRESET') {
          // The client hung up mid-request (it retries, or gave up): nothing was accepted, nothing failed here.
          logger.info({ url: request.url }, 'remediator request abandoned by the client before its body was read');
          return;
        }
        logger.error({ err: describeError(error), url: request.url }, 'remediator request failed');
        if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
        else response.destroy();
      });
    },
    close: (graceMs = 10_000) => backend.close(graceMs),
  };
}

/**
 * The request body, or `too_large` as soon as it passes the limit; the rest is discarded and the
 * connection closed after the answer, so a huge body costs neither memory nor a long read.
 */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () => {
      request.removeListener('data', onData);
      request.resume();
      resolve('too_large');
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return tooLarge();
      chunks.push(chunk);
    };
    if (Number.isFinite(declared) && declared > limit) return tooLarge();
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

/** process_* of the process that serves HTTP (the engine's own are warren_remediation_engine_process_*). */
function ownProcessMetrics(): string {
  const registry = new MetricRegistry();
  writeProcessMetrics(registry, processSnapshot());
  return registry.render();
}

function methodNotAllowed(response: ServerResponse, allow: string): void {
  response.setHeader('allow', allow);
  sendJson(response, 405, { error: `method not allowed; use ${allow}` });
}
