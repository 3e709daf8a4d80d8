// Reads per-queue statistics from a node's rabbitmq_prometheus plugin (`/metrics/detailed`). The
// plugin reports only the queues whose leader the node hosts, so a cluster-wide view reads every
// node. Measured on 10,000 queues: `queue_coarse_metrics` costs ~0.03 s per node where
// `GET /api/queues` costs 6-13 s, which is why the exporter takes queue depth from here.
import { Pool } from 'undici';
import type { NodeConfig } from '../config/types.ts';
import { WarrenError } from '../errors.ts';

/** Plugin families the exporter reads, and what each gives per queue. */
export const QUEUE_FAMILIES = {
  /** messages, messages_ready, messages_unacked */
  coarse: 'queue_coarse_metrics',
  /** consumers only */
  consumers: 'queue_consumer_count',
  /** consumers, utilisation, bytes, process memory, head message timestamp (heavier: ~0.25 s per node at 10k queues) */
  details: 'queue_metrics',
} as const;

/** Per-queue values keyed by metric name without the `rabbitmq_detailed_queue_` prefix. */
export type QueueStatValues = Map<string, number>;

/** Queue statistics of one node, keyed by `queueKey(vhost, name)`. */
export type NodeQueueStats = Map<string, QueueStatValues>;

export function queueKey(vhost: string, name: string): string {
  return `${vhost}\u0000${name}`;
}

const PREFIX = 'rabbitmq_detailed_queue_';

export class PrometheusPluginClient {
  readonly node: string;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #timeoutMs: number;

  constructor(node: NodeConfig, timeoutMs: number, tls: Record<string, unknown> = {}) {
    if (!node.prometheusUrl) throw new WarrenError('INVALID_ARGUMENT', `node ${node.name} has no prometheus_url`);
    const url = new URL(node.prometheusUrl);
    this.node = node.name;
    this.#pool = new Pool(url.origin, { connections: 2, connect: { timeout: timeoutMs, ...tls } });
    this.#path = `${url.pathname.replace(/\/+$/, '')}/metrics/detailed`;
    this.#timeoutMs = timeoutMs;
  }

  /** Per-queue statistics from the given families, for the queues led by this node. */
  async queueStats(families: readonly string[], signal?: AbortSignal): Promise<NodeQueueStats> {
    const query = families.map((family) => `family=${encodeURIComponent(family)}`).join('&');
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const response = await this.#pool.request({
      path: `${this.#path}?${query}`,
      method: 'GET',
      headers: { accept: 'text/plain' },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) {
      throw new WarrenError('MANAGEMENT_API_ERROR', `GET ${this.#path} on ${this.node}: HTTP ${response.statusCode}`);
    }
    return parseDetailedQueueMetrics(text);
  }

  /** Closes every connection; requests still in flight are aborted, not awaited. */
  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}

/**
 * Parses `rabbitmq_detailed_queue_<metric>{vhost="..",queue=".."} <value>` lines. Other lines
 * (comments, build info, other families) are skipped.
 *
 * Plugins released before October 2023 (rabbitmq-server#9648) write label values unescaped, so a
 * queue named `a"b` appears as `queue="a"b"`. For those versions, read from this response's
 * rabbitmq_build_info, the two labels are split by position instead of by quotes; later versions
 * escape properly (and 4.1+ adds labels to queue_info), so they are tokenised.
 */
export function parseDetailedQueueMetrics(text: string): NodeQueueStats {
  const stats: NodeQueueStats = new Map();
  const readLabels = labelsEscaped(buildVersion(text)) ? readEscapedLabels : readRawLabels;
  // Each queue appears once per metric; its label text is parsed once and then looked up.
  const bySegment = new Map<string, QueueStatValues>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (text.startsWith(PREFIX, start)) parseLine(text, start, end, stats, readLabels, bySegment);
    start = end + 1;
  }
  return stats;
}

/** vhost and queue of a sample line, and the index of the closing brace; undefined if malformed. */
type LabelReader = (text: string, brace: number, end: number) => { vhost: string; queue: string; close: number } | undefined;

const BUILD_VERSION = /^rabbitmq_build_info\{[^\n]*?rabbitmq_version="([^"]*)"/;

/** The plugin's version from its build_info line, wherever the family order puts it. */
function buildVersion(text: string): string | undefined {
  const marker = 'rabbitmq_build_info{';
  const start = text.startsWith(marker) ? 0 : text.indexOf(`\n${marker}`) + 1;
  if (start === 0 && !text.startsWith(marker)) return undefined;
  const end = text.indexOf('\n', start);
  return BUILD_VERSION.exec(text.slice(start, end === -1 ? text.length : end))?.[1];
}

/** Whether this plugin version escapes label values (fixed in 3.11.24, 3.12.7 and 3.13.0). */
export function labelsEscaped(version: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return true; // unknown: assume a current release
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (major !== 3) return major > 3;
  if (minor === 11) return patch >= 24;
  if (minor === 12) return patch >= 7;
  return minor > 12;
}

function parseLine(text: string, start: number, end: number, stats: NodeQueueStats, readLabels: LabelReader, bySegment: Map<string, QueueStatValues>): void {
  const brace = text.indexOf('{', start);
  if (brace === -1 || brace > end) return;
  // The value follows the last `}` of the line (label values cannot hold a `}` followed by a number).
  const closing = text.lastIndexOf('}', end);
  if (closing < brace) return;
  let from = closing + 1;
  while (from < end && text.charCodeAt(from) === SPACE) from++;
  let to = from;
  while (to < end && text.charCodeAt(to) !== SPACE && text.charCodeAt(to) !== CR) to++;
  const value = parseSampleValue(text.slice(from, to));
  if (value === undefined) return;
  const segment = text.slice(brace, closing + 1);
  let values = bySegment.get(segment);
  if (!values) {
    const labels = readLabels(text, brace, end);
    if (!labels) return;
    const key = queueKey(labels.vhost, labels.queue);
    values = stats.get(key);
    if (!values) {
      values = new Map();
      stats.set(key, values);
    }
    bySegment.set(segment, values);
  }
  values.set(text.slice(start + PREFIX.length, brace), value);
}

function parseSampleValue(token: string): number | undefined {
  if (token === '+Inf') return Infinity;
  if (token === '-Inf') return -Infinity;
  if (token === '' || token === 'NaN') return undefined;
  const value = Number(token);
  return Number.isNaN(value) ? undefined : value;
}

const readEscapedLabels: LabelReader = (text, brace, end) => {
  let vhost: string | undefined;
  let queue: string | undefined;
  let i = brace + 1;
  while (i < end && text[i] !== '}') {
    const eq = text.indexOf('="', i);
    if (eq === -1 || eq > end) return undefined;
    const label = text.slice(i, eq);
    const [value, next] = readQuoted(text, eq + 2, end);
    if (next === -1) return undefined;
    if (label === 'vhost') vhost = value;
    else if (label === 'queue') queue = value;
    i = text[next] === ',' ? next + 1 : next;
  }
  return vhost === undefined || queue === undefined ? undefined : { vhost, queue, close: i };
};

/** Unescaped `{vhost="V",queue="Q"}`: V runs to the first `",queue="`, Q to the last `"}`. */
const readRawLabels: LabelReader = (text, brace, end) => {
  const close = text.lastIndexOf('"}', end);
  const separator = text.indexOf('",queue="', brace);
  if (!text.startsWith('{vhost="', brace) || close <= brace || separator === -1 || separator > close) return undefined;
  return { vhost: text.slice(brace + 8, separator), queue: text.slice(separator + 9, close), close: close + 1 };
};

/** Reads a label value starting after its opening quote; returns it and the index after the closing quote. */
function readQuoted(text: string, from: number, end: number): [string, number] {
  // Fast path: scan to the closing quote; only a backslash on the way needs unescaping.
  for (let i = from; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) return [text.slice(from, i), i + 1];
    if (code === BACKSLASH) return readEscaped(text, from, end);
  }
  return ['', -1];
}

function readEscaped(text: string, from: number, end: number): [string, number] {
  let value = '';
  for (let i = from; i < end; i++) {
    const ch = text[i];
    if (ch === '\\') {
      const escaped = text[++i];
      value += escaped === 'n' ? '\n' : (escaped ?? '');
    } else if (ch === '"') {
      return [value, i + 1];
    } else {
      value += ch;
    }
  }
  return ['', -1];
}

const QUOTE = 34;
const BACKSLASH = 92;
const SPACE = 32;
const CR = 13;
