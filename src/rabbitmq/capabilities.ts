// What a broker version can do. Strategies and collectors ask here instead of comparing version
// strings themselves, so every version gate lives in one table.
import { WarrenError } from '../errors.ts';

export interface BrokerVersion {
  major: number;
  minor: number;
  patch: number;
  /** As reported, e.g. "3.10.8" or "4.1.0-rc.1". */
  text: string;
}

export interface Capabilities {
  /** Classic queue mirroring (ha-mode policies, slave_nodes): removed in 4.0. */
  classicMirroring: boolean;
  /** `POST /api/queues/{vh}/{q}/actions {"action":"sync"}` and `rabbitmqctl sync_queue`. */
  mirrorSync: boolean;
  /** `/api/health/checks/node-is-mirror-sync-critical`: 3.x only. */
  mirrorSyncHealthCheck: boolean;
  quorumQueues: boolean;
  streams: boolean;
  /** `rabbitmq-upgrade drain/revive` and the `being_drained` node field. */
  maintenanceMode: boolean;
  /** `POST /api/rebalance/queues`. */
  rebalanceQueues: boolean;
  /** `DELETE /api/connections/username/{user}`. */
  closeUserConnections: boolean;
  /** Quorum replica management over HTTP (`/api/queues/quorum/...`). */
  quorumReplicaApi: boolean;
  /** The management statistics subsystem is deprecated; rates may be missing. */
  managementStatsDeprecated: boolean;
  /** Mnesia partition handling (cluster_partition_handling); gone with Khepri-only 4.3+. */
  mnesiaPartitionHandling: boolean;
}

const VERSION = /^(\d+)\.(\d+)(?:\.(\d+))?/;

export function parseBrokerVersion(text: string): BrokerVersion {
  const match = VERSION.exec(text.trim());
  if (!match) throw new WarrenError('INVALID_ARGUMENT', `not a RabbitMQ version: ${JSON.stringify(text)}`);
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0), text: text.trim() };
}

function atLeast(v: BrokerVersion, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

export function capabilitiesOf(version: BrokerVersion): Capabilities {
  const v3 = version.major === 3;
  return {
    classicMirroring: v3,
    mirrorSync: v3,
    mirrorSyncHealthCheck: v3,
    quorumQueues: atLeast(version, 3, 8),
    streams: atLeast(version, 3, 9),
    maintenanceMode: atLeast(version, 3, 8),
    rebalanceQueues: atLeast(version, 3, 8, 10),
    closeUserConnections: atLeast(version, 3, 12),
    quorumReplicaApi: atLeast(version, 3, 13),
    managementStatsDeprecated: atLeast(version, 4, 0),
    mnesiaPartitionHandling: !atLeast(version, 4, 3),
  };
}

export type CapabilityName = keyof Capabilities;

/** Why an operation cannot run on this broker, with a stable code for audits and callers. */
export interface MissingCapability {
  code: 'CAPABILITY_MISSING';
  capability: CapabilityName;
  version: string;
  reason: string;
}

const MISSING_BECAUSE: Partial<Record<CapabilityName, string>> = {
  classicMirroring: 'classic queue mirroring was removed in RabbitMQ 4.0',
  mirrorSync: 'classic queue mirroring, and with it queue sync, was removed in RabbitMQ 4.0',
};

/** Undefined when the broker has `capability`; otherwise what is missing and why. */
export function missingCapability(identity: { version: BrokerVersion; capabilities: Capabilities }, capability: CapabilityName): MissingCapability | undefined {
  if (identity.capabilities[capability]) return undefined;
  const because = MISSING_BECAUSE[capability] ?? 'not available in this version';
  return { code: 'CAPABILITY_MISSING', capability, version: identity.version.text, reason: `RabbitMQ ${identity.version.text} lacks ${capability}: ${because}` };
}
