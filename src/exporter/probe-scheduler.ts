// Runs the AMQP round-trip probes on their own schedule rather than inside each scrape: a probe
// opens real connections (broker CPU), and a hung node would otherwise hold every scrape for the
// probe timeout. Scrapes report the latest outcome and its age.
import type { ClusterConfig } from '../config/types.ts';
import { untilAborted } from '../abort.ts';
import { amqpProbeTargets, probeAmqp } from '../rabbitmq/amqp-probe.ts';
import type { ProbeOutcome } from './scrape-data.ts';

export interface ProbeRound {
  outcomes: ProbeOutcome[];
  /** Wall clock when the round finished, milliseconds. */
  finishedAt: number;
}

export class AmqpProbeScheduler {
  readonly #cluster: ClusterConfig;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #latest: ProbeRound | undefined;
  #running: Promise<ProbeRound> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Aborted by stop(), so a round in flight ends its probes instead of outliving the exporter. */
  #stopping = new AbortController();

  constructor(cluster: ClusterConfig, intervalMs: number, now: () => number = Date.now) {
    this.#cluster = cluster;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** Probes now and then every interval, until stop(). */
  start(): void {
    if (this.#timer) return;
    void this.#round().catch(() => undefined);
    this.#timer = setInterval(() => void this.#round().catch(() => undefined), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopping.abort();
    this.#stopping = new AbortController();
  }

  /** The latest finished round; the first scrape waits for the first round (up to its deadline). */
  async latest(signal: AbortSignal): Promise<ProbeRound> {
    if (this.#latest) return this.#latest;
    return untilAborted(this.#round(), signal);
  }

  #round(): Promise<ProbeRound> {
    this.#running ??= this.#probeAll().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #probeAll(): Promise<ProbeRound> {
    const cluster = this.#cluster;
    const targets = amqpProbeTargets(cluster);
    const signal = this.#stopping.signal;
    const outcomes = await Promise.all(targets.map(async ({ target, url }) => ({ target, ...(await probeAmqp({ ...cluster.amqp, url }, signal)) })));
    this.#latest = { outcomes, finishedAt: this.#now() };
    return this.#latest;
  }
}
