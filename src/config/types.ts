// The validated, typed configuration the rest of warren works with. Produced only by load.ts.
import type { ExporterSettings } from '../exporter/settings.ts';
import type { RemediatorSettings } from '../remediator/settings.ts';
import type { Secret } from './secret.ts';
import type { NODE_SELECTION_STRATEGIES, TEMPLATABLE_OPERATIONS } from './schema.ts';

export type NodeSelectionStrategy = (typeof NODE_SELECTION_STRATEGIES)[number];
export type TemplatableOperation = (typeof TEMPLATABLE_OPERATIONS)[number];
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface TlsConfig {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  serverName?: string | undefined;
  insecureSkipVerify: boolean;
}

export interface ManagementConfig {
  username: string;
  password: Secret;
  timeoutMs: number;
  nodeSelection: NodeSelectionStrategy;
  connectionsPerNode: number;
  unhealthyAfterFailures: number;
  retryUnhealthyAfterMs: number;
  tls?: TlsConfig | undefined;
}

export interface AmqpConfig {
  username: string;
  password: Secret;
  vhost: string;
  loadBalancerUrl?: string | undefined;
  timeoutMs: number;
}

export interface NodeCliConfig {
  /** Directory holding rabbitmqctl, rabbitmq-queues, rabbitmq-upgrade, rabbitmq-diagnostics. */
  binDir: string;
  /** HOME for CLI calls: where the Erlang cookie (.erlang.cookie) is read from. */
  erlangHome?: string | undefined;
  timeoutMs: number;
  /** Site-specific argv templates replacing the built-in command for an operation. */
  commands: Partial<Record<TemplatableOperation, readonly string[]>>;
  /**
   * Variables added to the CLI's environment (and to templates'), e.g. ERL_EPMD_PORT; a HOME here
   * wins over erlangHome. Not secret: dry-run plans show them.
   */
  env: Readonly<Record<string, string>>;
  /** Argv template placed before every CLI tool call (kubectl exec, docker exec, chroot); empty for none. */
  commandPrefix: readonly string[];
}

export interface NodeConfig {
  name: string;
  managementUrl: string;
  amqpUrl?: string | undefined;
  prometheusUrl?: string | undefined;
  weight: number;
  cli: NodeCliConfig;
}

export interface ClusterConfig {
  name: string;
  management: ManagementConfig;
  amqp: AmqpConfig;
  nodes: readonly NodeConfig[];
}

export interface WarrenConfig {
  /** The file it was read from, or `built-in local stack defaults`. */
  source: string;
  defaultCluster: string;
  logLevel: LogLevel;
  clusters: ReadonlyMap<string, ClusterConfig>;
  exporter: ExporterSettings;
  remediation: RemediatorSettings;
}

export const DEFAULT_CLI_BIN_DIR = '/usr/sbin';
export const DEFAULT_CLI_TIMEOUT_MS = 60_000;
