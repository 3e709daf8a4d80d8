import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DetailedQueueMetricsParser, labelsEscaped, parseDetailedQueueMetrics, queueKey } from '../../../src/rabbitmq/prometheus-plugin.ts';

// Recorded from RabbitMQ 3.10.8 (`/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count`),
// trimmed to two ordinary queues and three created with awkward names in vhost "/". This version writes
// label values unescaped (`queue="q "quoted""`, `queue="back\slash"`): rabbitmq-server#9648, fixed by #9656.
const RECORDED = readFileSync(new URL('../../fixtures/plugin/detailed-queue-coarse.txt', import.meta.url), 'utf8');

// The same answer as a plugin with that fix writes it (backslash and quote escaped, per the text
// format), with a build_info to match, so a version-aware parser reads it as escaped.
const ESCAPED = RECORDED.replaceAll('queue="back\\slash"', 'queue="back\\\\slash"')
  .replaceAll('queue="q "quoted""', 'queue="q \\"quoted\\""')
  .replaceAll('version="3.10.8"', 'version="3.13.7"');

const coarse = (messagesReady: number, reductions: number) =>
  new Map([
    ['messages_ready', messagesReady],
    ['messages_unacked', 0],
    ['messages', messagesReady],
    ['process_reductions_total', reductions],
    ['consumers', 0],
  ]);

const PLAIN_QUEUES = new Map([
  [queueKey('fleet-vh2', 'fleet.classic.003382'), coarse(0, 7763)],
  [queueKey('fleet-vh2', 'fleet.classic.001250'), coarse(0, 7763)],
  [queueKey('/', 'ünïcode ✓'), coarse(1, 7986)],
]);

const EVERY_QUEUE = new Map([...PLAIN_QUEUES, [queueKey('/', 'back\\slash'), coarse(0, 7394)], [queueKey('/', 'q "quoted"'), coarse(2, 8387)]]);

describe('parseDetailedQueueMetrics', () => {
  it('reads every queue of an escaped answer, names unescaped, values exact', () => {
    expect(parseDetailedQueueMetrics(ESCAPED)).toEqual(EVERY_QUEUE);
  });

  it('reads plain and unicode names from the recorded 3.10 answer', () => {
    const stats = parseDetailedQueueMetrics(RECORDED);
    for (const [key, values] of PLAIN_QUEUES) expect(stats.get(key), key).toEqual(values);
  });

  // 3.10 writes `queue="q "quoted""` and `queue="back\slash"` unescaped (rabbitmq-server#9648).
  it('reads quotes and backslashes that pre-#9656 plugins leave unescaped', () => {
    expect(parseDetailedQueueMetrics(RECORDED)).toEqual(EVERY_QUEUE);
  });

  it('ignores other families, including queue-prefixed lines without vhost and queue labels', () => {
    const text = [
      '# TYPE rabbitmq_detailed_queue_messages gauge',
      'rabbitmq_detailed_queue_messages{vhost="/",queue="a"} 3',
      'rabbitmq_detailed_queue_index_read_ops_total 12',
      'rabbitmq_detailed_queues_declared_total{vhost="/"} 4',
      'rabbitmq_detailed_channel_messages_acked_total{channel="<0.1.0>",vhost="/",queue="a"} 9',
      'rabbitmq_build_info{rabbitmq_version="3.10.8"} 1',
      'telemetry_scrape_size_bytes_sum{registry="detailed",content_type="text/plain; version=0.0.4"} 118127725',
    ].join('\n');
    expect(parseDetailedQueueMetrics(text)).toEqual(new Map([[queueKey('/', 'a'), new Map([['messages', 3]])]]));
  });

  it('finds nothing in the recording outside the queue lines', () => {
    const stats = parseDetailedQueueMetrics(RECORDED);
    const metrics = new Set([...stats.values()].flatMap((values) => [...values.keys()]));
    expect(metrics).toEqual(new Set(['messages_ready', 'messages_unacked', 'messages', 'process_reductions_total', 'consumers']));
  });

  it('skips malformed lines without throwing and reads the lines around them', () => {
    const text = [
      'rabbitmq_detailed_queue_messages{vhost="/",queue="before"} 1',
      'rabbitmq_detailed_queue_messages{vhost="/",queue="unterminated} 2',
      'rabbitmq_detailed_queue_messages{vhost="/"} 3',
      'rabbitmq_detailed_queue_messages{queue="no vhost"} 4',
      'rabbitmq_detailed_queue_messages{vhost="/",queue="nan"} not-a-number',
      'rabbitmq_detailed_queue_messages{vhost="/",queue="no brace" 5',
      'rabbitmq_detailed_queue_messages',
      '',
      'rabbitmq_detailed_queue_messages{vhost="/",queue="after"} 6',
      'rabbitmq_detailed_queue_messages{vhost="/",queue="truncated',
    ].join('\n');
    expect(() => parseDetailedQueueMetrics(text)).not.toThrow();
    expect([...parseDetailedQueueMetrics(text).keys()]).toEqual([queueKey('/', 'before'), queueKey('/', 'after')]);
  });

  it('reads an escaped newline and a trailing timestamp', () => {
    const stats = parseDetailedQueueMetrics('rabbitmq_detailed_queue_messages{vhost="/",queue="two\\nlines"} 7 1700000000000\n');
    expect(stats.get(queueKey('/', 'two\nlines'))?.get('messages')).toBe(7);
  });

  // A line cut off after its labels must not read as depth 0.
  it('skips a line whose value is missing', () => {
    expect(parseDetailedQueueMetrics('rabbitmq_detailed_queue_messages{vhost="/",queue="cut"}\n').size).toBe(0);
  });
});

describe('which plugin versions escape label values (rabbitmq-server#9648)', () => {
  it.each([
    ['3.10.8', false],
    ['3.11.23', false],
    ['3.11.24', true],
    ['3.12.6', false],
    ['3.12.7', true],
    ['3.13.0', true],
    ['4.1.2', true],
    [undefined, true],
  ])('%s escapes: %s', (version, escaped) => {
    expect(labelsEscaped(version)).toBe(escaped);
  });
});

describe('finding the plugin version in a large response', () => {
  it('reads build_info after thousands of queue lines, as 3.10 orders its families', () => {
    const padding = Array.from({ length: 200 }, (_, i) => `rabbitmq_detailed_queue_messages{vhost="/",queue="filler-${i}"} 0`).join('\n');
    const text = `${padding}\nrabbitmq_detailed_queue_messages{vhost="/",queue="back\\slash"} 4\nrabbitmq_build_info{rabbitmq_version="3.10.8",erlang_version="25.2.3"} 1\n`;
    expect(text.length).toBeGreaterThan(8192);
    expect(parseDetailedQueueMetrics(text).get(queueKey('/', 'back\\slash'))?.get('messages')).toBe(4);
  });
});

describe('parsing the answer as it arrives', () => {
  const inPieces = (text: string, size: number) => {
    const parser = new DetailedQueueMetricsParser();
    for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size));
    return parser.finish();
  };

  // Pieces end anywhere: inside a name, a label value, a number, between \r and \n.
  it.each([1, 2, 7, 64, 1000])('reads the same from pieces of %i characters as from the whole text', (size) => {
    expect(inPieces(RECORDED, size)).toEqual(EVERY_QUEUE);
    expect(inPieces(ESCAPED, size)).toEqual(EVERY_QUEUE);
    expect(inPieces(RECORDED.replaceAll('\n', '\r\n'), size)).toEqual(EVERY_QUEUE);
  });

  it('reads a last line without a newline, and build_info from a later piece', () => {
    const parser = new DetailedQueueMetricsParser();
    parser.push('rabbitmq_detailed_queue_messages{vhost="/",queue="a"b"} 3\nrabbitmq_build_info{rabbitmq_vers');
    parser.push('ion="3.10.8"} 1\nrabbitmq_detailed_queue_consumers{vhost="/",queue="a"b"} 2');
    expect(parser.finish()).toEqual(new Map([[queueKey('/', 'a"b'), new Map([['messages', 3], ['consumers', 2]])]]));
  });
});
