import { describe, expect, it } from 'vitest';
import { MetricRegistry, escapeLabelValue, formatValue } from '../../../src/metrics/registry.ts';
import { parseExposition } from '../../support/exposition.ts';

describe('MetricRegistry text format', () => {
  it('writes HELP and TYPE before the samples of each family, in registration order', () => {
    const registry = new MetricRegistry();
    registry.gauge('a_bytes', 'Bytes of a.', ['node']).set(['n1'], 5);
    registry.counter('b_total', 'Things that happened.').set([], 2);
    expect(registry.render()).toBe(
      '# HELP a_bytes Bytes of a.\n# TYPE a_bytes gauge\na_bytes{node="n1"} 5\n' + '# HELP b_total Things that happened.\n# TYPE b_total counter\nb_total 2\n',
    );
  });

  it('escapes backslash and newline in help, and backslash, quote and newline in label values', () => {
    const registry = new MetricRegistry();
    registry.gauge('q', 'Help with \\ and\nnewline "quoted".', ['queue']).set(['back\\slash "q"\nnext'], 1);
    expect(registry.render()).toBe('# HELP q Help with \\\\ and\\nnewline "quoted".\n# TYPE q gauge\nq{queue="back\\\\slash \\"q\\"\\nnext"} 1\n');
  });

  it('round-trips awkward label values through a text format reader', () => {
    const values = ['plain', 'ünïcode ✓', 'q "quoted"', 'back\\slash', 'line\nbreak', 'trailing\\', '', '{brace},comma=eq'];
    const registry = new MetricRegistry();
    const family = registry.gauge('m', 'Round trip.', ['v']);
    values.forEach((value, i) => family.set([value], i));
    expect(parseExposition(registry.render()).map((sample) => sample.labels['v'])).toEqual(values);
  });

  it('leaves values without special characters as they are', () => {
    expect(escapeLabelValue('fleet.classic.000001')).toBe('fleet.classic.000001');
    expect(escapeLabelValue('ünïcode ✓')).toBe('ünïcode ✓');
  });

  it('writes NaN and infinities the Prometheus way', () => {
    expect([NaN, Infinity, -Infinity, 0, -0.5, 1e21, 12345678901234].map(formatValue)).toEqual(['NaN', '+Inf', '-Inf', '0', '-0.5', '1e+21', '12345678901234']);
    const registry = new MetricRegistry();
    const family = registry.gauge('g', 'Special values.', ['k']);
    family.set(['nan'], NaN);
    family.set(['inf'], Infinity);
    expect(registry.render()).toContain('g{k="nan"} NaN\ng{k="inf"} +Inf\n');
  });

  it('leaves out families without samples', () => {
    const registry = new MetricRegistry();
    registry.gauge('empty', 'No samples.');
    registry.gauge('full', 'One sample.').set([], 1);
    expect(registry.render()).toBe('# HELP full One sample.\n# TYPE full gauge\nfull 1\n');
    expect(registry.families().map((family) => family.definition.name)).toEqual(['empty', 'full']);
    expect(new MetricRegistry().render()).toBe('');
  });
});

describe('MetricRegistry registration', () => {
  it('requires counters to end in _total', () => {
    expect(() => new MetricRegistry().counter('requests', 'No suffix.')).toThrow(/must end in _total/);
  });

  it('returns the same family when a name is registered again alike', () => {
    const registry = new MetricRegistry();
    const first = registry.gauge('g', 'Help.', ['a', 'b']);
    expect(registry.gauge('g', 'Other help.', ['a', 'b'])).toBe(first);
    expect(registry.get('g')).toBe(first);
  });

  it('rejects a name registered again with other labels or another type', () => {
    const registry = new MetricRegistry();
    registry.gauge('g_total', 'Help.', ['a']);
    expect(() => registry.gauge('g_total', 'Help.', ['a', 'b'])).toThrow(/registered twice/);
    expect(() => registry.gauge('g_total', 'Help.', ['b'])).toThrow(/registered twice/);
    expect(() => registry.counter('g_total', 'Help.', ['a'])).toThrow(/registered twice/);
  });

  it('rejects invalid metric and label names', () => {
    const registry = new MetricRegistry();
    expect(() => registry.gauge('1abc', 'Help.')).toThrow(/invalid metric name/);
    expect(() => registry.gauge('a-b', 'Help.')).toThrow(/invalid metric name/);
    expect(() => registry.gauge('ok', 'Help.', ['bad-label'])).toThrow(/invalid label name/);
    expect(() => registry.gauge('ok2', 'Help.', ['__reserved'])).toThrow(/invalid label name/);
  });

  it('rejects a sample with the wrong number of label values', () => {
    const family = new MetricRegistry().gauge('g', 'Help.', ['a', 'b']);
    expect(() => family.set(['only one'], 1)).toThrow(/expected 2 label values, got 1/);
    expect(() => family.set(['1', '2', '3'], 1)).toThrow(/expected 2 label values, got 3/);
    expect(family.size).toBe(0);
  });
});

describe('label block reuse', () => {
  const LABELS = ['cluster', 'queue'] as const;
  const queues = ['a', 'q "quoted"', 'back\\slash', 'a'];

  /** Three families over the same queues, the label value arrays shared or copied per family. */
  function render(shareArrays: boolean): string {
    const registry = new MetricRegistry();
    const families = ['x', 'y', 'z'].map((name) => registry.gauge(`m_${name}`, `Family ${name}.`, LABELS));
    // A family with other label names must not pick up blocks cached for LABELS.
    const other = registry.gauge('m_other', 'Other labels.', ['vhost', 'name']);
    const shared = queues.map((queue) => ['prod', queue]);
    queues.forEach((queue, i) => {
      for (const family of families) family.set(shareArrays ? (shared[i] as string[]) : ['prod', queue], i);
      other.set(shareArrays ? (shared[i] as string[]) : ['prod', queue], i);
    });
    return registry.render();
  }

  it('renders the same text whether label arrays are shared or fresh', () => {
    expect(render(true)).toBe(render(false));
    expect(render(true)).toContain('m_other{vhost="prod",name="q \\"quoted\\""} 1\n');
  });
});

describe('label blocks kept across registries', () => {
  it('renders the same text with a lasting cache, and never reuses a block under other label names', () => {
    const blocks = new WeakMap();
    const values = ['local', 'a"b'];
    const render = (names: string[]) => {
      const registry = new MetricRegistry({ labelBlocks: blocks });
      registry.gauge('x', 'h', names).set(values, 1);
      return registry.render();
    };
    const first = render(['cluster', 'queue']);
    expect(render(['cluster', 'queue'])).toBe(first);
    expect(first).toContain('x{cluster="local",queue="a\\"b"} 1');
    expect(render(['cluster', 'vhost'])).toContain('x{cluster="local",vhost="a\\"b"} 1');
  });
});

describe('rendering in chunks', () => {
  it('gives the same text chunk by chunk, in chunks of at least 64 KiB but the last', () => {
    const registry = new MetricRegistry();
    const depth = registry.gauge('queue_depth', 'Depth.', ['vhost', 'queue']);
    const consumers = registry.gauge('queue_consumers', 'Consumers.', ['vhost', 'queue']);
    for (let i = 0; i < 5_000; i++) {
      const labels = ['/', `queue-ü-${i}`];
      depth.set(labels, i);
      consumers.set(labels, i % 3);
    }
    const chunks = [...registry.chunks()];
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(64 * 1024);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text).toBe(registry.render());
    expect(text.split('\n').filter((line) => line.startsWith('queue_depth{'))).toHaveLength(5_000);
    expect(text).toContain('queue_consumers{vhost="/",queue="queue-ü-4999"} 1\n');
  });
});
