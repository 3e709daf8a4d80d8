// Runs RabbitMQ's health-check endpoints on their own schedule rather than inside each scrape, like
// the AMQP probe (probe-scheduler.ts). A round is about eleven management requests on a 3-node 3.x
// cluster, and node-is-mirror-sync-critical walks every mirrored queue of its node: at 10,000 queues
// they took as much broker CPU as the scrape's own reads, and the brokers answered those reads later.
// On a schedule their cost no longer grows with the number of Prometheus servers scraping, and a
// scrape reports the latest round and its age (warren_health_checks_age_seconds).
import { z } from 'zod';
import { describeError } from '../errors.ts';
import type { ClusterConfig } from '../config/types.ts';
import type { HealthCheckResult, ManagementClient } from '../rabbitmq/management/client.ts';
import { PeriodicRounds } from './periodic-rounds.ts';

/** How far ahead the certificate-expiration check looks. */
export const CERTIFICATE_WARNING_WEEKS = 4;

export interface NamedHealthCheck extends HealthCheckResult {
  /** The endpoint name, e.g. `alarms` or `node-is-quorum-critical`. */
  check: string;
}

export interface HealthCheckRound {
  /** Every check of the round, as answered (a failing check is data); empty when the round failed. */
  checks: NamedHealthCheck[];
  /** Why the round could not run its checks (the nodes could not be listed); undefined when it ran. */
  error?: string | undefined;
  /** Wall clock when the round finished, milliseconds. */
  finishedAt: number;
}

// Only what a round needs: which nodes run, and the version (mirroring exists on 3.x only).
// `disable_stats=true` makes /api/overview a constant-time answer (3-8 ms at 10,000 queues instead of 50-300 ms).
const nodeNamesSchema = z.array(z.looseObject({ name: z.string(), running: z.boolean().default(false) }));
const versionSchema = z.looseObject({ rabbitmq_version: z.string().optional() });

export class HealthCheckScheduler extends PeriodicRounds<HealthCheckRound> {
  constructor(cluster: ClusterConfig, api: ManagementClient, intervalMs: number, now: () => number = Date.now) {
    super(async (signal) => {
      try {
        return { checks: await runHealthChecks(cluster, api, signal), finishedAt: now() };
      } catch (error) {
        return { checks: [], error: describeError(error), finishedAt: now() };
      }
    }, intervalMs);
  }
}

/**
 * One round: the cluster-wide checks (alarms, virtual-hosts; node "") and, on every running
 * configured node, node-is-quorum-critical, node-is-mirror-sync-critical (3.x) and
 * certificate-expiration within four weeks. Rejects only when the nodes cannot be listed.
 */
export async function runHealthChecks(cluster: ClusterConfig, api: ManagementClient, signal: AbortSignal): Promise<NamedHealthCheck[]> {
  const checks: Promise<NamedHealthCheck>[] = [];
  // `endpoint` may carry arguments (certificate-expiration/4/weeks); the label is its name.
  const run = (endpoint: string, node?: string) => {
    const check = endpoint.split('/')[0] as string;
    checks.push(
      api.healthCheck(endpoint, { node, signal }).then(
        // Cluster-wide checks get node "": the node that happened to answer would churn series.
        (result) => ({ ...result, node: node ?? '', check }),
        (error: unknown) => ({ ok: false, status: 'error', reason: describeError(error), node: node ?? '', check }),
      ),
    );
  };
  const version = api.request('/api/overview', { query: { disable_stats: true }, schema: versionSchema, signal }).then(
    (answer) => answer.data.rabbitmq_version,
    () => undefined,
  );
  const nodes = (await api.request('/api/nodes', { query: { columns: 'name,running' }, schema: nodeNamesSchema, signal })).data;
  run('alarms');
  run('virtual-hosts');
  const configured = new Set(cluster.nodes.map((n) => n.name));
  const running = nodes.filter((n) => n.running && configured.has(n.name)).map((n) => n.name);
  // Mirroring, and with it the mirror-sync check, exists on 3.x only.
  const mirroring = (await version)?.startsWith('3.') ?? false;
  for (const node of running) {
    run('node-is-quorum-critical', node);
    if (mirroring) run('node-is-mirror-sync-critical', node);
    // Fails when a TLS listener's certificate expires within four weeks; passes without TLS listeners.
    run(`certificate-expiration/${CERTIFICATE_WARNING_WEEKS}/weeks`, node);
  }
  return Promise.all(checks);
}
