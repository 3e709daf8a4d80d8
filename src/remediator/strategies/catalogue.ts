// The recovery strategies the remediator knows, with the params each accepts. The single source of
// truth: the config schema validates rules against it and the docs list it. Param values are
// templates (`{{ $labels.NAME }}`), rendered per alert before the strategy runs.

export const STRATEGY_CATALOGUE = {
  notify_only: {
    description: 'record the alert and notify (escalation webhook when configured); never touches the cluster',
    required: [],
    optional: ['message'],
  },
  sync_queue: {
    description: 'synchronise a classic mirrored queue (RabbitMQ 3.x) through the management API and wait until every mirror is synchronised',
    required: ['vhost', 'queue'],
    optional: [],
  },
} as const;

export type StrategyName = keyof typeof STRATEGY_CATALOGUE;

export const STRATEGY_NAMES: readonly StrategyName[] = Object.keys(STRATEGY_CATALOGUE) as StrategyName[];

/** Every strategy also accepts `cluster`: the configured cluster to act on. */
export const COMMON_STRATEGY_PARAMS = ['cluster'] as const;

export function isStrategyName(name: string): name is StrategyName {
  return Object.hasOwn(STRATEGY_CATALOGUE, name);
}

/** The params a strategy requires, and every param it accepts (required, optional, then the common ones). */
export function strategyParams(name: StrategyName): { required: readonly string[]; allowed: readonly string[] } {
  const entry = STRATEGY_CATALOGUE[name];
  return { required: entry.required, allowed: [...entry.required, ...entry.optional, ...COMMON_STRATEGY_PARAMS] };
}
