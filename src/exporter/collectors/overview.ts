// Cluster-wide totals from /api/overview: objects, messages, message flow counters and rates,
// versions. Names follow kbudde's exporter where it exported the same quantity.
import type { Overview } from '../../rabbitmq/management/schemas.ts';
import type { Collector } from '../collector.ts';
import type { MetricFamily } from '../../metrics/registry.ts';

const C = ['cluster'] as const;

/** Metric name, help, and where its value is in the overview (undefined: no sample). */
type OverviewSpec = [name: string, help: string, value: (overview: Overview) => number | undefined];

const TOTALS: OverviewSpec[] = [
  ['rabbitmq_channels', 'Open channels in the cluster.', (o) => o.object_totals?.channels],
  ['rabbitmq_connections', 'Open client connections in the cluster.', (o) => o.object_totals?.connections],
  ['rabbitmq_consumers', 'Consumers in the cluster.', (o) => o.object_totals?.consumers],
  ['rabbitmq_queues', 'Queues in the cluster.', (o) => o.object_totals?.queues],
  ['rabbitmq_exchanges', 'Exchanges in the cluster.', (o) => o.object_totals?.exchanges],
  ['rabbitmq_queue_messages_global', 'Messages in all queues (ready and unacknowledged).', (o) => o.queue_totals?.messages],
  ['rabbitmq_queue_messages_ready_global', 'Messages ready for delivery in all queues.', (o) => o.queue_totals?.messages_ready],
  ['rabbitmq_queue_messages_unacknowledged_global', 'Messages delivered and not yet acknowledged in all queues.', (o) => o.queue_totals?.messages_unacknowledged],
];

// Counters are what PromQL wants (rate() over them); the management API's own rates are kept
// for dashboards moved over from kbudde's exporter. Both are absent when stats are disabled (4.x).
// Sums over the nodes since each started: a node restart lowers them, which rate() reads as a
// counter reset (a one-off overestimate for that window). The plugin's per-node counters avoid this.
const COUNTERS: OverviewSpec[] = [
  ['warren_messages_published_total', 'Messages published into the cluster.', (o) => o.message_stats?.publish],
  ['warren_messages_confirmed_total', 'Messages confirmed to publishers.', (o) => o.message_stats?.confirm],
  ['warren_messages_delivered_total', 'Messages delivered to consumers and basic.get, with and without acknowledgement.', (o) => o.message_stats?.deliver_get],
  ['warren_messages_acknowledged_total', 'Messages acknowledged by consumers.', (o) => o.message_stats?.ack],
  ['warren_messages_redelivered_total', 'Messages delivered again (after a requeue or a consumer failure).', (o) => o.message_stats?.redeliver],
  ['warren_messages_unroutable_returned_total', 'Unroutable messages returned to publishers.', (o) => o.message_stats?.return_unroutable],
  ['warren_messages_unroutable_dropped_total', 'Unroutable messages dropped.', (o) => o.message_stats?.drop_unroutable],
];

const RATES: OverviewSpec[] = [
  ['rabbitmq_messages_publish_rate', 'Messages published per second, as averaged by the management plugin.', (o) => o.message_stats?.publish_details?.rate],
  ['rabbitmq_messages_deliver_rate', 'Messages delivered per second (acknowledged mode), as averaged by the management plugin.', (o) => o.message_stats?.deliver_details?.rate],
  ['warren_messages_ack_rate', 'Acknowledgements per second, as averaged by the management plugin.', (o) => o.message_stats?.ack_details?.rate],
  ['warren_messages_redeliver_rate', 'Redeliveries per second, as averaged by the management plugin.', (o) => o.message_stats?.redeliver_details?.rate],
];

export const overviewCollector: Collector = {
  name: 'overview',
  async collect({ registry, data, clusterLabel }) {
    // Every family is registered before the data is read, so docs/metrics.md can list them all.
    const totals = TOTALS.map(([name, help, value]) => ({ family: registry.gauge(name, help, C), value }));
    const counters = COUNTERS.map(([name, help, value]) => ({ family: registry.counter(name, help, C), value }));
    const rates = RATES.map(([name, help, value]) => ({ family: registry.gauge(name, help, C), value }));
    // kbudde's label set; `node` stays empty because the answering node varies between scrapes.
    const version = registry.gauge('rabbitmq_version_info', 'RabbitMQ and Erlang versions as reported by the management API; always 1.', ['cluster', 'rabbitmq', 'erlang', 'node', 'cluster_name']);

    const overview = await data.overview();
    const cluster = [clusterLabel];
    const write = (specs: { family: MetricFamily; value: OverviewSpec[2] }[], adjust = (v: number) => v) => {
      for (const { family, value } of specs) {
        const v = value(overview);
        if (v !== undefined) family.set(cluster, adjust(v));
      }
    };
    // Clamped: the stats database can lag behind deletions and briefly report negative totals.
    write(totals, (v) => Math.max(0, v));
    write(counters);
    write(rates);
    version.set([clusterLabel, overview.rabbitmq_version ?? overview.product_version ?? '', overview.erlang_version ?? '', '', overview.cluster_name ?? ''], 1);
  },
};
