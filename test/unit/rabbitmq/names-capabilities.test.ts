import { describe, expect, it } from 'vitest';
import { capabilitiesOf, parseBrokerVersion } from '../../../src/rabbitmq/capabilities.ts';
import { assertCliResourceName, assertNodeName, assertResourceName, nodeHost } from '../../../src/rabbitmq/names.ts';

describe('names that reach URLs and argv', () => {
  it.each(['rabbit@localhost', 'rabbit1@host-a.example.com', 'rabbit_2@10.0.0.7'])('accepts node %s', (name) => {
    expect(assertNodeName(name)).toBe(name);
  });

  it.each(['rabbit', '@host', 'rabbit@', '-n@host', 'rabbit@host;reboot', 'rabbit @host', 'a@b@c', 'rabbit@$(id)', '', 42])('refuses node %j', (name) => {
    expect(() => assertNodeName(name)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('takes the host from a node name', () => expect(nodeHost('rabbit@db-1.local')).toBe('db-1.local'));

  it('accepts real-world queue names, refuses control characters and oversize names', () => {
    expect(assertResourceName('orders.v2 (eu) ✓', 'queue name')).toBe('orders.v2 (eu) ✓');
    expect(assertResourceName('/', 'vhost')).toBe('/');
    expect(() => assertResourceName('a\nb', 'queue name')).toThrow(/control characters/);
    expect(() => assertResourceName('x'.repeat(256), 'queue name')).toThrow(/255 bytes/);
    expect(() => assertResourceName('', 'queue name')).toThrow(/empty/);
  });

  it('refuses CLI names that would read as options', () => {
    expect(() => assertCliResourceName('--force', 'queue name')).toThrow(/must not start with '-'/);
    expect(assertCliResourceName('orders', 'queue name')).toBe('orders');
  });
});

describe('version gates', () => {
  it('parses versions as RabbitMQ reports them', () => {
    expect(parseBrokerVersion('3.10.8')).toMatchObject({ major: 3, minor: 10, patch: 8 });
    expect(parseBrokerVersion('4.1.0-rc.1')).toMatchObject({ major: 4, minor: 1, patch: 0 });
    expect(() => parseBrokerVersion('unknown')).toThrow(/not a RabbitMQ version/);
  });

  it.each([
    ['3.8.9', { classicMirroring: true, quorumQueues: true, streams: false, rebalanceQueues: false, quorumReplicaApi: false }],
    ['3.8.10', { rebalanceQueues: true }],
    ['3.10.8', { classicMirroring: true, mirrorSyncHealthCheck: true, streams: true, closeUserConnections: false, quorumReplicaApi: false }],
    ['3.13.7', { classicMirroring: true, closeUserConnections: true, quorumReplicaApi: true, managementStatsDeprecated: false }],
    ['4.0.5', { classicMirroring: false, mirrorSync: false, mirrorSyncHealthCheck: false, managementStatsDeprecated: true, mnesiaPartitionHandling: true }],
    ['4.3.0', { mnesiaPartitionHandling: false }],
  ])('%s', (version, expected) => {
    expect(capabilitiesOf(parseBrokerVersion(version))).toMatchObject(expected);
  });
});
