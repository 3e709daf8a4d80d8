// Runs the AMQP round-trip probes on their own schedule rather than inside each scrape: a probe
// opens real connections (broker CPU), and a hung node would otherwise hold every scrape for the
// probe timeout. Scrapes report the latest outcome and its age.
import type { ClusterConfig } from '../config/types.ts';
import { amqpProbeTargets, probeAmqp } from '../rabbitmq/amqp-probe.ts';
import { PeriodicRounds } from './periodic-rounds.ts';
import type { ProbeOutcome } from './scrape-data.ts';

export interface ProbeRound {
  outcomes: ProbeOutcome[];
  /** Wall clock when the round finished, milliseconds. */
  finishedAt: number;
}

export class AmqpProbeScheduler extends PeriodicRounds<ProbeRound> {
  constructor(cluster: ClusterConfig, intervalMs: number, now: () => number = Date.now) {
    super(async (signal) => {
      const outcomes = await Promise.all(amqpProbeTargets(cluster).map(async ({ target, url }) => ({ target, ...(await probeAmqp({ ...cluster.amqp, url }, signal)) })));
      return { outcomes, finishedAt: now() };
    }, intervalMs);
  }
}
