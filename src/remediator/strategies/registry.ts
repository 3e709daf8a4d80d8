// The strategies warren can run, by the names rules use (strategies/catalogue.ts lists their params).
import type { StrategyName } from './catalogue.ts';
import { notifyOnly } from './notify-only.ts';
import type { Strategy } from './strategy.ts';
import { syncQueue } from './sync-queue.ts';

export const STRATEGIES: Readonly<Record<StrategyName, Strategy>> = {
  notify_only: notifyOnly,
  sync_queue: syncQueue,
};
