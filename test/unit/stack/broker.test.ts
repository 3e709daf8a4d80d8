// The stack's RabbitMQ profiles: which one `up` picks, and how each one's programs are launched.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localStackConfig } from '../../../src/config/load.ts';
import { localProfileFile } from '../../../src/config/local-stack.ts';
import { brokerArgv, brokerEnv, brokerFor, brokerView, chooseProfile } from '../../../stack/broker.ts';
import { nodePaths, stackPaths } from '../../../stack/paths.ts';
import { nodeServerEnv } from '../../../stack/rabbitmq-nodes.ts';

const dirs: string[] = [];
function stackDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-stack-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const node = { name: 'rabbit2@localhost', index: 2, amqpPort: 5673, managementPort: 15673, prometheusPort: 15693, distributionPort: 25673 };

describe('choosing the profile', () => {
  it('takes --rabbitmq, then $WARREN_STACK_RABBITMQ, then what the stack last ran, then 3.10', () => {
    const dir = stackDir();
    const paths = stackPaths({ WARREN_STACK_DIR: dir });
    expect(chooseProfile(paths, undefined, {})).toBe('3.10');
    writeFileSync(localProfileFile(dir), '4.0-khepri\n');
    expect(chooseProfile(paths, undefined, {})).toBe('4.0-khepri');
    expect(chooseProfile(paths, undefined, { WARREN_STACK_RABBITMQ: '4.0' })).toBe('4.0');
    expect(chooseProfile(paths, '3.10', { WARREN_STACK_RABBITMQ: '4.0' })).toBe('3.10');
  });

  it('names the bad value and where it came from', () => {
    const paths = stackPaths({ WARREN_STACK_DIR: stackDir() });
    expect(() => chooseProfile(paths, '4.2', {})).toThrow(/--rabbitmq: unknown RabbitMQ profile "4.2"; use one of 3.10, 4.0, 4.0-khepri/);
    expect(() => chooseProfile(paths, undefined, { WARREN_STACK_RABBITMQ: 'latest' })).toThrow(/WARREN_STACK_RABBITMQ: unknown RabbitMQ profile "latest"/);
  });
});

describe('3.10 on the host', () => {
  it('runs the host scripts directly, with the host environment less RABBITMQ_*', () => {
    const dir = stackDir();
    const broker = brokerFor(stackPaths({ WARREN_STACK_DIR: dir }), '3.10');
    expect(brokerArgv(broker, 'rabbitmqctl', ['-n', 'rabbit1@localhost', 'ping'])).toEqual(['/usr/lib/rabbitmq/bin/rabbitmqctl', '-n', 'rabbit1@localhost', 'ping']);
    const env = brokerEnv(broker, { PATH: '/bin', RABBITMQ_NODENAME: 'elsewhere@host', SECRET: 's' });
    expect(env).toMatchObject({ PATH: '/bin', HOME: `${dir}/home`, SECRET: 's' });
    expect(env.RABBITMQ_NODENAME).toBeUndefined();
    expect(nodePaths(broker, node).dir).toBe(`${dir}/rabbit2`);
    expect(brokerView(broker, `${dir}/rabbit2/rabbit2.pid`)).toBe(`${dir}/rabbit2/rabbit2.pid`);
  });
});

describe('4.0 in a root filesystem', () => {
  it('runs every program through unshare and chroot, and passes nothing of the host environment', () => {
    const dir = stackDir();
    const broker = brokerFor(stackPaths({ WARREN_STACK_DIR: dir }), '4.0');
    const root = `${dir}/rootfs/trixie`;
    expect(brokerArgv(broker, 'rabbitmq-upgrade', ['-n', 'rabbit1@localhost', 'drain'])).toEqual([
      '/usr/bin/unshare', '--mount', '--propagation', 'private', `--mount-proc=${root}/proc`, '/usr/sbin/chroot', root,
      '/usr/lib/rabbitmq/bin/rabbitmq-upgrade', '-n', 'rabbit1@localhost', 'drain',
    ]);
    const env = brokerEnv(broker, { PATH: '/host/bin', SECRET: 's', RABBITMQ_NODENAME: 'x' });
    expect(env).toEqual({
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/var/lib/warren/home', LC_ALL: 'C.UTF-8',
      RABBITMQ_CONF_ENV_FILE: '/dev/null', ERL_EPMD_ADDRESS: '127.0.0.1', ERL_EPMD_PORT: '4371',
      RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    });
    expect(broker.cookieFile).toBe(`${root}/var/lib/warren/home/.erlang.cookie`);
  });

  it('keeps each profile\'s node files apart inside the root filesystem, and hands the server paths as it sees them', () => {
    const dir = stackDir();
    const paths = stackPaths({ WARREN_STACK_DIR: dir });
    const root = `${dir}/rootfs/trixie`;
    const mnesia = brokerFor(paths, '4.0');
    const khepri = brokerFor(paths, '4.0-khepri');
    expect(nodePaths(mnesia, node).dir).toBe(`${root}/var/lib/warren/4.0/rabbit2`);
    expect(nodePaths(khepri, node).dir).toBe(`${root}/var/lib/warren/4.0-khepri/rabbit2`);
    expect(khepri.khepri).toBe(true);
    expect(mnesia.khepri).toBe(false);
    const env = nodeServerEnv(mnesia, node);
    expect(env).toMatchObject({
      RABBITMQ_NODENAME: 'rabbit2@localhost',
      RABBITMQ_PID_FILE: '/var/lib/warren/4.0/rabbit2/rabbit2.pid',
      RABBITMQ_LOG_BASE: '/var/log/warren/4.0/rabbit2',
      RABBITMQ_MNESIA_BASE: '/var/lib/warren/4.0/rabbit2/mnesia',
      ERL_EPMD_PORT: '4371',
    });
    expect(() => brokerView(mnesia, '/etc/passwd')).toThrow(/outside the root filesystem/);
  });
});

describe('warren\'s built-in defaults follow the profile the stack runs', () => {
  it('reaches 3.10 on the host and 4.0 through the chroot with its own epmd port', () => {
    const dir = stackDir();
    const host = localStackConfig(dir, { env: {} }).clusters.get('local');
    expect(host?.nodes[0]?.cli).toMatchObject({ binDir: '/usr/lib/rabbitmq/bin', erlangHome: `${dir}/home` });
    writeFileSync(localProfileFile(dir), '4.0\n');
    const chrooted = localStackConfig(dir, { env: {} }).clusters.get('local');
    expect(chrooted?.nodes[0]?.cli).toMatchObject({
      erlangHome: '/var/lib/warren/home',
      commandPrefix: ['/usr/bin/unshare', '--mount', '--propagation', 'private', `--mount-proc=${dir}/rootfs/trixie/proc`, '/usr/sbin/chroot', `${dir}/rootfs/trixie`],
      env: { ERL_EPMD_PORT: '4371', RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}' },
    });
  });
});
