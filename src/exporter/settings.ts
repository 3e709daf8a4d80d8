// The exporter's typed settings (the `exporter` section of warren.yml, validated in config/).
import type { Secret } from '../config/secret.ts';

export interface QueueSettings {
  /** Full-match regexes (Prometheus relabel style); a queue is kept when it matches include and not exclude. */
  includeVhosts: RegExp;
  excludeVhosts: RegExp | undefined;
  include: RegExp;
  exclude: RegExp | undefined;
  /** Keep only the N deepest queues (0: all); the rest are counted in warren_queues_omitted. */
  maxQueues: number;
  /** basic: depth and consumers; full: adds bytes, memory, utilisation, head message age. */
  details: 'basic' | 'full';
  metadataMaxAgeMs: number;
  metadataRefetchBelowMs: number;
}

export interface HealthScoreWeights {
  nodes: number;
  alarms: number;
  partitions: number;
  replication: number;
  probe: number;
}

export interface ExporterSettings {
  listenAddress: string;
  port: number;
  tls?: { certFile: string; keyFile: string } | undefined;
  basicAuth?: { username: string; password: Secret } | undefined;
  /** Scrape deadline when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds. */
  defaultScrapeTimeoutMs: number;
  queues: QueueSettings;
  amqpProbe: { enabled: boolean; intervalMs: number };
  host: { enabled: boolean; sampleIntervalMs: number };
  healthScore: {
    weights: HealthScoreWeights;
    /** Host status, from the source design: warning when CPU, memory or disk use reaches 80 %, critical at 90 %. */
    hostWarningUsagePercent: number;
    hostCriticalUsagePercent: number;
    /** Cluster status: warning below this score, critical below the next. */
    clusterWarningBelow: number;
    clusterCriticalBelow: number;
  };
}

export const DEFAULT_HEALTH_WEIGHTS: HealthScoreWeights = { nodes: 0.35, alarms: 0.2, partitions: 0.15, replication: 0.2, probe: 0.1 };

export function defaultExporterSettings(): ExporterSettings {
  return {
    listenAddress: '0.0.0.0',
    port: 9419,
    defaultScrapeTimeoutMs: 10_000,
    queues: {
      includeVhosts: /^(?:.*)$/s,
      excludeVhosts: undefined,
      include: /^(?:.*)$/s,
      exclude: undefined,
      maxQueues: 0,
      details: 'basic',
      metadataMaxAgeMs: 30_000,
      metadataRefetchBelowMs: 250,
    },
    amqpProbe: { enabled: true, intervalMs: 15_000 },
    host: { enabled: true, sampleIntervalMs: 15_000 },
    healthScore: { weights: DEFAULT_HEALTH_WEIGHTS, hostWarningUsagePercent: 80, hostCriticalUsagePercent: 90, clusterWarningBelow: 80, clusterCriticalBelow: 50 },
  };
}
