// Node control through RabbitMQ's CLI tools (rabbitmqctl, rabbitmq-queues, rabbitmq-upgrade,
// rabbitmq-diagnostics) or a site's own argv templates (systemd, kubectl, ssh). Programs run with
// execFile and an argument array, never through a shell; every value placed in an argv is validated
// first, and only nodes configured for the cluster can be targeted.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { ClusterConfig, NodeConfig, TemplatableOperation } from '../config/types.ts';
import { WarrenError } from '../errors.ts';
import { assertCliResourceName, assertNodeName, nodeHost } from './names.ts';

export type CliTool = 'rabbitmqctl' | 'rabbitmq-queues' | 'rabbitmq-upgrade' | 'rabbitmq-diagnostics';

export interface CommandSpec {
  file: string;
  args: readonly string[];
  env: Record<string, string>;
  timeoutMs: number;
}

export interface CommandResult {
  file: string;
  args: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs one program; injectable so remediation dry-runs and audits can record without running. */
export type CommandRunner = (spec: CommandSpec, signal?: AbortSignal) => Promise<CommandResult>;

export const execFileRunner: CommandRunner = (spec, signal) => {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      spec.file,
      [...spec.args],
      { env: spec.env, timeout: spec.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, signal, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const durationMs = performance.now() - started;
        const failure = error as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
        if (failure && (failure.killed || failure.name === 'AbortError') && typeof failure.code !== 'number') {
          const why = failure.name === 'AbortError' ? 'aborted' : `timed out after ${spec.timeoutMs} ms`;
          reject(new WarrenError('CLI_TIMEOUT', `${describeCommand(spec)} ${why}`, { cause: error }));
          return;
        }
        if (failure && typeof failure.code !== 'number') {
          reject(new WarrenError('CLI_FAILED', `${describeCommand(spec)} could not start: ${failure.message}`, { cause: error }));
          return;
        }
        resolve({ file: spec.file, args: spec.args, exitCode: typeof failure?.code === 'number' ? failure.code : 0, stdout, stderr, durationMs });
      },
    );
  });
};

export function describeCommand(spec: { file: string; args: readonly string[] }): string {
  return [spec.file, ...spec.args].map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : JSON.stringify(part))).join(' ');
}

export interface NodeControlDeps {
  runner?: CommandRunner;
  /** The environment programs inherit PATH and locale from. */
  env?: NodeJS.ProcessEnv;
}

export class NodeControl {
  readonly #cluster: ClusterConfig;
  readonly #runner: CommandRunner;
  readonly #env: NodeJS.ProcessEnv;

  constructor(cluster: ClusterConfig, deps: NodeControlDeps = {}) {
    this.#cluster = cluster;
    this.#runner = deps.runner ?? execFileRunner;
    this.#env = deps.env ?? process.env;
  }

  /** The command a CLI tool call would run, without running it (dry-run, audit). */
  cliCommand(tool: CliTool, node: string, args: readonly string[]): CommandSpec {
    const config = this.#node(node);
    return {
      file: join(config.cli.binDir, tool),
      args: ['-n', config.name, ...args],
      env: this.#childEnv(config),
      timeoutMs: config.cli.timeoutMs,
    };
  }

  /** The command an operation would run: the site's template when configured, else the built-in. */
  operationCommands(operation: TemplatableOperation, node: string): CommandSpec[] {
    const config = this.#node(node);
    const template = config.cli.commands[operation];
    if (template) return [this.#fromTemplate(template, config)];
    switch (operation) {
      case 'stop_app':
      case 'start_app':
      case 'stop':
        return [this.cliCommand('rabbitmqctl', node, [operation])];
      case 'restart':
        // Without a service manager, a restart is an application restart inside the running VM.
        return [this.cliCommand('rabbitmqctl', node, ['stop_app']), this.cliCommand('rabbitmqctl', node, ['start_app'])];
      case 'start':
        throw new WarrenError('INVALID_ARGUMENT', `starting a stopped node needs a service manager: configure cli.commands.start for ${config.name}`);
    }
  }

  async runOperation(operation: TemplatableOperation, node: string, signal?: AbortSignal): Promise<CommandResult[]> {
    const results: CommandResult[] = [];
    for (const spec of this.operationCommands(operation, node)) results.push(await this.#runChecked(spec, signal));
    return results;
  }

  /** Runs a CLI tool against a node and fails on a non-zero exit. */
  async cli(tool: CliTool, node: string, args: readonly string[], signal?: AbortSignal): Promise<CommandResult> {
    return this.#runChecked(this.cliCommand(tool, node, args), signal);
  }

  /** Like cli() but returns non-zero exits instead of throwing (checks whose failure is an answer). */
  async cliStatus(tool: CliTool, node: string, args: readonly string[], signal?: AbortSignal): Promise<CommandResult> {
    return this.#runner(this.cliCommand(tool, node, args), signal);
  }

  async stopApp(node: string, signal?: AbortSignal): Promise<CommandResult[]> {
    return this.runOperation('stop_app', node, signal);
  }

  async startApp(node: string, signal?: AbortSignal): Promise<CommandResult[]> {
    return this.runOperation('start_app', node, signal);
  }

  async restart(node: string, signal?: AbortSignal): Promise<CommandResult[]> {
    return this.runOperation('restart', node, signal);
  }

  async awaitStartup(node: string, timeoutSeconds: number, signal?: AbortSignal): Promise<CommandResult> {
    return this.cli('rabbitmqctl', node, ['await_startup', '--timeout', String(Math.max(1, Math.round(timeoutSeconds)))], signal);
  }

  /** True when the node's VM answers and the RabbitMQ application is running on it. */
  async isRunning(node: string, signal?: AbortSignal): Promise<boolean> {
    const result = await this.cliStatus('rabbitmq-diagnostics', node, ['-q', 'check_running'], signal);
    return result.exitCode === 0;
  }

  async status(node: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return parseJson(await this.cli('rabbitmqctl', node, ['status', '--formatter', 'json'], signal));
  }

  async clusterStatus(node: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return parseJson(await this.cli('rabbitmqctl', node, ['cluster_status', '--formatter', 'json'], signal));
  }

  /** `rabbitmqctl list_queues` rows for a vhost, with the given info items as keys. */
  async listQueues(node: string, vhost: string, columns: readonly string[], signal?: AbortSignal): Promise<Record<string, unknown>[]> {
    for (const column of columns) {
      if (!/^[a-z_]+$/.test(column)) throw new WarrenError('INVALID_ARGUMENT', `invalid list_queues column ${JSON.stringify(column)}`);
    }
    const args = ['-q', 'list_queues', '-p', assertCliResourceName(vhost, 'vhost'), '--formatter', 'json', ...columns];
    return parseJson(await this.cli('rabbitmqctl', node, args, signal));
  }

  /** Synchronises a classic mirrored queue (3.x); blocks until the sync finishes. */
  async syncQueue(node: string, vhost: string, queue: string, signal?: AbortSignal): Promise<CommandResult> {
    return this.cli('rabbitmqctl', node, ['sync_queue', '-p', assertCliResourceName(vhost, 'vhost'), assertCliResourceName(queue, 'queue name')], signal);
  }

  /** Exit code 0 when the node can stop without quorum queues losing their majority. */
  async checkQuorumCritical(node: string, signal?: AbortSignal): Promise<CommandResult> {
    return this.cliStatus('rabbitmq-queues', node, ['-q', 'check_if_node_is_quorum_critical'], signal);
  }

  async drain(node: string, signal?: AbortSignal): Promise<CommandResult> {
    return this.cli('rabbitmq-upgrade', node, ['drain'], signal);
  }

  async revive(node: string, signal?: AbortSignal): Promise<CommandResult> {
    return this.cli('rabbitmq-upgrade', node, ['revive'], signal);
  }

  async #runChecked(spec: CommandSpec, signal?: AbortSignal): Promise<CommandResult> {
    const result = await this.#runner(spec, signal);
    if (result.exitCode !== 0) {
      const detail = firstLine(result.stderr) || firstLine(result.stdout) || 'no output';
      throw Object.assign(new WarrenError('CLI_FAILED', `${describeCommand(spec)} exited ${result.exitCode}: ${detail}`), { result });
    }
    return result;
  }

  #node(node: string): NodeConfig {
    assertNodeName(node);
    const config = this.#cluster.nodes.find((candidate) => candidate.name === node);
    if (!config) throw new WarrenError('UNKNOWN_NODE', `node ${node} is not configured in cluster ${this.#cluster.name}`);
    return config;
  }

  #fromTemplate(template: readonly string[], node: NodeConfig): CommandSpec {
    const values: Record<string, string> = { node: node.name, host: nodeHost(node.name), cluster: this.#cluster.name };
    // Placeholders are replaced inside one argument; a value can never add or split arguments.
    const [file, ...args] = template.map((part) => part.replace(/\{(node|host|cluster)\}/g, (_, key: string) => values[key] as string));
    return { file: file as string, args, env: this.#childEnv(node), timeoutMs: node.cli.timeoutMs };
  }

  /** A minimal environment: no inherited secrets, HOME pointing at the Erlang cookie. */
  #childEnv(node: NodeConfig): Record<string, string> {
    const env: Record<string, string> = {
      PATH: this.#env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
    };
    const home = node.cli.erlangHome ?? this.#env.HOME;
    if (home !== undefined) env.HOME = home;
    return env;
  }
}

function firstLine(text: string): string {
  return text.split('\n').map((line) => line.trim()).find((line) => line !== '') ?? '';
}

function parseJson<T>(result: CommandResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new WarrenError('CLI_FAILED', `${describeCommand(result)}: output is not JSON: ${firstLine(result.stdout).slice(0, 200)}`);
  }
}
