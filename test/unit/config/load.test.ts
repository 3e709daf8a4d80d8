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
    ['health-check interval below a second', `exporter:\n  health_checks:\n    interval: 500ms\nclusters:\n  a:\n    nodes:${VALID_NODE}\n`, 'exporter.health_checks.interval', /between 1s and/, 3],
    ['unknown health-check key', `exporter:\n  health_checks:\n    enabled: false\nclusters:\n  a:\n    nodes:${VALID_NODE}\n`, 'exporter.health_checks.enabled', /unknown key/, 3],
    ['literal braces without the escape', `clusters:\n  a:\n    cli:\n      commands:\n        start: [/usr/sbin/erl, -kernel, inet_dist_use_interface, "{127,0,0,1}"]\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.commands.start[3]', /unknown placeholder \{127,0,0,1\}: .*write \{\{127,0,0,1\}\} for literal braces/, 5],
    ['a lone opening brace in a template', `clusters:\n  a:\n    cli:\n      commands:\n        restart: [/bin/systemctl, restart, "rabbit-{host"]\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.commands.restart[2]', /unmatched \{ at character 8: write \{\{ for a literal \{/, 5],
    ['a lone closing brace in a node prefix', `clusters:\n  a:\n    nodes:\n      - name: rabbit1@localhost\n        management_url: http://127.0.0.1:15672\n        cli:\n          command_prefix: [/usr/bin/docker, exec, "rabbit}"]\n`, 'clusters.a.nodes[0].cli.command_prefix[2]', /unmatched \} at character 7: write \}\} for a literal \}/, 7],
    ['a placeholder as the prefix program', `clusters:\n  a:\n    cli:\n      command_prefix: ["/opt/{host}/bin/kubectl", exec]\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.command_prefix[0]', /the program itself cannot be a placeholder/, 4],
    ['an unknown placeholder in the prefix', `clusters:\n  a:\n    cli:\n      command_prefix: [/usr/bin/kubectl, exec, "{pod}"]\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.command_prefix[2]', /unknown placeholder \{pod\}/, 4],
    ['a bad environment variable name', `clusters:\n  a:\n    cli:\n      env:\n        ERL-EPMD-PORT: "4371"\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.env.ERL-EPMD-PORT', /invalid environment variable name "ERL-EPMD-PORT": use letters, digits and _, not starting with a digit/, 5],
    ['an environment variable name starting with a digit', `clusters:\n  a:\n    nodes:\n      - name: rabbit1@localhost\n        management_url: http://127.0.0.1:15672\n        cli:\n          env: { 1PORT: x }\n`, 'clusters.a.nodes[0].cli.env.1PORT', /invalid environment variable name "1PORT"/, 7],
    ['__proto__ as an environment variable name', `clusters:\n  a:\n    cli:\n      env:\n        __proto__: x\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.env.__proto__', /invalid environment variable name "__proto__"/, 5],
    ['a list as an environment value', `clusters:\n  a:\n    cli:\n      env:\n        ERL_EPMD_PORT: [4371]\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.env.ERL_EPMD_PORT', /must be a string or an integer, got a list/, 5],
    ['a boolean as an environment value', `clusters:\n  a:\n    cli:\n      env:\n        USE_LONGNAMES: true\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.env.USE_LONGNAMES', /got a boolean: quote it/, 5],
    ['a fraction as an environment value', `clusters:\n  a:\n    cli:\n      env:\n        RATIO: 0.5\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.env.RATIO', /got a number that is not an integer/, 5],
    ['an environment variable without a value', `clusters:\n  a:\n    cli:\n      env:\n        EMPTY:\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.env.EMPTY', /got no value: quote it/, 5],
    ['env that is not a map', `clusters:\n  a:\n    cli:\n      env: [ERL_EPMD_PORT=4371]\n    nodes:${VALID_NODE}\n`, 'clusters.a.cli.env', /expected a map of NAME: value/, 4],
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

/** A config whose `remediation:` key is on line 6, so the section's first line is line 7. */
const withRemediation = (section: string): string => `clusters:\n  a:\n    nodes:${VALID_NODE}\nremediation:\n${section}`;
const rule = (extra: string, strategies = '[{ strategy: notify_only }]'): string => `  rules:\n    - name: r\n      matchers: ['fault="x"']\n      strategies: ${strategies}\n${extra}`;

describe('remediation validation reports each problem with its YAML path', () => {
  it.each([
    ['unknown key', '  mod: enforce\n', 'remediation.mod', /unknown key/, 7],
    ['bad mode', '  mode: yolo\n', 'remediation.mode', /dry_run.*approve.*enforce/, 7],
    ['body size out of range', '  max_body_size: 10\n', 'remediation.max_body_size', />=1024/, 7],
    ['acknowledgement point unknown', '  acknowledge_after: fsync\n', 'remediation.acknowledge_after', /flush.*write/, 7],
    ['negative cooldown', '  cooldown: -1s\n', 'remediation.cooldown', /invalid duration/, 7],
    ['two ways to give the bearer token', '  auth:\n    bearer_token: x\n    bearer_token_env: TOKEN\n', 'remediation.auth.bearer_token_env', /give only one of bearer_token, bearer_token_env/, 9],
    ['empty auth', '  auth: {}\n', 'remediation.auth', /give bearer_token .*basic_auth, or both/, 7],
    ['basic auth without a password', '  auth:\n    basic_auth: { username: am }\n', 'remediation.auth.basic_auth.password', /required: give one of password, password_env, password_file/, 8],
    ['bearer token env var not set', '  auth:\n    bearer_token_env: NOT_SET_ANYWHERE\n', 'remediation.auth.bearer_token_env', /NOT_SET_ANYWHERE is not set/, 8],
    ['alertmanager without url', '  alertmanager: { check_silences: true }\n', 'remediation.alertmanager.url', /required/, 7],
    ['escalation webhook with a bad scheme', '  escalation_webhook: { url: "ftp://x" }\n', 'remediation.escalation_webhook.url', /scheme must be one of http, https/, 7],
    ['unknown strategy lists the known ones', rule('', '[{ strategy: restart_node }]'), 'remediation.rules[0].strategies[0].strategy', /unknown strategy "restart_node": known strategies are notify_only, sync_queue/, 10],
    ['unknown param names the allowed ones', rule('', '[{ strategy: sync_queue, params: { vhost: a, queue: b, node: c } }]'), 'remediation.rules[0].strategies[0].params.node', /unknown param for sync_queue: allowed vhost, queue, cluster/, 10],
    ['missing required param', rule('', '[{ strategy: sync_queue, params: { vhost: a } }]'), 'remediation.rules[0].strategies[0].params.queue', /required by strategy sync_queue/, 10],
    ['template other than $labels', rule('', `[{ strategy: sync_queue, params: { vhost: '{{ .Labels.vhost }}', queue: q } }]`), 'remediation.rules[0].strategies[0].params.vhost', /unsupported template \{\{ \.Labels\.vhost \}\}/, 10],
    ['literal cluster param naming no cluster', rule('', '[{ strategy: notify_only, params: { cluster: prod } }]'), 'remediation.rules[0].strategies[0].params.cluster', /names no configured cluster \(have: a\)/, 10],
    ['cluster param on a later step', rule('', '[{ strategy: notify_only }, { strategy: notify_only, params: { cluster: a } }]'), 'remediation.rules[0].strategies[1].params.cluster', /give cluster on the first step only/, 10],
    ['bad matcher syntax', `  rules:\n    - name: r\n      matchers: ['fault="x"', 'severity critical']\n      strategies: [{ strategy: notify_only }]\n`, 'remediation.rules[0].matchers[1]', /invalid matcher "severity critical": no operator/, 9],
    ['invalid matcher regex', `  rules:\n    - name: r\n      matchers: ['queue=~"(orders"']\n      strategies: [{ strategy: notify_only }]\n`, 'remediation.rules[0].matchers[0]', /invalid matcher "queue=~\\"\(orders\\"": invalid regular expression/, 9],
    ['no matchers', `  rules:\n    - name: r\n      matchers: []\n      strategies: [{ strategy: notify_only }]\n`, 'remediation.rules[0].matchers', /at least one matcher/, 9],
    ['no strategies', rule('', '[]'), 'remediation.rules[0].strategies', /at least one strategy/, 10],
    ['bad rule name', `  rules:\n    - name: "my rule"\n      matchers: ['a="b"']\n      strategies: [{ strategy: notify_only }]\n`, 'remediation.rules[0].name', /letters, digits/, 8],
    ['duplicate rule names', `${rule('')}    - name: r\n      matchers: ['a="b"']\n      strategies: [{ strategy: notify_only }]\n`, 'remediation.rules[1].name', /duplicate rule name r \(also rules\[0\]\)/, 11],
    ['a rule named like a shipped default', `  rules:\n    - name: default-disk_low\n      matchers: ['a="b"']\n      strategies: [{ strategy: notify_only }]\n`, 'remediation.rules[0].name', /shipped default rule/, 8],
    ['bad rule status', rule('      status: pending\n'), 'remediation.rules[0].status', /firing.*resolved.*any/, 11],
    ['unknown breaker key', rule('      breaker: { max_attemps: 2 }\n'), 'remediation.rules[0].breaker.max_attemps', /unknown key/, 11],
    ['duplicate window names', '  maintenance_windows:\n    - { name: w, start: "01:00", end: "02:00" }\n    - { name: w, start: "03:00", end: "04:00" }\n', 'remediation.maintenance_windows[1].name', /duplicate window name w/, 9],
    ['both window forms', '  maintenance_windows:\n    - name: w\n      start: "01:00"\n      end: "02:00"\n      from: 2026-12-01T00:00:00Z\n      to: 2026-12-01T06:00:00Z\n', 'remediation.maintenance_windows[0].from', /weekly .* or absolute .*, not both/, 11],
    ['neither window form', '  maintenance_windows:\n    - name: w\n      timezone: UTC\n', 'remediation.maintenance_windows[0].start', /required \(a weekly window needs start and end\)/, 8],
    ['invalid time zone', '  maintenance_windows:\n    - { name: w, start: "01:00", end: "02:00", timezone: Europe/Atlantis }\n', 'remediation.maintenance_windows[0].timezone', /unknown time zone "Europe\/Atlantis"/, 8],
    ['bad clock time', '  maintenance_windows:\n    - { name: w, start: "24:00", end: "02:00" }\n', 'remediation.maintenance_windows[0].start', /HH:MM/, 8],
    ['start equals end', '  maintenance_windows:\n    - { name: w, start: "02:00", end: "02:00" }\n', 'remediation.maintenance_windows[0].end', /must differ from start/, 8],
    ['unknown weekday', '  maintenance_windows:\n    - { name: w, weekdays: [saturday], start: "01:00", end: "02:00" }\n', 'remediation.maintenance_windows[0].weekdays[0]', /"sun"\|"mon"/, 8],
    ['absolute window ending before it starts', '  maintenance_windows:\n    - name: w\n      from: 2026-12-01T06:00:00Z\n      to: 2026-12-01T00:00:00Z\n', 'remediation.maintenance_windows[0].to', /must be after from/, 10],
    ['instant without an offset', '  maintenance_windows:\n    - name: w\n      from: 2026-12-01T00:00:00\n      to: 2026-12-01T06:00:00Z\n', 'remediation.maintenance_windows[0].from', /ISO-8601 instant with a time zone offset/, 9],
    ['impossible date', '  maintenance_windows:\n    - name: w\n      from: 2026-02-30T00:00:00Z\n      to: 2026-12-01T06:00:00Z\n', 'remediation.maintenance_windows[0].from', /ISO-8601 instant/, 9],
  ])('%s', (_name, section, path, message, line) => {
    const problems = problemsOf(withRemediation(section));
    const problem = problems.find((p) => p.path === path);
    expect(problem, JSON.stringify(problems)).toBeDefined();
    expect(problem?.message).toMatch(message);
    expect(problem?.line).toBe(line);
  });

  it('collects every remediation problem of a file in one pass', () => {
    const section = `  mode: yolo\n  maintenance_windows:\n    - { name: w, start: "02:00", end: "02:00", timezone: Nowhere/Land }\n    - { name: w, from: 2026-12-01T00:00:00Z, to: 2026-11-01T00:00:00Z }\n  rules:\n    - name: r\n      matchers: ['bad matcher']\n      strategies:\n        - { strategy: sync_queue, params: { vhost: '{{ $labels.vhost' } }\n        - { strategy: reboot }\n    - name: r\n      matchers: ['a="b"']\n      strategies: [{ strategy: notify_only }]\n`;
    expect(problemsOf(withRemediation(section)).map((p) => p.path)).toEqual([
      'remediation.mode',
      'remediation.maintenance_windows[0].end',
      'remediation.maintenance_windows[0].timezone',
      'remediation.maintenance_windows[1].name',
      'remediation.maintenance_windows[1].to',
      'remediation.rules[0].matchers[0]',
      'remediation.rules[0].strategies[0].params.queue',
      'remediation.rules[0].strategies[0].params.vhost',
      'remediation.rules[0].strategies[1].strategy',
      'remediation.rules[1].name',
    ]);
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
    expect(config.exporter.healthChecks).toEqual({ intervalMs: 15_000 });
  });

  it('reads the health-check interval of the exporter', () => {
    const config = parseConfigText(`exporter:\n  health_checks:\n    interval: 1m\nclusters:\n  a:\n    nodes:${VALID_NODE}\n`, '/etc/warren/warren.yml', { env: {} });
    expect(config.exporter.healthChecks).toEqual({ intervalMs: 60_000 });
  });

  it('lets node CLI settings override the cluster ones', () => {
    const yaml = `clusters:\n  a:\n    cli:\n      erlang_home: /var/lib/rabbitmq\n      timeout: 30s\n      commands:\n        restart: [/bin/systemctl, restart, rabbitmq-server]\n    nodes:\n      - name: rabbit1@h1\n        management_url: http://h1:15672\n        cli:\n          erlang_home: /srv/h1\n          commands:\n            restart: [/usr/bin/ssh, "ops@{host}", reboot]\n      - name: rabbit2@h2\n        management_url: http://h2:15672\n`;
    const [first, second] = parseConfigText(yaml, '/etc/warren.yml', { env: {} }).clusters.get('a')?.nodes ?? [];
    expect(first?.cli).toMatchObject({ erlangHome: '/srv/h1', timeoutMs: 30_000, commands: { restart: ['/usr/bin/ssh', 'ops@{host}', 'reboot'] } });
    expect(second?.cli).toMatchObject({ erlangHome: '/var/lib/rabbitmq', commands: { restart: ['/bin/systemctl', 'restart', 'rabbitmq-server'] } });
  });

  it('reads cli.env, command_prefix and escaped braces, node settings over cluster ones', () => {
    const yaml = `clusters:
  a:
    cli:
      bin_dir: /usr/lib/rabbitmq/bin
      env:
        ERL_EPMD_PORT: 4371
        RABBITMQ_CTL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}"
      command_prefix: [/usr/bin/unshare, --mount-proc=/srv/rmq4/proc, /usr/sbin/chroot, /srv/rmq4]
      commands:
        start: [/usr/sbin/rabbitmq-server, -kernel, inet_dist_use_interface, "{{127,0,0,1}}", "{{{node}}}"]
    nodes:
      - name: rabbit1@h1
        management_url: http://h1:15672
        cli:
          env: { ERL_EPMD_PORT: "4372", HOME: /srv/h1 }
          command_prefix: [/usr/bin/kubectl, exec, -n, rabbitmq, "{host}", --]
      - name: rabbit2@h2
        management_url: http://h2:15672
      - name: rabbit3@h3
        management_url: http://h3:15672
        cli: { command_prefix: [] }
`;
    const [first, second, third] = parseConfigText(yaml, '/etc/warren.yml', { env: {} }).clusters.get('a')?.nodes ?? [];
    expect(first?.cli).toMatchObject({
      env: { ERL_EPMD_PORT: '4372', RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}', HOME: '/srv/h1' },
      commandPrefix: ['/usr/bin/kubectl', 'exec', '-n', 'rabbitmq', '{host}', '--'],
    });
    // A YAML integer is taken as its decimal text.
    expect(second?.cli.env).toEqual({ ERL_EPMD_PORT: '4371', RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}' });
    expect(second?.cli.commandPrefix).toEqual(['/usr/bin/unshare', '--mount-proc=/srv/rmq4/proc', '/usr/sbin/chroot', '/srv/rmq4']);
    expect(second?.cli.commands.start).toEqual(['/usr/sbin/rabbitmq-server', '-kernel', 'inet_dist_use_interface', '{{127,0,0,1}}', '{{{node}}}']);
    expect(third?.cli.commandPrefix).toEqual([]);
  });

  it('defaults cli.env and command_prefix to nothing', () => {
    const cli = parseConfigText(`clusters:\n  a:\n    nodes:${VALID_NODE}\n`, '/etc/warren.yml', { env: {} }).clusters.get('a')?.nodes[0]?.cli;
    expect(cli).toMatchObject({ env: {}, commandPrefix: [] });
  });

  it('reports every bad cli.env entry and template item of a file in one pass', () => {
    const problems = problemsOf(`clusters:\n  a:\n    cli:\n      env: { 9X: a, OK: [1], GOOD: fine }\n      command_prefix: ["{node}", "a{"]\n    nodes:${VALID_NODE}\n`);
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['clusters.a.cli.env.9X', 'clusters.a.cli.env.OK', 'clusters.a.cli.command_prefix[0]', 'clusters.a.cli.command_prefix[1]']));
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
