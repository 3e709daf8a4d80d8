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
  /** Wall clock when the answer (or the failure) came, milliseconds. */
  answeredAt: number;
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
  /** Per node, the latest time a scrape found it not running; `''`: no node answered at all. */
  readonly #seenNotRunning = new Map<string, number>();

  constructor(cluster: ClusterConfig, api: ManagementClient, intervalMs: number, now: () => number = Date.now) {
    super(async (signal) => {
      try {
        return { checks: await runHealthChecks(cluster, api, signal, now), finishedAt: now() };
      } catch (error) {
        return { checks: [], error: describeError(error), finishedAt: now() };
      }
    }, intervalMs);
  }

  /**
   * Evidence from a scrape: `node` was not running at `at` (`''`: no node answered). A check that
   * answered before that is stale from then on, until a round answers it anew (checksOf).
   */
  sawNotRunning(node: string, at: number): void {
    if ((this.#seenNotRunning.get(node) ?? -Infinity) < at) this.#seenNotRunning.set(node, at);
  }

  /** The round's checks, those older than evidence that their node is gone turned failing (`stale`). */
  checksOf(round: HealthCheckRound): NamedHealthCheck[] {
    return withoutStaleResults(round.checks, this.#seenNotRunning);
  }
}

/**
 * Checks that answered before their node was last seen not running (any node for the cluster-wide
 * ones, `node` ""; every check when no node answered at all) are reported failing with status
 * `stale`: a pass from before the node went away says nothing about it now.
 */
export function withoutStaleResults(checks: readonly NamedHealthCheck[], seenNotRunning: ReadonlyMap<string, number>): NamedHealthCheck[] {
  const clusterGoneAt = seenNotRunning.get('');
  return checks.map((check) => {
    const nodeGoneAt = check.node === '' ? undefined : seenNotRunning.get(check.node);
    const goneAt = Math.max(nodeGoneAt ?? -Infinity, clusterGoneAt ?? -Infinity);
    if (goneAt < check.answeredAt) return check;
    const when = new Date(goneAt).toISOString();
    const reason = nodeGoneAt === goneAt ? `${check.node} was seen not running at ${when}, after this check answered` : `no node answered at ${when}, after this check did`;
    return { ...check, ok: false, status: 'stale', reason };
  });
}

/**
 * One round: the cluster-wide checks (alarms, virtual-hosts; node "") and, on every running
 * configured node, node-is-quorum-critical, node-is-mirror-sync-critical (3.x) and
 * certificate-expiration within four weeks. Rejects only when the nodes cannot be listed.
 */
export async function runHealthChecks(cluster: ClusterConfig, api: ManagementClient, signal: AbortSignal, now: () => number = Date.now): Promise<NamedHealthCheck[]> {
  const checks: Promise<NamedHealthCheck>[] = [];
  // `endpoint` may carry arguments (certificate-expiration/4/weeks); the label is its name.
  const run = (endpoint: string, node?: string) => {
    const check = endpoint.split('/')[0] as string;
    checks.push(
      api.healthCheck(endpoint, { node, signal }).then(
        // Cluster-wide checks get node "": the node that happened to answer would churn series.
        (result) => ({ ...result, node: node ?? '', check, answeredAt: now() }),
        (error: unknown) => ({ ok: false, status: 'error', reason: describeError(error), node: node ?? '', check, answeredAt: now() }),
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
  const running = await answeringNodes(cluster, api, nodes, signal);
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

/**
 * The configured nodes the list shows running, and those it shows down that answer for
 * themselves: during a partition the answering node lists the other side as down, yet their checks
 * run there (one small request to each such node; none when the cluster is whole).
 */
async function answeringNodes(cluster: ClusterConfig, api: ManagementClient, listed: readonly { name: string; running: boolean }[], signal: AbortSignal): Promise<string[]> {
  const listedRunning = new Set(listed.filter((n) => n.running).map((n) => n.name));
  const answers = await Promise.all(
    cluster.nodes.map(async ({ name }) => {
      if (listedRunning.has(name)) return true;
      try {
        await api.ownNodeView(name, { signal, columns: ['name'] });
        return true;
      } catch {
        return false;
      }
    }),
  );
  return cluster.nodes.filter((_, index) => answers[index]).map((node) => node.name);
}
