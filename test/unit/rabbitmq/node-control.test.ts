// Argv construction with a recording runner, then real child programs run through the real
// execFileRunner (a fake CLI that prints what it received) for the environment, the command prefix,
// restart's templates and failure reports. RabbitMQ itself is exercised in
// test/integration/node-control.test.ts.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.ts';
import { isWarrenError } from '../../../src/errors.ts';
import {
  CommandFailedError,
  NodeControl,
  describeCommand,
  describePlannedCommand,
  renderArgvItem,
  summariseOutput,
  type CommandResult,
  type CommandSpec,
} from '../../../src/rabbitmq/node-control.ts';

const yaml = `
clusters:
  prod:
    management: { password_env: SECRET_PW }
    cli:
      bin_dir: /opt/rabbitmq/sbin
      erlang_home: /var/lib/rabbitmq
      commands:
        restart: [/usr/bin/ssh, "ops@{host}", sudo, systemctl, restart, "rabbitmq-server@{node}"]
    nodes:
      - name: rabbit@db-1
        management_url: http://db-1:15672
      - name: rabbit@db-2
        management_url: http://db-2:15672
        cli:
          commands:
            stop_app: [/usr/bin/kubectl, -n, "{cluster}", exec, db-2, --, rabbitmqctl, stop_app]
`;

function control(): { nc: NodeControl; ran: CommandSpec[] } {
  const cluster = parseConfigText(yaml, '/etc/warren.yml', { env: { SECRET_PW: 'hunter2' } }).clusters.get('prod');
  const ran: CommandSpec[] = [];
  const nc = new NodeControl(cluster!, {
    env: { PATH: '/usr/bin:/bin', HOME: '/root', SECRET_PW: 'hunter2', WARREN_TOKEN: 'x' },
    runner: async (spec) => {
      ran.push(spec);
      return { file: spec.file, args: spec.args, exitCode: 0, stdout: '[]', stderr: '', durationMs: 1 };
    },
  });
  return { nc, ran };
}

describe('node control argv', () => {
  it('runs CLI tools from bin_dir with -n NODE and a minimal environment holding the cookie HOME', async () => {
    const { nc, ran } = control();
    await nc.syncQueue('rabbit@db-1', '/', 'orders');
    expect(ran[0]).toMatchObject({ file: '/opt/rabbitmq/sbin/rabbitmqctl', args: ['-n', 'rabbit@db-1', 'sync_queue', '-p', '/', 'orders'] });
    expect(ran[0]?.env).toEqual({ PATH: '/usr/bin:/bin', HOME: '/var/lib/rabbitmq', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' });
  });

  it('substitutes template placeholders inside single arguments', () => {
    const { nc } = control();
    expect(nc.operationCommands('restart', 'rabbit@db-1')).toMatchObject([
      { file: '/usr/bin/ssh', args: ['ops@db-1', 'sudo', 'systemctl', 'restart', 'rabbitmq-server@rabbit@db-1'] },
    ]);
    expect(nc.operationCommands('stop_app', 'rabbit@db-2')[0]?.args).toEqual(['-n', 'prod', 'exec', 'db-2', '--', 'rabbitmqctl', 'stop_app']);
  });

  it('uses the built-in commands where no template is configured', () => {
    const { nc } = control();
    expect(nc.operationCommands('stop_app', 'rabbit@db-1').map(describeCommand)).toEqual(['/opt/rabbitmq/sbin/rabbitmqctl -n rabbit@db-1 stop_app']);
    expect(() => nc.operationCommands('start', 'rabbit@db-1')).toThrow(/configure cli.commands.start/);
  });

  it.each([
    ['a shell injection', 'rabbit@db-1; reboot'],
    ['an option', '--help'],
    ['an unconfigured node', 'rabbit@db-9'],
  ])('refuses %s as node before running anything', async (_what, node) => {
    const { nc, ran } = control();
    await expect(nc.stopApp(node)).rejects.toMatchObject({ code: expect.stringMatching(/INVALID_ARGUMENT|UNKNOWN_NODE/) });
    expect(ran).toEqual([]);
  });

  it('refuses vhost and queue names that would read as options', async () => {
    const { nc, ran } = control();
    await expect(nc.syncQueue('rabbit@db-1', '/', '--all')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(nc.listQueues('rabbit@db-1', '/', ['name', 'messages; x'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(ran).toEqual([]);
  });

  it('refuses, through an ssh prefix, any argument the remote shell would re-parse', async () => {
    const yamlWithSsh = yaml.replace('erlang_home: /var/lib/rabbitmq', 'erlang_home: /var/lib/rabbitmq\n      command_prefix: [/usr/bin/ssh, "ops@{host}", sudo]');
    const cluster = parseConfigText(yamlWithSsh, '/etc/warren.yml', { env: { SECRET_PW: 'x' } }).clusters.get('prod');
    const ran: CommandSpec[] = [];
    const nc = new NodeControl(cluster!, { runner: async (spec) => (ran.push(spec), { file: spec.file, args: spec.args, exitCode: 0, stdout: '[]', stderr: '', durationMs: 1 }) });
    await nc.syncQueue('rabbit@db-1', '/', 'orders.eu-1');
    expect(describeCommand(ran[0]!)).toBe('/usr/bin/ssh ops@db-1 sudo /opt/rabbitmq/sbin/rabbitmqctl -n rabbit@db-1 sync_queue -p / orders.eu-1');
    await expect(nc.syncQueue('rabbit@db-1', '/', 'orders;reboot')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/cannot pass through an ssh command_prefix/) });
    await expect(nc.syncQueue('rabbit@db-1', '/', 'my queue')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(ran).toHaveLength(1);
  });

  it('reports a non-zero exit with the command and its error line', async () => {
    const cluster = parseConfigText(yaml, '/etc/warren.yml', { env: { SECRET_PW: 'x' } }).clusters.get('prod');
    const nc = new NodeControl(cluster!, {
      runner: async (spec) => ({ file: spec.file, args: spec.args, exitCode: 69, stdout: '', stderr: '\nError: unable to perform an operation on node\n', durationMs: 1 }),
    });
    await expect(nc.stopApp('rabbit@db-1')).rejects.toThrow('/opt/rabbitmq/sbin/rabbitmqctl -n rabbit@db-1 stop_app exited 69: Error: unable to perform an operation on node');
  });
});

describe('argv template items', () => {
  const values = { node: 'rabbit@db-1', host: 'db-1', cluster: 'prod' };

  it.each([
    ['-kernel inet_dist_use_interface {{127,0,0,1}}', '-kernel inet_dist_use_interface {127,0,0,1}'],
    ['{{{node}}}', '{rabbit@db-1}'],
    ['rabbit-{host}.{cluster}', 'rabbit-db-1.prod'],
    ['}}{{', '}{'],
    ['no braces', 'no braces'],
  ])('renders %s as %s', (item, expected) => {
    expect(renderArgvItem(item, values)).toBe(expected);
  });

  it.each([
    ['{127,0,0,1}', /unknown placeholder \{127,0,0,1\}.*write \{\{127,0,0,1\}\} for literal braces/],
    ['a{b', /unmatched \{ at character 2: write \{\{ for a literal \{/],
    ['a}b', /unmatched \} at character 2: write \}\} for a literal \}/],
    ['{no{de}', /unmatched \{ at character 1/],
  ])('refuses %s', (item, message) => {
    expect(() => renderArgvItem(item, values)).toThrow(message);
  });
});

describe('failure output', () => {
  it('keeps every meaningful line, without colours or blank runs', () => {
    expect(summariseOutput('\n\nError:\n\n\n\u001b[1mnode down\u001b[0m\r\n  * reason one   \n\n')).toBe('Error:\n\nnode down\n  * reason one');
  });

  it('keeps the first and last lines of a long output and stays under about 2000 characters', () => {
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ${'x'.repeat(i % 3 === 0 ? 200 : 10)}`);
    const summary = summariseOutput(lines.join('\n'));
    expect(summary.length).toBeLessThanOrEqual(2100);
    expect(summary).toMatch(/^line 0 /);
    expect(summary).toMatch(/line 199 x+$/);
    expect(summary).toMatch(/omitted/);
  });
});

// ---- real child programs ----

const dir = mkdtempSync(join(tmpdir(), 'warren-fake-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// One fake CLI under every tool name: it prints its path, arguments and environment as JSON, or
// fails the way RabbitMQ's CLI does for a few commands.
const FAKE_CLI = `#!${process.execPath}
const args = process.argv.slice(2);
if (args.includes('sync_queue')) {
  process.stdout.write("Synchronising queue 'q' in vhost '/' ...\\n");
  process.stderr.write("Error:\\nCommand 'sync_queue' not found. \\n\\n\\u001b[1mUsage\\u001b[0m\\n\\nrabbitmqctl [--node <node>] <command>\\n");
  process.exit(64);
}
if (args.includes('drain')) {
  const diagnostics = Array.from({ length: 120 }, (_, i) => '  * diagnostic line ' + i);
  process.stderr.write(['Error:', '', '', "unable to perform an operation on node 'rabbit@db-1'.", '', ...diagnostics, 'Erlang cookie hash: abc'].join('\\n') + '\\n');
  process.exit(69);
}
if (args.includes('stdout_only_failure')) {
  process.stdout.write('Error:\\nthe reason is on stdout\\n');
  process.exit(2);
}
process.stdout.write(JSON.stringify({ program: process.argv[1], args, env: process.env }));
`;
for (const tool of ['rabbitmqctl', 'rabbitmq-queues', 'rabbitmq-upgrade', 'rabbitmq-diagnostics']) {
  writeFileSync(join(dir, tool), FAKE_CLI);
  chmodSync(join(dir, tool), 0o755);
}

interface Received {
  program: string;
  args: string[];
  env: Record<string, string>;
}

const received = (result: CommandResult | undefined): Received => JSON.parse(result?.stdout ?? '') as Received;

/** A cluster `prod` whose CLI is the fake one; `cli` and `nodeCli` are YAML flow mappings' contents. */
function realControl(cli: string, nodeCli = ''): NodeControl {
  const yaml = `
clusters:
  prod:
    cli: { bin_dir: ${JSON.stringify(dir)}, erlang_home: /var/lib/rabbitmq, ${cli} }
    nodes:
      - name: rabbit@db-1
        management_url: http://db-1:15672
      - name: rabbit@db-2
        management_url: http://db-2:15672
        ${nodeCli === '' ? '' : `cli: { ${nodeCli} }`}
`;
  const cluster = parseConfigText(yaml, '/etc/warren.yml').clusters.get('prod');
  // The inherited environment holds a secret the children must never see.
  return new NodeControl(cluster!, { env: { PATH: '/usr/bin:/bin', HOME: '/root', WARREN_TOKEN: 'secret' } });
}

describe('node control running real programs', () => {
  it('passes cli.env to the CLI, on top of the minimal environment, with node values winning', async () => {
    const nc = realControl('env: { ERL_EPMD_PORT: 4371, RABBITMQ_CTL_ERL_ARGS: "-proto_dist inet_tcp", EMPTY: "" }', 'env: { ERL_EPMD_PORT: "4372" }');
    const one = received(await nc.cli('rabbitmqctl', 'rabbit@db-1', ['status']));
    expect(one.program).toBe(join(dir, 'rabbitmqctl'));
    expect(one.args).toEqual(['-n', 'rabbit@db-1', 'status']);
    expect(one.env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/var/lib/rabbitmq',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      ERL_EPMD_PORT: '4371',
      RABBITMQ_CTL_ERL_ARGS: '-proto_dist inet_tcp',
      EMPTY: '',
    });
    expect(received(await nc.cli('rabbitmq-diagnostics', 'rabbit@db-2', ['ping'])).env).toMatchObject({ ERL_EPMD_PORT: '4372', RABBITMQ_CTL_ERL_ARGS: '-proto_dist inet_tcp' });
  });

  it('lets an explicit HOME in cli.env win over erlang_home', async () => {
    const nc = realControl('env: { HOME: /srv/rmq4/home }');
    expect(received(await nc.cli('rabbitmqctl', 'rabbit@db-1', ['status'])).env.HOME).toBe('/srv/rmq4/home');
  });

  it('shows cli.env in a planned command, never in the error or log line', () => {
    const nc = realControl('env: { ERL_EPMD_PORT: 4371 }');
    const [spec] = nc.operationCommands('stop_app', 'rabbit@db-1');
    expect(describePlannedCommand(spec!)).toBe(`ERL_EPMD_PORT=4371 ${join(dir, 'rabbitmqctl')} -n rabbit@db-1 stop_app`);
    expect(describeCommand(spec!)).toBe(`${join(dir, 'rabbitmqctl')} -n rabbit@db-1 stop_app`);
  });

  it('runs every CLI call and built-in operation behind the command prefix, with placeholders and escaped braces filled', async () => {
    // /usr/bin/env stands in for kubectl exec or chroot: it sets what it is given and runs the rest.
    const prefix = 'command_prefix: [/usr/bin/env, "--", "PREFIX_NODE={node}", "PREFIX_WHERE={cluster}/{host}", "PREFIX_TERM={{127,0,0,1}}"]';
    const nc = realControl(`${prefix}, env: { ERL_EPMD_PORT: "4371" }`);
    const [stop] = await nc.stopApp('rabbit@db-1');
    expect(stop).toMatchObject({ file: '/usr/bin/env', args: ['--', 'PREFIX_NODE=rabbit@db-1', 'PREFIX_WHERE=prod/db-1', 'PREFIX_TERM={127,0,0,1}', join(dir, 'rabbitmqctl'), '-n', 'rabbit@db-1', 'stop_app'] });
    const child = received(stop);
    expect(child.program).toBe(join(dir, 'rabbitmqctl'));
    expect(child.args).toEqual(['-n', 'rabbit@db-1', 'stop_app']);
    // The environment is given to the prefix's program, which hands it on.
    expect(child.env).toMatchObject({ PREFIX_NODE: 'rabbit@db-1', PREFIX_WHERE: 'prod/db-1', PREFIX_TERM: '{127,0,0,1}', ERL_EPMD_PORT: '4371', HOME: '/var/lib/rabbitmq' });
    expect(child.env.WARREN_TOKEN).toBeUndefined();
    const drainCheck = await nc.checkQuorumCritical('rabbit@db-1');
    expect(received(drainCheck).program).toBe(join(dir, 'rabbitmq-queues'));
    expect(drainCheck.file).toBe('/usr/bin/env');
  });

  it('does not prefix operation templates, and a node can turn the cluster prefix off', async () => {
    const nc = realControl(`command_prefix: [/usr/bin/env, "--", "PREFIXED=yes"], commands: { stop_app: [${JSON.stringify(join(dir, 'rabbitmqctl'))}, site-stop, "{node}"] }`, 'command_prefix: []');
    const [templated] = await nc.stopApp('rabbit@db-1');
    expect(templated?.file).toBe(join(dir, 'rabbitmqctl'));
    expect(received(templated).env.PREFIXED).toBeUndefined();
    const [unprefixed] = await nc.startApp('rabbit@db-2');
    expect(unprefixed?.file).toBe(join(dir, 'rabbitmqctl'));
    expect(received(unprefixed).args).toEqual(['-n', 'rabbit@db-2', 'start_app']);
  });

  it('restarts through the configured stop_app and start_app templates', async () => {
    const tool = JSON.stringify(join(dir, 'rabbitmqctl'));
    const nc = realControl(`commands: { stop_app: [${tool}, site-stop, "{node}"], start_app: [${tool}, site-start, "{host}"] }`);
    const results = await nc.restart('rabbit@db-1');
    expect(results.map((result) => received(result).args)).toEqual([
      ['site-stop', 'rabbit@db-1'],
      ['site-start', 'db-1'],
    ]);
  });

  it('restarts with the built-in stop_app where only start_app has a template, and a restart template wins over both', async () => {
    const tool = JSON.stringify(join(dir, 'rabbitmqctl'));
    const mixed = realControl(`commands: { start_app: [${tool}, site-start] }`);
    expect((await mixed.restart('rabbit@db-1')).map((result) => received(result).args)).toEqual([['-n', 'rabbit@db-1', 'stop_app'], ['site-start']]);
    const full = realControl(`commands: { stop_app: [${tool}, site-stop], start_app: [${tool}, site-start], restart: [${tool}, site-restart, "{node}"] }`);
    expect((await full.restart('rabbit@db-1')).map((result) => received(result).args)).toEqual([['site-restart', 'rabbit@db-1']]);
  });

  it('reports a failing CLI with its reason lines, bounded, and the whole result attached', async () => {
    const nc = realControl('');
    const error = await nc.drain('rabbit@db-1').then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    const failure = error as CommandFailedError;
    expect(isWarrenError(failure, 'CLI_FAILED')).toBe(true);
    expect(failure.message).toMatch(new RegExp(`^${join(dir, 'rabbitmq-upgrade')} -n rabbit@db-1 drain exited 69: Error:\\n\\nunable to perform an operation on node 'rabbit@db-1'\\.\\n`));
    expect(failure.message).toContain('Erlang cookie hash: abc');
    expect(failure.message).toMatch(/lines omitted/);
    expect(failure.message.length).toBeLessThan(2300);
    expect(failure.result.exitCode).toBe(69);
    expect(failure.result.stderr).toContain('diagnostic line 60');
  });

  it('falls back to stdout when a failing CLI printed nothing on stderr', async () => {
    const nc = realControl('');
    await expect(nc.cli('rabbitmqctl', 'rabbit@db-1', ['stdout_only_failure'])).rejects.toThrow(/stdout_only_failure exited 2: Error:\nthe reason is on stdout$/);
  });

  it('says so when the CLI has no sync_queue command (RabbitMQ 4.0 removed classic mirroring)', async () => {
    const nc = realControl('');
    await expect(nc.syncQueue('rabbit@db-1', '/', 'q')).rejects.toMatchObject({
      code: 'CLI_FAILED',
      message: expect.stringMatching(/sync_queue -p \/ q exited 64: this rabbitmqctl has no sync_queue command \(classic queue mirroring was removed in RabbitMQ 4\.0\)/),
      result: expect.objectContaining({ exitCode: 64 }),
    });
  });
});
