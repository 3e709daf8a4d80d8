import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, localStackConfig, parseConfigText } from '../../../src/config/load.ts';
import { isWarrenError } from '../../../src/errors.ts';

const VALID_NODE = `
      - name: rabbit1@localhost
        management_url: http://127.0.0.1:15672`;

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): { path: string; message: string; line?: number | undefined }[] {
  try {
    parseConfigText(yaml, '/tmp/warren.yml', { env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(({ path, message, line }) => ({ path, message, line }));
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

describe('config validation reports each kind of problem with its YAML path', () => {
  it.each([
    ['unknown top-level key', `colour: blue\nclusters:\n  a:\n    nodes:${VALID_NODE}\n`, 'colour', /unknown key/, 1],
    ['unknown nested key', `clusters:\n  a:\n    management:\n      usrname: x\n    nodes:${VALID_NODE}\n`, 'clusters.a.management.usrname', /unknown key/, 4],
    ['missing required key', `clusters:\n  a:\n    nodes:\n      - name: rabbit1@localhost\n`, 'clusters.a.nodes[0].management_url', /required/, 4],
    ['wrong type', `clusters:\n  a:\n    management:\n      connections_per_node: many\n    nodes:${VALID_NODE}\n`, 'clusters.a.management.connections_per_node', /expected number/, 4],
    ['bad enum value', `clusters:\n  a:\n    management:\n      node_selection: fastest\n    nodes:${VALID_NODE}\n`, 'clusters.a.management.node_selection', /round_robin/, 4],
    ['bad duration', `clusters:\n  a:\n    management:\n      timeout: 10 seconds\n    nodes:${VALID_NODE}\n`, 'clusters.a.management.timeout', /invalid duration/, 4],
    ['bad URL scheme', `clusters:\n  a:\n    nodes:\n      - name: rabbit1@localhost\n        management_url: ftp://x\n`, 'clusters.a.nodes[0].management_url', /scheme/, 5],
    ['credentials inside a URL', `clusters:\n  a:\n    nodes:\n      - name: rabbit1@localhost\n        management_url: http://u:p@x:15672\n`, 'clusters.a.nodes[0].management_url', /must not contain credentials/, 5],
    ['invalid node name', `clusters:\n  a:\n    nodes:\n      - name: "rabbit; rm -rf /"\n        management_url: http://x:15672\n`, 'clusters.a.nodes[0].name', /Erlang node name/, 4],
    ['duplicate node', `clusters:\n  a:\n    nodes:${VALID_NODE}${VALID_NODE}\n`, 'clusters.a.nodes[1].name', /duplicate node name/, 6],
    ['two ways to give a password', `clusters:\n  a:\n    management:\n      password: x\n      password_file: /f\n    nodes:${VALID_NODE}\n`, 'clusters.a.management.password_file', /only one of/, 5],
    ['unknown default cluster', `default_cluster: b\nclusters:\n  a:\n    nodes:${VALID_NODE}\n`, 'default_cluster', /names no configured cluster/, 1],
    ['no default among several clusters', `clusters:\n  a:\n    nodes:${VALID_NODE}\n  b:\n    nodes:${VALID_NODE}\n`, 'default_cluster', /required when more than one/, 1],
    ['empty node list', `clusters:\n  a:\n    nodes: []\n`, 'clusters.a.nodes', /at least one node/, 3],
    ['unknown argv placeholder', `clusters:\n  a:\n    cli:\n      commands:\n        restart: [/bin/systemctl, restart, "{service}"]\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.commands.restart[2]', /unknown placeholder/, 5],
    ['unknown operation template', `clusters:\n  a:\n    cli:\n      commands:\n        reboot: [/sbin/reboot]\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.commands.reboot', /./, 5],
    ['password env var not set', `clusters:\n  a:\n    management:\n      password_env: NOT_SET_ANYWHERE\n    nodes:${VALID_NODE}\n`, 'clusters.a.management.password_env', /NOT_SET_ANYWHERE is not set/, 4],
    ['password file missing', `clusters:\n  a:\n    management:\n      password_file: /nonexistent/secret\n    nodes:${VALID_NODE}\n`, 'clusters.a.management.password_file', /cannot read \/nonexistent\/secret \(ENOENT\)/, 4],
  ])('%s', (_name, yaml, path, message, line) => {
    const problems = problemsOf(yaml);
    const problem = problems.find((p) => p.path === path);
    expect(problem, JSON.stringify(problems)).toBeDefined();
    expect(problem?.message).toMatch(message);
    expect(problem?.line).toBe(line);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf('clusters:\n  a:\n    nodes: [\n');
    expect(problems[0]?.path).toBe('(yaml)');
    expect(problems[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it('reports duplicate YAML keys', () => {
    expect(problemsOf(`clusters:\n  a:\n    nodes:${VALID_NODE}\n  a:\n    nodes:${VALID_NODE}\n`)[0]?.message).toMatch(/unique/i);
  });

  it('collects every problem of a file in one pass, in file order', () => {
    const problems = problemsOf(`colour: 1\nclusters:\n  a:\n    management:\n      timeout: soon\n    nodes:\n      - name: bad name\n        management_url: nope\n`);
    expect(problems.map((p) => p.path)).toEqual([
      'colour',
      'clusters.a.management.timeout',
      'clusters.a.nodes[0].name',
      'clusters.a.nodes[0].management_url',
    ]);
  });

  it('names an unreadable file with a stable code', () => {
    expect(() => loadConfigFile('/nonexistent/warren.yml')).toThrow(expect.objectContaining({ code: 'CONFIG_UNREADABLE' }));
  });
});

describe('valid config becomes typed objects', () => {
  it('loads the shipped example with defaults filled in', () => {
    const config = loadConfigFile(new URL('../../../warren.example.yml', import.meta.url).pathname);
    const cluster = config.clusters.get('local');
    expect(config.defaultCluster).toBe('local');
    expect(cluster?.nodes.map((n) => n.name)).toEqual(['rabbit1@localhost', 'rabbit2@localhost', 'rabbit3@localhost']);
    expect(cluster?.management.timeoutMs).toBe(10_000);
    expect(cluster?.management.retryUnhealthyAfterMs).toBe(30_000);
    expect(cluster?.amqp.timeoutMs).toBe(5_000);
    expect(cluster?.nodes[0]?.cli.erlangHome).toMatch(/\/\.stack\/home$/);
  });

  it('applies nested defaults when a section is absent', () => {
    const config = parseConfigText(`clusters:\n  a:\n    nodes:${VALID_NODE}\n`, '/etc/warren/warren.yml', { env: {} });
    const cluster = config.clusters.get('a');
    expect(cluster?.management).toMatchObject({ username: 'guest', timeoutMs: 10_000, nodeSelection: 'round_robin', unhealthyAfterFailures: 2 });
    expect(cluster?.nodes[0]?.cli).toMatchObject({ binDir: '/usr/sbin', timeoutMs: 60_000, commands: {} });
    expect(config.logLevel).toBe('info');
  });

  it('lets node CLI settings override the cluster ones', () => {
    const yaml = `clusters:\n  a:\n    cli:\n      erlang_home: /var/lib/rabbitmq\n      timeout: 30s\n      commands:\n        restart: [/bin/systemctl, restart, rabbitmq-server]\n    nodes:\n      - name: rabbit1@h1\n        management_url: http://h1:15672\n        cli:\n          erlang_home: /srv/h1\n          commands:\n            restart: [/usr/bin/ssh, "ops@{host}", reboot]\n      - name: rabbit2@h2\n        management_url: http://h2:15672\n`;
    const [first, second] = parseConfigText(yaml, '/etc/warren.yml', { env: {} }).clusters.get('a')?.nodes ?? [];
    expect(first?.cli).toMatchObject({ erlangHome: '/srv/h1', timeoutMs: 30_000, commands: { restart: ['/usr/bin/ssh', 'ops@{host}', 'reboot'] } });
    expect(second?.cli).toMatchObject({ erlangHome: '/var/lib/rabbitmq', commands: { restart: ['/bin/systemctl', 'restart', 'rabbitmq-server'] } });
  });

  it('reads secrets from env and from files relative to the config, and never prints them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-config-'));
    writeFileSync(join(dir, 'amqp-password'), 's3cret-file\n');
    const yaml = `clusters:\n  a:\n    management:\n      password_env: MGMT_PW\n    amqp:\n      password_file: amqp-password\n    nodes:${VALID_NODE}\n`;
    writeFileSync(join(dir, 'warren.yml'), yaml);
    const cluster = loadConfigFile(join(dir, 'warren.yml'), { env: { MGMT_PW: 's3cret-env' } }).clusters.get('a');
    expect(cluster?.management.password.reveal()).toBe('s3cret-env');
    expect(cluster?.amqp.password.reveal()).toBe('s3cret-file');
    const printed = [JSON.stringify(cluster), String(cluster?.management.password), `${cluster?.amqp.password}`, inspect(cluster, { depth: 10 })].join('\n');
    expect(printed).not.toMatch(/s3cret/);
    expect(printed).toContain('<redacted>');
  });

  it('builds the local stack defaults', () => {
    const config = localStackConfig('/tmp/stack', { env: {} });
    const cluster = config.clusters.get('local');
    expect(cluster?.nodes).toHaveLength(3);
    expect(cluster?.nodes[0]?.cli.erlangHome).toBe('/tmp/stack/home');
    expect(cluster?.amqp.loadBalancerUrl).toBe('amqp://127.0.0.1:5670');
    expect(isWarrenError(new ConfigError('x', []), 'CONFIG_INVALID')).toBe(true);
  });
});
