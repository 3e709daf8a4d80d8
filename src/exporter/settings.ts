// The exporter's typed settings (the `exporter` section of warren.yml, validated in config/).
import { parseConfigText } from '../config/load.ts';
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
  /** Per-queue message counters (kbudde's rabbitmq_queue_messages_*_total), read in the background. */
  counters: { enabled: boolean; intervalMs: number; pageSize: number };
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
  /** RabbitMQ's health-check endpoints, run on their own schedule; scrapes report the latest round. */
  healthChecks: { intervalMs: number };
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

/**
 * The settings a config without an `exporter` section gets. Derived from the config schema, so the
 * defaults live in one place (config/schema.ts).
 */
export function defaultExporterSettings(): ExporterSettings {
  const minimal = 'clusters: { defaults: { nodes: [{ name: rabbit@localhost, management_url: "http://127.0.0.1:15672" }] } }';
  return parseConfigText(minimal, '(exporter defaults)', { env: {} }).exporter;
}
