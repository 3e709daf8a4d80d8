// Reads per-queue statistics from a node's rabbitmq_prometheus plugin (`/metrics/detailed`). The
// plugin reports only the queues whose leader the node hosts, so a cluster-wide view reads every
// node. Measured on 10,000 queues: `queue_coarse_metrics` costs ~0.03 s per node where
// `GET /api/queues` costs 6-13 s, which is why the exporter takes queue depth from here.
import type { NodeConfig } from '../config/types.ts';
import { WarrenError } from '../errors.ts';
import { HttpOrigin, discard, type TlsClientOptions } from '../http/client.ts';

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
  readonly #origin: HttpOrigin;
  readonly #path: string;
  readonly #timeoutMs: number;

  constructor(node: NodeConfig, timeoutMs: number, tls: TlsClientOptions = {}) {
    if (!node.prometheusUrl) throw new WarrenError('INVALID_ARGUMENT', `node ${node.name} has no prometheus_url`);
    const url = new URL(node.prometheusUrl);
    this.node = node.name;
    this.#origin = new HttpOrigin(url.origin, { connections: 2, connectTimeoutMs: timeoutMs, tls });
    this.#path = `${url.pathname.replace(/\/+$/, '')}/metrics/detailed`;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Per-queue statistics from the given families, for the queues led by this node. The answer
   * (~4.5 MiB per node at 10,000 queues) is parsed as it arrives rather than held whole.
   */
  async queueStats(families: readonly string[], signal?: AbortSignal): Promise<NodeQueueStats> {
    const query = families.map((family) => `family=${encodeURIComponent(family)}`).join('&');
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const response = await this.#origin.request({
      path: `${this.#path}?${query}`,
      headers: { accept: 'text/plain' },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    if (response.status !== 200) {
      await discard(response);
      throw new WarrenError('MANAGEMENT_API_ERROR', `GET ${this.#path} on ${this.node}: HTTP ${response.status}`);
    }
    response.body.setEncoding('utf8');
    const parser = new DetailedQueueMetricsParser();
    for await (const chunk of response.body) parser.push(chunk as string);
    return parser.finish();
  }

  /** Closes every connection; requests still in flight are aborted, not awaited. */
  async close(): Promise<void> {
    this.#origin.close();
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
  const parser = new DetailedQueueMetricsParser();
  parser.push(text);
  return parser.finish();
}

/**
 * parseDetailedQueueMetrics over a text that arrives in pieces: whole lines are parsed as they
 * come, a partial one is carried to the next piece. Since 3.10 writes rabbitmq_build_info after
 * the queue lines, which label reader applies is known only at the end: until then each queue's
 * values are kept under its label text (`{vhost="..",queue=".."}`), and the labels are read once
 * per queue in finish().
 */
export class DetailedQueueMetricsParser {
  readonly #bySegment = new Map<string, QueueStatValues>();
  /** Metric names as flat strings of their own, so that no value map keeps a piece of the answer alive. */
  readonly #metricNames = new Map<string, string>();
  #version: string | undefined;
  #partial = '';

  push(piece: string): void {
    let start = 0;
    if (this.#partial !== '') {
      // Only the carried line is joined with the piece's first one: joining whole pieces would copy each.
      const end = piece.indexOf('\n');
      if (end === -1) {
        this.#partial += piece;
        return;
      }
      const line = this.#partial + piece.slice(0, end);
      this.#partial = '';
      this.#line(line, 0, line.length);
      start = end + 1;
    }
    for (;;) {
      const end = piece.indexOf('\n', start);
      if (end === -1) break;
      this.#line(piece, start, end);
      start = end + 1;
    }
    if (start < piece.length) this.#partial = ownCopy(piece.slice(start));
  }

  finish(): NodeQueueStats {
    if (this.#partial !== '') this.#line(this.#partial, 0, this.#partial.length);
    this.#partial = '';
    const readLabels = labelsEscaped(this.#version) ? readEscapedLabels : readRawLabels;
    const stats: NodeQueueStats = new Map();
    for (const [segment, values] of this.#bySegment) {
      const labels = readLabels(segment, 0, segment.length);
      if (!labels) continue;
      const key = queueKey(labels.vhost, labels.queue);
      const existing = stats.get(key);
      if (!existing) stats.set(key, values);
      else for (const [metric, value] of values) existing.set(metric, value);
    }
    this.#bySegment.clear();
    return stats;
  }

  #line(text: string, start: number, end: number): void {
    if (text.startsWith(PREFIX, start)) this.#sample(text, start, end);
    else if (this.#version === undefined && text.startsWith(BUILD_INFO, start)) this.#version = BUILD_VERSION.exec(text.slice(start, end))?.[1];
  }

  #sample(text: string, start: number, end: number): void {
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
    let values = this.#bySegment.get(segment);
    if (!values) {
      values = new Map();
      this.#bySegment.set(ownCopy(segment), values);
    }
    const sliced = text.slice(start + PREFIX.length, brace);
    let metric = this.#metricNames.get(sliced);
    if (metric === undefined) {
      metric = ownCopy(sliced);
      this.#metricNames.set(metric, metric);
    }
    values.set(metric, value);
  }
}

/**
 * A copy of `text` that shares no memory with the string it was cut from. V8 represents a slice of
 * 13+ characters as a view into its parent, so a map key sliced from a 64 KiB piece of the answer
 * would keep that whole piece alive.
 */
function ownCopy(text: string): string {
  return text.length < 13 ? text : (JSON.parse(JSON.stringify(text)) as string);
}

/** vhost and queue of a sample line, and the index of the closing brace; undefined if malformed. */
type LabelReader = (text: string, brace: number, end: number) => { vhost: string; queue: string; close: number } | undefined;

const BUILD_INFO = 'rabbitmq_build_info{';
const BUILD_VERSION = /^rabbitmq_build_info\{[^\n]*?rabbitmq_version="([^"]*)"/;

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
