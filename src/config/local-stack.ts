// The loopback topology of the local stack (`npm run stack`). The stack starts services on these
// ports and warren's configuration defaults point at them, so both read this one description.

export interface LocalStackNode {
  /** Erlang node name, e.g. rabbit1@localhost. */
  readonly name: string;
  readonly index: number;
  readonly amqpPort: number;
  readonly managementPort: number;
  readonly prometheusPort: number;
  readonly distributionPort: number;
}

export const LOCAL_HOST = '127.0.0.1';

export const LOCAL_NODES: readonly LocalStackNode[] = [1, 2, 3].map((index) => ({
  name: `rabbit${index}@localhost`,
  index,
  amqpPort: 5671 + index, // 5672, 5673, 5674
  managementPort: 15671 + index, // 15672, 15673, 15674
  prometheusPort: 15691 + index, // 15692, 15693, 15694
  distributionPort: 25671 + index, // 25672, 25673, 25674
}));

export const LOCAL_PORTS = {
  haproxyAmqp: 5670,
  haproxyManagement: 15670,
  haproxyStats: 8404,
  prometheus: 9090,
  alertmanager: 9093,
  exporter: 9419,
  remediator: 9420,
} as const;

/** Default credentials of the local stack's broker (the Debian package's default user). */
export const LOCAL_USER = { username: 'guest', password: 'guest' } as const;

export const LOCAL_CLUSTER_NAME = 'local';

/** Where the local stack keeps all its state unless WARREN_STACK_DIR says otherwise. */
export function localStackDir(env: NodeJS.ProcessEnv, repoRoot: string): string {
  return env.WARREN_STACK_DIR ?? `${repoRoot}/.stack`;
}

/** The bearer token the local Alertmanager presents to `warren remediator` (written by `npm run stack -- up`). */
export function localRemediatorTokenFile(stackDir: string): string {
  return `${stackDir}/remediator.token`;
}

/** HOME holding the shared Erlang cookie, as seen by every node and every CLI call. */
export function localErlangHome(stackDir: string): string {
  return `${stackDir}/home`;
}
