// Where every piece of local-stack state lives. All of it sits under one directory so that
// `down --purge` can remove it and nothing leaks into the system's RabbitMQ or Prometheus dirs.

import path from 'node:path';
import type { LocalStackNode } from '../src/config/local-stack.ts';
import type { Broker } from './broker.ts';
import { localRemediatorTokenFile, localStackDir } from '../src/config/local-stack.ts';

export interface NodePaths {
  readonly dir: string;
  /** RABBITMQ_CONFIG_FILE wants the path without the `.conf` suffix. */
  readonly configBase: string;
  readonly configFile: string;
  readonly enabledPluginsFile: string;
  readonly mnesiaBase: string;
  readonly pidFile: string;
  readonly logDir: string;
  /** The node's own log, written by RabbitMQ into logDir. */
  readonly mainLog: string;
  /** stdout/stderr of `rabbitmq-server -detached` (boot failures before logging starts). */
  readonly launcherLog: string;
  /** Where the VM writes erl_crash.dump when it dies (ERL_CRASH_DUMP). */
  readonly crashDump: string;
}

export interface ServicePaths {
  readonly dir: string;
  readonly pidFile: string;
  readonly logFile: string;
}

export interface StackPaths {
  readonly repoRoot: string;
  readonly stackDir: string;
  /** Written when the state dir is created; `down --purge` only deletes a dir carrying it. */
  readonly markerFile: string;
  readonly logsDir: string;
  readonly aptLog: string;
  readonly haproxy: ServicePaths & { readonly configFile: string; readonly adminSocket: string };
  readonly prometheus: ServicePaths & { readonly configFile: string; readonly dataDir: string };
  /** Rendered from `templateFile` (the repo's alerting/alertmanager.yml) by `up`. */
  readonly alertmanager: ServicePaths & { readonly configFile: string; readonly templateFile: string };
  /** Bearer token shared by the local Alertmanager and `warren remediator`. */
  readonly remediatorTokenFile: string;
}

/** The repository root: this file lives in `<repo>/stack/`. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

export function stackPaths(env: NodeJS.ProcessEnv = process.env, repoRoot: string = REPO_ROOT): StackPaths {
  const stackDir = path.resolve(repoRoot, localStackDir(env, repoRoot));
  const logsDir = path.join(stackDir, 'logs');
  const serviceDir = (name: string): ServicePaths => ({
    dir: path.join(stackDir, name),
    pidFile: path.join(stackDir, name, `${name}.pid`),
    logFile: path.join(logsDir, `${name}.log`),
  });
  const haproxy = serviceDir('haproxy');
  const prometheus = serviceDir('prometheus');
  return {
    repoRoot,
    stackDir,
    markerFile: path.join(stackDir, '.warren-stack'),
    logsDir,
    aptLog: path.join(logsDir, 'apt.log'),
    haproxy: {
      ...haproxy,
      configFile: path.join(haproxy.dir, 'haproxy.cfg'),
      adminSocket: path.join(haproxy.dir, 'admin.sock'),
    },
    prometheus: {
      ...prometheus,
      configFile: path.join(repoRoot, 'stack', 'prometheus.yml'),
      dataDir: path.join(prometheus.dir, 'data'),
    },
    alertmanager: {
      ...serviceDir('alertmanager'),
      configFile: path.join(stackDir, 'alertmanager', 'alertmanager.yml'),
      templateFile: path.join(repoRoot, 'alerting', 'alertmanager.yml'),
    },
    remediatorTokenFile: localRemediatorTokenFile(stackDir),
  };
}

/** `rabbit2@localhost` → `rabbit2`: the per-node directory name. */
export function nodeShortName(node: LocalStackNode): string {
  return node.name.split('@')[0] ?? node.name;
}

/** A node's files on the host, under its profile's directories. */
export function nodePaths(broker: Broker, node: LocalStackNode): NodePaths {
  const short = nodeShortName(node);
  const dir = path.join(broker.nodesDir, short);
  const logDir = path.join(broker.logsDir, short);
  return {
    dir,
    configBase: path.join(dir, 'rabbitmq'),
    configFile: path.join(dir, 'rabbitmq.conf'),
    enabledPluginsFile: path.join(dir, 'enabled_plugins'),
    mnesiaBase: path.join(dir, 'mnesia'),
    pidFile: path.join(dir, `${short}.pid`),
    logDir,
    mainLog: path.join(logDir, `${node.name}.log`),
    launcherLog: path.join(logDir, 'launcher.log'),
    crashDump: path.join(logDir, 'erl_crash.dump'),
  };
}
