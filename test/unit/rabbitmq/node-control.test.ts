// Argv construction only: the commands themselves are exercised against the real cluster in
// test/integration/node-control.test.ts.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.ts';
import { NodeControl, describeCommand, type CommandSpec } from '../../../src/rabbitmq/node-control.ts';

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

  it('reports a non-zero exit with the command and its first error line', async () => {
    const cluster = parseConfigText(yaml, '/etc/warren.yml', { env: { SECRET_PW: 'x' } }).clusters.get('prod');
    const nc = new NodeControl(cluster!, {
      runner: async (spec) => ({ file: spec.file, args: spec.args, exitCode: 69, stdout: '', stderr: '\nError: unable to perform an operation on node\n', durationMs: 1 }),
    });
    await expect(nc.stopApp('rabbit@db-1')).rejects.toThrow('/opt/rabbitmq/sbin/rabbitmqctl -n rabbit@db-1 stop_app exited 69: Error: unable to perform an operation on node');
  });
});
