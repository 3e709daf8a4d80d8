// A per-scrape metric registry that renders the Prometheus text format (0.0.4). One is built fresh
// for every scrape from fetched data, so no series outlives the object it describes. It is written
// for 10,000+ queues: samples are stored as arrays and rendered in one pass, with label escaping
// only where a value needs it.

export type MetricType = 'gauge' | 'counter' | 'histogram' | 'untyped';

export interface MetricDefinition {
  name: string;
  help: string;
  type: MetricType;
  labelNames: readonly string[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NEEDS_ESCAPE = /[\\"\n]/;

export class MetricFamily {
  readonly definition: MetricDefinition;
  readonly #labelValues: string[][] = [];
  readonly #values: number[] = [];

  constructor(definition: MetricDefinition) {
    this.definition = definition;
  }

  /** Adds one sample; label values in the order of `labelNames`. */
  set(labelValues: readonly string[], value: number): void {
    if (labelValues.length !== this.definition.labelNames.length) {
      throw new Error(`${this.definition.name}: expected ${this.definition.labelNames.length} label values, got ${labelValues.length}`);
    }
    this.#labelValues.push(labelValues as string[]);
    this.#values.push(value);
  }

  get size(): number {
    return this.#values.length;
  }

  samples(): { labels: Record<string, string>; value: number }[] {
    return this.#values.map((value, i) => ({
      labels: Object.fromEntries(this.definition.labelNames.map((name, j) => [name, (this.#labelValues[i] as string[])[j] as string])),
      value,
    }));
  }

  /**
   * Appends the family's text to `out`. `blocks` caches rendered `{...}` label blocks by label
   * value array: collectors pass one array per object to all of its families, so a queue's labels
   * are escaped and joined once, not once per family (and, with a lasting cache, not once per scrape).
   */
  render(out: ChunkWriter, blocks: LabelBlockCache): Generator<Buffer, void, undefined> {
    return this.#render(out, blocks);
  }

  *#render(out: ChunkWriter, blocks: LabelBlockCache): Generator<Buffer, void, undefined> {
    const { name, help, type, labelNames } = this.definition;
    out.write(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
    for (let i = 0; i < this.#values.length; i++) {
      const values = this.#labelValues[i] as string[];
      let cached = blocks.get(values);
      if (cached === undefined || !sameNames(cached.names, labelNames)) {
        cached = { names: labelNames, block: labelBlock(labelNames, values) };
        blocks.set(values, cached);
      }
      out.write(`${name}${cached.block} ${formatValue(this.#values[i] as number)}\n`);
      if (out.full) yield out.take();
    }
  }
}

/** A histogram's state for one label set: cumulative counts per upper bound, sum and count. */
export interface HistogramSample {
  buckets: readonly number[];
  sum: number;
  count: number;
}

/**
 * A histogram family, filled from observations kept elsewhere (a fresh registry per scrape), so
 * it takes whole bucket arrays rather than single observations.
 */
export class HistogramFamily {
  readonly definition: MetricDefinition;
  readonly bounds: readonly number[];
  readonly #samples: { labels: readonly string[]; data: HistogramSample }[] = [];

  constructor(definition: MetricDefinition, bounds: readonly number[]) {
    if (definition.labelNames.includes('le')) throw new Error(`${definition.name}: "le" is reserved for histogram buckets`);
    for (let i = 1; i < bounds.length; i++) if ((bounds[i] as number) <= (bounds[i - 1] as number)) throw new Error(`${definition.name}: bucket bounds must increase`);
    this.definition = definition;
    this.bounds = bounds;
  }

  set(labelValues: readonly string[], data: HistogramSample): void {
    if (labelValues.length !== this.definition.labelNames.length) {
      throw new Error(`${this.definition.name}: expected ${this.definition.labelNames.length} label values, got ${labelValues.length}`);
    }
    if (data.buckets.length !== this.bounds.length) throw new Error(`${this.definition.name}: expected ${this.bounds.length} buckets, got ${data.buckets.length}`);
    this.#samples.push({ labels: labelValues, data });
  }

  get size(): number {
    return this.#samples.length;
  }

  render(out: ChunkWriter): void {
    const { name, help, labelNames } = this.definition;
    out.write(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} histogram\n`);
    for (const { labels, data } of this.#samples) {
      const pairs = labelNames.map((label, j) => `${label}="${escapeLabelValue(labels[j] as string)}"`);
      const prefix = pairs.length > 0 ? `${pairs.join(',')},` : '';
      const block = pairs.length > 0 ? `{${pairs.join(',')}}` : '';
      this.bounds.forEach((bound, i) => out.write(`${name}_bucket{${prefix}le="${formatValue(bound)}"} ${formatValue(data.buckets[i] as number)}\n`));
      out.write(`${name}_bucket{${prefix}le="+Inf"} ${formatValue(data.count)}\n`);
      out.write(`${name}_sum${block} ${formatValue(data.sum)}\n${name}_count${block} ${formatValue(data.count)}\n`);
    }
  }
}

export class MetricRegistry {
  readonly #families = new Map<string, MetricFamily | HistogramFamily>();
  readonly #blocks: LabelBlockCache;

  /**
   * `labelBlocks` may outlive the registry: a caller that passes the same label value arrays scrape
   * after scrape (the exporter does, per queue, until its metadata changes) has each `{...}` block
   * built once instead of once per scrape. Without it, blocks are shared within this render only.
   */
  constructor(options: { labelBlocks?: LabelBlockCache } = {}) {
    this.#blocks = options.labelBlocks ?? new WeakMap();
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): MetricFamily {
    return this.#family({ name, help, type: 'gauge', labelNames });
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): MetricFamily {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    return this.#family({ name, help, type: 'counter', labelNames });
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): HistogramFamily {
    if (this.#families.has(name)) throw new Error(`metric ${name} registered twice`);
    this.#validate({ name, help, type: 'histogram', labelNames });
    const family = new HistogramFamily({ name, help, type: 'histogram', labelNames }, bounds);
    this.#families.set(name, family);
    return family;
  }

  /** The family registered under `name`. */
  get(name: string): MetricFamily | undefined {
    const family = this.#families.get(name);
    return family instanceof MetricFamily ? family : undefined;
  }

  families(): MetricFamily[] {
    return [...this.#families.values()].filter((family): family is MetricFamily => family instanceof MetricFamily);
  }

  /** Text exposition; families without samples are left out, like client libraries do. */
  render(): string {
    return Buffer.concat(this.renderChunks()).toString('utf8');
  }

  /** The exposition as UTF-8 chunks of about 64 KiB, all rendered at once (see chunks()). */
  renderChunks(): Buffer[] {
    return [...this.chunks()];
  }

  /**
   * The exposition as UTF-8 chunks of about 64 KiB, each rendered when it is asked for. At 10,000
   * queues the text is ~8 MiB: written to the client as it is rendered, no chunk outlives its write,
   * where a whole rendered body lived long enough to reach the old generation.
   */
  *chunks(): Generator<Buffer, void, undefined> {
    const out = new ChunkWriter();
    const blocks = this.#blocks;
    for (const family of this.#families.values()) {
      if (family.size === 0) continue;
      if (family instanceof MetricFamily) yield* family.render(out, blocks);
      else family.render(out);
      if (out.full) yield out.take();
    }
    if (out.pending) yield out.take();
  }

  #validate(definition: MetricDefinition): void {
    if (!METRIC_NAME.test(definition.name)) throw new Error(`invalid metric name ${definition.name}`);
    for (const label of definition.labelNames) if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new Error(`invalid label name ${label}`);
  }

  #family(definition: MetricDefinition): MetricFamily {
    const existing = this.#families.get(definition.name);
    if (existing) {
      if (!(existing instanceof MetricFamily) || existing.definition.type !== definition.type || existing.definition.labelNames.join() !== definition.labelNames.join()) {
        throw new Error(`metric ${definition.name} registered twice with different type or labels`);
      }
      return existing;
    }
    this.#validate(definition);
    const family = new MetricFamily(definition);
    this.#families.set(definition.name, family);
    return family;
  }
}

const CHUNK_CHARS = 64 * 1024;


class ChunkWriter {
  #pending = '';

  write(text: string): void {
    this.#pending += text;
  }

  /** Whether a chunk's worth is pending. */
  get full(): boolean {
    return this.#pending.length >= CHUNK_CHARS;
  }

  get pending(): boolean {
    return this.#pending !== '';
  }

  take(): Buffer {
    const chunk = Buffer.from(this.#pending, 'utf8');
    this.#pending = '';
    return chunk;
  }
}

/** Rendered `{...}` label blocks by label value array (held weakly: a dropped array frees its block). */
export type LabelBlockCache = WeakMap<readonly string[], { names: readonly string[]; block: string }>;

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function labelBlock(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  // join() gives one flat string; `+=` would keep a rope of pieces alive in the cache.
  const parts: string[] = ['{'];
  for (let j = 0; j < names.length; j++) parts.push(j === 0 ? '' : ',', names[j] as string, '="', escapeLabelValue(values[j] as string), '"');
  parts.push('}');
  return parts.join('');
}

export function escapeLabelValue(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Prometheus' own content type for the text format. */
export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
