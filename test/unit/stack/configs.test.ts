// The local stack's generated and shipped configs agree with the one topology in local-stack.ts.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LOCAL_NODES, LOCAL_PORTS } from '../../../src/config/local-stack.ts';
import { findAlertmanagerConfigDrift } from '../../../stack/alertmanager.ts';
import { renderHaproxyConfig } from '../../../stack/haproxy.ts';
import { stackPaths } from '../../../stack/paths.ts';
import { findPrometheusConfigDrift } from '../../../stack/prometheus.ts';
import { parseClusterStatus } from '../../../stack/rabbitmq-cluster.ts';
import { renderEnabledPlugins, renderRabbitmqConf } from '../../../stack/rabbitmq-nodes.ts';

const root = new URL('../../..', import.meta.url).pathname;

describe('local stack configs', () => {
  it('renders a node config on its own loopback ports', () => {
    const node = LOCAL_NODES[1]!;
    const conf = renderRabbitmqConf(node);
    expect(conf).toContain(`listeners.tcp.default = 127.0.0.1:${node.amqpPort}`);
    expect(conf).toContain(`management.tcp.port = ${node.managementPort}`);
    expect(conf).toContain(`prometheus.tcp.port = ${node.prometheusPort}`);
    expect(renderEnabledPlugins()).toBe('[rabbitmq_management,rabbitmq_prometheus,rabbitmq_shovel,rabbitmq_shovel_management].\n');
  });

  it('renders an HAProxy config that haproxy itself accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-haproxy-'));
    const text = renderHaproxyConfig(stackPaths({ WARREN_STACK_DIR: dir }, root));
    for (const node of LOCAL_NODES) expect(text).toContain(`127.0.0.1:${node.amqpPort} check`);
    expect(text).toContain(`${LOCAL_PORTS.haproxyAmqp}`);
    expect(text).toMatch(/stats socket \S+admin\.sock mode 600 level admin/);
    writeFileSync(join(dir, 'haproxy.cfg'), text);
    await expect(promisify(execFile)('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')])).resolves.toBeDefined();
  });

  it('ships Prometheus and Alertmanager configs that match the topology', () => {
    expect(findPrometheusConfigDrift(readFileSync(join(root, 'stack/prometheus.yml'), 'utf8'))).toEqual([]);
    expect(findAlertmanagerConfigDrift(readFileSync(join(root, 'alerting/alertmanager.yml'), 'utf8'))).toEqual([]);
  });

  it('detects drift between a config and the topology', () => {
    const drifted = readFileSync(join(root, 'stack/prometheus.yml'), 'utf8').replace("'127.0.0.1:15693'", "'127.0.0.1:15999'");
    expect(findPrometheusConfigDrift(drifted)).toEqual([expect.stringContaining('job rabbitmq-plugin')]);
    expect(findAlertmanagerConfigDrift('receivers:\n  - name: x\n    webhook_configs:\n      - url: http://127.0.0.1:1/x\n')).toHaveLength(1);
  });

  it('reads cluster membership from rabbitmqctl cluster_status JSON', () => {
    const view = parseClusterStatus(JSON.stringify({ disk_nodes: ['rabbit2@localhost', 'rabbit1@localhost'], ram_nodes: [], running_nodes: ['rabbit1@localhost'] }));
    expect(view).toEqual({ members: ['rabbit1@localhost', 'rabbit2@localhost'], running: ['rabbit1@localhost'] });
  });
});
