import { replicationOf } from '../../../src/exporter/replication.ts';
import { describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../../src/config/types.ts';
import type { ScrapeContext } from '../../../src/exporter/collector.ts';
import {
  alarmsComponent,
  clusterScore,
  clusterStatus,
  healthScoreCollector,
  hostScore,
  hostScoreInputs,
  hostStatus,
  nodesComponent,
  partitionsComponent,
  probeComponent,
  replicationComponent,
  weightedScore,
  type HostScoreInputs,
} from '../../../src/exporter/collectors/health-score.ts';
import type { HostSample } from '../../../src/exporter/host-sampler.ts';
import { MetricRegistry } from '../../../src/metrics/registry.ts';
import type { QueueMetadata } from '../../../src/exporter/queue-metadata.ts';
import type { ScrapeData } from '../../../src/exporter/scrape-data.ts';
import { defaultExporterSettings, type ExporterSettings } from '../../../src/exporter/settings.ts';

const DEFAULT_HEALTH_WEIGHTS = defaultExporterSettings().healthScore.weights;
import type { RabbitNode } from '../../../src/rabbitmq/management/schemas.ts';

const NODES = ['rabbit@r1', 'rabbit@r2', 'rabbit@r3'];

function node(name: string, overrides: Partial<RabbitNode> = {}): RabbitNode {
  return { name, running: true, partitions: [], mem_alarm: false, disk_free_alarm: false, ...overrides };
}

function quorumQueue(name: string, members: string[], online: string[], leader = members[0] ?? ''): QueueMetadata {
  return { key: `/|${name}`, vhost: '/', name, type: 'quorum', policy: '', durable: true, node: leader, state: 'running', members, online };
}

function classicQueue(name: string, overrides: Partial<QueueMetadata> = {}): QueueMetadata {
  return { key: `/|${name}`, vhost: '/', name, type: 'classic', policy: '', durable: true, node: 'rabbit@r1', state: 'running', ...overrides };
}

const idle: HostScoreInputs = { cpuPercent: 0, memoryPercent: 0, diskPercent: 0, load1: 0 };

describe('hostScore', () => {
  it.each([
    ['an idle host', idle, 100],
    ['a saturated host: the formula bottoms out at 16', { cpuPercent: 100, memoryPercent: 100, diskPercent: 100, load1: 10 }, 16],
    ['load alone: 100 - 10 x 3 = 70, weighted 0.2', { ...idle, load1: 3 }, 94],
    ['load above 10 scores 0, not negative', { ...idle, load1: 42 }, 80],
    ['CPU alone: 0.8 x (100 - 0.3 x 50)', { ...idle, cpuPercent: 50 }, 88],
    ['memory alone: 0.8 x (100 - 0.3 x 50)', { ...idle, memoryPercent: 50 }, 88],
    ['disk alone: 0.8 x (100 - 0.2 x 50)', { ...idle, diskPercent: 50 }, 92],
    ['use above 100 % is clamped to 100 %', { ...idle, cpuPercent: 250 }, 76],
    ['negative inputs are clamped to 0', { cpuPercent: -5, memoryPercent: -5, diskPercent: -5, load1: -1 }, 100],
  ])('%s', (_name, inputs, expected) => {
    expect(hostScore(inputs).score).toBeCloseTo(expected, 10);
  });

  it('matches the worked example of docs/health-scores.md', () => {
    const result = hostScore({ cpuPercent: 40, memoryPercent: 70, diskPercent: 55, load1: 2.5 });
    expect(result.score).toBeCloseTo(59.8, 10);
    expect(result.components).toEqual({ cpu: 60, memory: 30, disk: 45, load: 75 });
  });

  it('is 16 + 0.24 cpu + 0.24 memory + 0.16 disk + 0.2 load in terms of the component sub-scores', () => {
    const { score, components: c } = hostScore({ cpuPercent: 13, memoryPercent: 77, diskPercent: 31, load1: 4.2 });
    expect(score).toBeCloseTo(16 + 0.24 * c.cpu! + 0.24 * c.memory! + 0.16 * c.disk! + 0.2 * c.load!, 10);
  });
});

describe('hostStatus', () => {
  const thresholds = { warningPercent: 80, criticalPercent: 90 };
  it.each([
    [79.99, 'healthy'],
    [80, 'warning'],
    [89.99, 'warning'],
    [90, 'critical'],
    [100, 'critical'],
  ] as const)('%s %% use is %s, whichever of CPU, memory or disk it is', (percent, expected) => {
    expect(hostStatus({ ...idle, cpuPercent: percent }, thresholds)).toBe(expected);
    expect(hostStatus({ ...idle, memoryPercent: percent }, thresholds)).toBe(expected);
    expect(hostStatus({ ...idle, diskPercent: percent }, thresholds)).toBe(expected);
  });

  it('ignores load', () => expect(hostStatus({ ...idle, load1: 100 }, thresholds)).toBe('healthy'));
});

describe('hostScoreInputs', () => {
  const sample: HostSample = {
    timestampMs: 0,
    durationMs: 1,
    cpu: { utilisationRatio: 0.4, cores: 4 },
    memory: { totalBytes: 100, availableBytes: 30, usedRatio: 0.7 },
    filesystems: [
      { device: '/dev/sda1', mountpoint: '/', fstype: 'ext4', sizeBytes: 100, usedBytes: 55, availableBytes: 45, usedRatio: 0.55 },
      { device: '/dev/sdb1', mountpoint: '/var/lib/rabbitmq', fstype: 'xfs', sizeBytes: 100, usedBytes: 30, availableBytes: 70, usedRatio: 0.3 },
    ],
    load: { load1: 2.5, load5: 1, load15: 1 },
    failures: [],
    unsupported: [],
  };

  it('takes percentages from the ratios and disk use from the fullest filesystem', () => {
    const inputs = hostScoreInputs(sample)!;
    expect(inputs.cpuPercent).toBeCloseTo(40, 10);
    expect(inputs.memoryPercent).toBeCloseTo(70, 10);
    expect(inputs.diskPercent).toBeCloseTo(55, 10);
    expect(inputs.load1).toBe(2.5);
  });

  it.each(['cpu', 'memory', 'filesystems', 'load'] as const)('gives up without %s', (part) => {
    expect(hostScoreInputs({ ...sample, [part]: undefined })).toBeUndefined();
  });
});

describe('cluster components', () => {
  it.each([
    ['all configured nodes running', [node(NODES[0]!), node(NODES[1]!), node(NODES[2]!)], 100],
    ['one of three stopped', [node(NODES[0]!), node(NODES[1]!), node(NODES[2]!, { running: false })], 200 / 3],
    ['one of three missing from the API', [node(NODES[0]!), node(NODES[1]!)], 200 / 3],
    ['an unconfigured node does not count', [node(NODES[0]!), node('rabbit@stranger')], 100 / 3],
  ])('nodes: %s', (_name, nodes, expected) => {
    expect(nodesComponent(NODES, nodes)).toBeCloseTo(expected, 10);
  });

  it('nodes: without configured nodes, the nodes the API lists are the expected ones', () => {
    expect(nodesComponent([], [node('a@x'), node('b@x', { running: false })])).toBe(50);
  });

  it.each([
    ['no alarm', [node('a@x'), node('b@x'), node('c@x')], 100],
    ['a memory alarm on one of three', [node('a@x', { mem_alarm: true }), node('b@x'), node('c@x')], 200 / 3],
    ['memory and disk alarm on the same node count once', [node('a@x', { mem_alarm: true, disk_free_alarm: true }), node('b@x')], 50],
    ['disk alarms on every node', [node('a@x', { disk_free_alarm: true }), node('b@x', { disk_free_alarm: true })], 0],
    ['a stopped node reports no alarm', [node('a@x', { running: false, mem_alarm: true }), node('b@x')], 100],
  ])('alarms: %s', (_name, nodes, expected) => {
    expect(alarmsComponent(nodes)).toBeCloseTo(expected, 10);
  });

  it('partitions: 100 without partitions, 0 as soon as one node reports one', () => {
    expect(partitionsComponent([node('a@x'), node('b@x')])).toBe(100);
    expect(partitionsComponent([node('a@x', { partitions: ['b@x'] }), node('b@x')])).toBe(0);
  });

  it('probe: share of successful probes; left out without probes', () => {
    expect(probeComponent([{ success: true }, { success: false }, { success: true }, { success: true }])).toBe(75);
    expect(probeComponent([])).toBeUndefined();
    expect(probeComponent(undefined)).toBeUndefined();
  });
});

describe('replication', () => {
  const allRunning = new Set(NODES);
  const r3Down = new Set(NODES.slice(0, 2));

  it.each([
    ['quorum queue with every member online', quorumQueue('q', NODES, NODES), allRunning, 'healthy'],
    ['quorum queue with a member offline', quorumQueue('q', NODES, NODES.slice(0, 2)), allRunning, 'degraded'],
    ['quorum queue whose cached `online` is stale: the member node stopped since', quorumQueue('q', NODES, NODES), r3Down, 'degraded'],
    ['quorum queue without a leader', quorumQueue('q', NODES, NODES, ''), allRunning, 'degraded'],
    ['quorum queue whose leader node stopped', quorumQueue('q', NODES, NODES, 'rabbit@r3'), r3Down, 'degraded'],
    ['stream with every member online', { ...quorumQueue('s', NODES, NODES), type: 'stream' }, allRunning, 'healthy'],
    ['plain classic queue', classicQueue('c'), allRunning, 'not_replicated'],
    [
      'mirrored classic queue (ha-mode all) fully synchronised',
      classicQueue('m', { mirroring: { mode: 'all' }, mirrors: ['rabbit@r2', 'rabbit@r3'], synchronisedMirrors: ['rabbit@r2', 'rabbit@r3'] }),
      allRunning,
      'healthy',
    ],
    [
      'mirrored classic queue (ha-mode all) with one mirror unsynchronised',
      classicQueue('m', { mirroring: { mode: 'all' }, mirrors: ['rabbit@r2', 'rabbit@r3'], synchronisedMirrors: ['rabbit@r2'] }),
      allRunning,
      'degraded',
    ],
    [
      'mirrored classic queue (exactly 2) with its one mirror synchronised',
      classicQueue('m', { mirroring: { mode: 'exactly', count: 2 }, mirrors: ['rabbit@r3'], synchronisedMirrors: ['rabbit@r3'] }),
      allRunning,
      'healthy',
    ],
    [
      'mirrored classic queue whose synchronised mirror stopped since the metadata was cached',
      classicQueue('m', { mirroring: { mode: 'exactly', count: 2 }, mirrors: ['rabbit@r3'], synchronisedMirrors: ['rabbit@r3'] }),
      r3Down,
      'degraded',
    ],
    // Mirrors not reported yet (policy just applied): the policy's expectation still counts.
    ['classic queue under an ha policy whose mirrors are not there yet', classicQueue('m', { mirroring: { mode: 'all' } }), allRunning, 'degraded'],
    [
      'classic queue under ha-mode nodes naming one node: nothing to mirror',
      classicQueue('m', { mirroring: { mode: 'nodes', nodes: ['rabbit@r1'] }, mirrors: [], synchronisedMirrors: [] }),
      allRunning,
      'not_replicated',
    ],
  ] as const)('%s', (_name, queue, running, expected) => {
    const replication = replicationOf(queue, running, NODES);
    expect(replication === undefined ? 'not_replicated' : replication.healthy ? 'healthy' : 'degraded').toBe(expected);
  });

  it('scores the share of healthy replicated queues, ignoring unreplicated ones', () => {
    const queues = [quorumQueue('a', NODES, NODES), quorumQueue('b', NODES, NODES), quorumQueue('c', NODES, ['rabbit@r1']), classicQueue('d')];
    expect(replicationComponent(queues, NODES.map((n) => node(n)))).toBeCloseTo(200 / 3, 10);
  });

  it('is 100 without replicated queues', () => {
    expect(replicationComponent([classicQueue('d')], NODES.map((n) => node(n)))).toBe(100);
    expect(replicationComponent([], [])).toBe(100);
  });
});

describe('weightedScore', () => {
  const equal = { nodes: 1, alarms: 1, partitions: 1, replication: 1, probe: 1 };

  it.each([
    ['all components, default weights', { nodes: 100, alarms: 100, partitions: 100, replication: 100, probe: 100 }, DEFAULT_HEALTH_WEIGHTS, 100],
    ['equal weights: the plain mean', { nodes: 0, alarms: 50, partitions: 100, replication: 50, probe: 100 }, equal, 60],
    ['weights need not sum to 1', { nodes: 100, alarms: 0 }, { ...equal, nodes: 3, alarms: 1 }, 75],
    ['a missing component is left out and the rest renormalised', { nodes: 100, alarms: 0 }, DEFAULT_HEALTH_WEIGHTS, (100 * 0.35) / 0.55],
    ['a component weighing 0 does not count', { nodes: 100, alarms: 0 }, { ...equal, alarms: 0 }, 100],
    ['negative weights count as 0', { nodes: 100, alarms: 0 }, { ...equal, alarms: -1 }, 100],
    ['every present component weighing 0: the plain mean', { nodes: 100, alarms: 0 }, { ...equal, nodes: 0, alarms: 0 }, 50],
    ['component values beyond 0-100 are clamped', { nodes: 150, alarms: -20 }, equal, 50],
    ['no component at all', {}, equal, 0],
  ])('%s', (_name, components, weights, expected) => {
    expect(weightedScore(components, weights)).toBeCloseTo(expected, 6);
  });

  it('rounds away floating-point noise, so a perfect cluster is exactly 100 and 80 stays 80', () => {
    const perfect = { nodes: 100, alarms: 100, partitions: 100, replication: 100, probe: 100 };
    expect(weightedScore(perfect, DEFAULT_HEALTH_WEIGHTS)).toBe(100);
    expect(weightedScore({ nodes: 80, alarms: 80, partitions: 80, replication: 80, probe: 80 }, { nodes: 0.1, alarms: 0.2, partitions: 0.3, replication: 0.3, probe: 0.1 })).toBe(80);
  });
});

describe('clusterScore', () => {
  // The worked example of docs/health-scores.md: rabbit@r3 is down.
  const nodes = [node('rabbit@r1'), node('rabbit@r2'), node('rabbit@r3', { running: false })];
  const queues = [
    ...Array.from({ length: 12 }, (_, i) => quorumQueue(`orders-${i}`, NODES, NODES)), // cached before r3 stopped
    ...Array.from({ length: 8 }, (_, i) => quorumQueue(`audit-${i}`, ['rabbit@r1', 'rabbit@r2'], ['rabbit@r1', 'rabbit@r2'])),
    classicQueue('scratch'),
  ];
  const probes = [{ success: true }, { success: true }, { success: true }, { success: false }];

  it('matches the worked example of docs/health-scores.md', () => {
    const result = clusterScore({ configuredNodes: NODES, nodes, queues, probes }, DEFAULT_HEALTH_WEIGHTS);
    expect(result.components.nodes).toBeCloseTo(66.667, 3);
    expect(result.components).toMatchObject({ alarms: 100, partitions: 100, replication: 40, probe: 75 });
    expect(result.score).toBeCloseTo(73.833, 3);
    expect(clusterStatus(result.score, { warningBelow: 80, criticalBelow: 50 })).toBe('warning');
  });

  it('matches the worked example with the probe disabled (weights renormalised over 0.9)', () => {
    const result = clusterScore({ configuredNodes: NODES, nodes, queues, probes: undefined }, DEFAULT_HEALTH_WEIGHTS);
    expect(result.components.probe).toBeUndefined();
    expect(result.score).toBeCloseTo(73.704, 3);
  });

  it('leaves replication out when the queue metadata could not be read', () => {
    const result = clusterScore({ configuredNodes: NODES, nodes: NODES.map((n) => node(n)), queues: undefined }, DEFAULT_HEALTH_WEIGHTS);
    expect(result.components.replication).toBeUndefined();
    expect(result.score).toBe(100);
  });
});

describe('clusterStatus', () => {
  it.each([
    [100, 'healthy'],
    [80, 'healthy'],
    [79.99, 'warning'],
    [50, 'warning'],
    [49.99, 'critical'],
    [0, 'critical'],
  ] as const)('score %s is %s', (score, expected) => {
    expect(clusterStatus(score, { warningBelow: 80, criticalBelow: 50 })).toBe(expected);
  });
});

describe('healthScoreCollector', () => {
  const cluster = { name: 'prod', nodes: NODES.map((name) => ({ name })) } as unknown as ClusterConfig;

  function context(data: Partial<Record<'nodes' | 'queueMetadata' | 'amqpProbes', () => Promise<unknown>>>, settings: ExporterSettings = defaultExporterSettings()): ScrapeContext {
    // The health score reads the scrape's queue selection; here it is every queue of the metadata.
    const selectedQueues = async () => ({ queues: ((await data.queueMetadata?.()) as { queues: QueueMetadata[] }).queues.map((meta) => ({ meta, stats: undefined })), excluded: 0 });
    const scrapeData = { resources: { settings }, selectedQueues, ...data } as unknown as ScrapeData;
    return { cluster, clusterLabel: 'prod', registry: new MetricRegistry(), data: scrapeData, signal: new AbortController().signal, now: 0 };
  }

  const series = (ctx: ScrapeContext, name: string) => ctx.registry.get(name)?.samples() ?? [];

  const hostSample: HostSample = {
    timestampMs: 0,
    durationMs: 1,
    cpu: { utilisationRatio: 0.85, cores: 2 },
    memory: { totalBytes: 100, availableBytes: 50, usedRatio: 0.5 },
    filesystems: [{ device: '/dev/vda', mountpoint: '/', fstype: 'ext4', sizeBytes: 100, usedBytes: 10, availableBytes: 90, usedRatio: 0.1 }],
    load: { load1: 1, load5: 1, load15: 1 },
    failures: [],
    unsupported: [],
  };

  it('writes both scores, their components and three status series per scope', async () => {
    const ctx = context({
      nodes: async () => NODES.map((n) => node(n)),
      queueMetadata: async () => ({ queues: [quorumQueue('q', NODES, NODES)], fetchedAt: 0, fetchMs: 1 }),
      amqpProbes: async () => ({ outcomes: [{ target: 'load_balancer', success: true }], finishedAt: 0 }),
    });
    await healthScoreCollector({ latest: () => hostSample }).collect(ctx);

    expect(series(ctx, 'warren_health_score')).toEqual([
      { labels: { cluster: '', scope: 'host' }, value: expect.closeTo(0.8 * (100 - 25.5 - 15 - 2) + 0.2 * 90, 10) },
      { labels: { cluster: 'prod', scope: 'cluster' }, value: 100 },
    ]);
    const components = series(ctx, 'warren_health_score_component').map((s) => `${s.labels.scope}/${s.labels.component}`);
    expect(components).toEqual(['host/cpu', 'host/memory', 'host/disk', 'host/load', 'cluster/nodes', 'cluster/alarms', 'cluster/partitions', 'cluster/replication', 'cluster/probe']);
    const statuses = series(ctx, 'warren_health_status').map((s) => `${s.labels.scope}/${s.labels.status}=${s.value}`);
    expect(statuses).toEqual(['host/healthy=0', 'host/warning=1', 'host/critical=0', 'cluster/healthy=1', 'cluster/warning=0', 'cluster/critical=0']);
  });

  it('scores an unreachable management API 0 (critical) without failing the scrape', async () => {
    const ctx = context({
      nodes: async () => Promise.reject(new Error('ECONNREFUSED')),
      queueMetadata: async () => Promise.reject(new Error('ECONNREFUSED')),
      amqpProbes: async () => ({ outcomes: [{ target: 'load_balancer', success: false }], finishedAt: 0 }),
    });
    await healthScoreCollector(undefined).collect(ctx);

    expect(series(ctx, 'warren_health_score')).toEqual([{ labels: { cluster: 'prod', scope: 'cluster' }, value: 0 }]);
    expect(series(ctx, 'warren_health_score_component')).toEqual([{ labels: { cluster: 'prod', scope: 'cluster', component: 'nodes' }, value: 0 }]);
    expect(series(ctx, 'warren_health_status').find((s) => s.value === 1)?.labels.status).toBe('critical');
  });

  it('does not run the AMQP probe when it is disabled, and skips the host score without a sample', async () => {
    const settings = defaultExporterSettings();
    settings.amqpProbe.enabled = false;
    let probed = false;
    const ctx = context(
      {
        nodes: async () => NODES.map((n) => node(n)),
        queueMetadata: async () => ({ queues: [], fetchedAt: 0, fetchMs: 1 }),
        amqpProbes: async () => {
          probed = true;
          return { outcomes: [], finishedAt: 0 };
        },
      },
      settings,
    );
    await healthScoreCollector({ latest: () => undefined }).collect(ctx);

    expect(probed).toBe(false);
    expect(series(ctx, 'warren_health_score').map((s) => s.labels.scope)).toEqual(['cluster']);
    expect(series(ctx, 'warren_health_score_component').map((s) => s.labels.component)).not.toContain('probe');
  });
});
