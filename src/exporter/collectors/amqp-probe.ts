// The AMQP round trip (connect, publish with confirm, consume) through the load balancer and each
// node: proof that clients can move messages, which no API answer gives. Probes run on their own
// schedule (probe-scheduler.ts); this reports the latest round and its age.
import type { Collector } from '../collector.ts';

const L = ['cluster', 'target'] as const;

export const amqpProbeCollector: Collector = {
  name: 'amqp_probe',
  async collect({ registry, data, clusterLabel, now }) {
    // Every family is registered before the data is read, so docs/metrics.md can list them all.
    const success = registry.gauge('warren_amqp_probe_success', 'Whether the AMQP round trip succeeded: 1 yes.', L);
    const roundTrip = registry.gauge('warren_amqp_probe_round_trip_seconds', 'Time from publish until the message came back to the probe consumer.', L);
    const confirm = registry.gauge('warren_amqp_probe_publish_confirm_seconds', 'Time from publish until the broker confirmed it.', L);
    const connect = registry.gauge('warren_amqp_probe_connect_seconds', 'Time to open the connection and channel.', L);
    const total = registry.gauge('warren_amqp_probe_duration_seconds', 'Duration of the whole probe, failed or not.', L);
    const age = registry.gauge('warren_amqp_probe_age_seconds', 'Age of the latest probe round reported here.', ['cluster']);

    const round = await data.amqpProbes();
    age.set([clusterLabel], Math.max(0, (now - round.finishedAt) / 1000));
    for (const probe of round.outcomes) {
      const labels = [clusterLabel, probe.target];
      success.set(labels, probe.success ? 1 : 0);
      total.set(labels, probe.totalSeconds);
      if (probe.connectSeconds !== undefined) connect.set(labels, probe.connectSeconds);
      if (probe.publishConfirmSeconds !== undefined) confirm.set(labels, probe.publishConfirmSeconds);
      if (probe.roundTripSeconds !== undefined) roundTrip.set(labels, probe.roundTripSeconds);
    }
  },
};
