// Work an exporter runs on its own schedule instead of inside each scrape (the AMQP probes, the
// health checks): a round now and then every interval, one round at a time (a caller who asks
// while one runs joins it), and the latest finished round for scrapes, which wait only for the very
// first. stop() aborts a round in flight, so it never outlives the exporter.
import { untilAborted } from '../abort.ts';

export class PeriodicRounds<T> {
  readonly #run: (signal: AbortSignal) => Promise<T>;
  readonly #intervalMs: number;
  #latest: T | undefined;
  #running: Promise<T> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopping = new AbortController();

  /** `run` does one round; its signal aborts at stop(). */
  constructor(run: (signal: AbortSignal) => Promise<T>, intervalMs: number) {
    this.#run = run;
    this.#intervalMs = intervalMs;
  }

  /** A round now and then every interval, until stop(). */
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

  /** The latest finished round; the first caller waits for the first round (up to its own deadline). */
  async latest(signal: AbortSignal): Promise<T> {
    if (this.#latest !== undefined) return this.#latest;
    return untilAborted(this.#round(), signal);
  }

  /** Runs a round now (or joins the one running) and returns it. */
  refresh(): Promise<T> {
    return this.#round();
  }

  #round(): Promise<T> {
    this.#running ??= this.#runOnce().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #runOnce(): Promise<T> {
    const signal = this.#stopping.signal;
    const round = await this.#run(signal);
    // A round cut short by stop() says nothing about the broker.
    if (!signal.aborted) this.#latest = round;
    return round;
  }
}
