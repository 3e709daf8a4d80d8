// Cluster-wide totals from /api/overview: objects, messages, message flow counters and rates,
// versions. Names follow kbudde's exporter where it exported the same quantity.
import type { Collector } from '../collector.ts';

const C = ['cluster'] as const;

export const overviewCollector: Collector = {
  name: 'overview',
  async collect({ registry, data, clusterLabel }) {
    const overview = await data.overview();
    const cluster = [clusterLabel];
    const objects = overview.object_totals ?? {};
    const totals: [string, string, number | undefined][] = [
      ['rabbitmq_channels', 'Open channels in the cluster.', objects.channels],
      ['rabbitmq_connections', 'Open client connections in the cluster.', objects.connections],
      ['rabbitmq_consumers', 'Consumers in the cluster.', objects.consumers],
      ['rabbitmq_queues', 'Queues in the cluster.', objects.queues],
      ['rabbitmq_exchanges', 'Exchanges in the cluster.', objects.exchanges],
      ['rabbitmq_queue_messages_global', 'Messages in all queues (ready and unacknowledged).', overview.queue_totals?.messages],
      ['rabbitmq_queue_messages_ready_global', 'Messages ready for delivery in all queues.', overview.queue_totals?.messages_ready],
      ['rabbitmq_queue_messages_unacknowledged_global', 'Messages delivered and not yet acknowledged in all queues.', overview.queue_totals?.messages_unacknowledged],
    ];
    // Clamped: the stats database can lag behind deletions and briefly report negative totals.
    for (const [name, help, value] of totals) if (value !== undefined) registry.gauge(name, help, C).set(cluster, Math.max(0, value));

    // Counters are what PromQL wants (rate() over them); the management API's own rates are kept
    // for dashboards moved over from kbudde's exporter. Both are absent when stats are disabled (4.x).
    const stats = overview.message_stats ?? {};
    const counters: [string, string, number | undefined][] = [
      ['warren_messages_published_total', 'Messages published into the cluster.', stats.publish],
      ['warren_messages_confirmed_total', 'Messages confirmed to publishers.', stats.confirm],
      ['warren_messages_delivered_total', 'Messages delivered to consumers and basic.get, with and without acknowledgement.', stats.deliver_get],
      ['warren_messages_acknowledged_total', 'Messages acknowledged by consumers.', stats.ack],
      ['warren_messages_redelivered_total', 'Messages delivered again (after a requeue or a consumer failure).', stats.redeliver],
      ['warren_messages_unroutable_returned_total', 'Unroutable messages returned to publishers.', stats.return_unroutable],
      ['warren_messages_unroutable_dropped_total', 'Unroutable messages dropped.', stats.drop_unroutable],
    ];
    for (const [name, help, value] of counters) if (value !== undefined) registry.counter(name, help, C).set(cluster, value);
    const rates: [string, string, number | undefined][] = [
      ['rabbitmq_messages_publish_rate', 'Messages published per second, as averaged by the management plugin.', stats.publish_details?.rate],
      ['rabbitmq_messages_deliver_rate', 'Messages delivered per second (acknowledged mode), as averaged by the management plugin.', stats.deliver_details?.rate],
      ['warren_messages_ack_rate', 'Acknowledgements per second, as averaged by the management plugin.', stats.ack_details?.rate],
      ['warren_messages_redeliver_rate', 'Redeliveries per second, as averaged by the management plugin.', stats.redeliver_details?.rate],
    ];
    for (const [name, help, value] of rates) if (value !== undefined) registry.gauge(name, help, C).set(cluster, value);

    registry
      .gauge('rabbitmq_version_info', 'Versions of the node that answered; always 1.', ['cluster', 'rabbitmq', 'erlang', 'node', 'cluster_name'])
      .set([clusterLabel, overview.rabbitmq_version ?? overview.product_version ?? '', overview.erlang_version ?? '', overview.node ?? '', overview.cluster_name ?? ''], 1);
  },
};
