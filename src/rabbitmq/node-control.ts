// Node control through RabbitMQ's CLI tools (rabbitmqctl, rabbitmq-queues, rabbitmq-upgrade,
// rabbitmq-diagnostics) or a site's own argv templates (systemd, kubectl, ssh). Programs run with
// execFile and an argument array, never through a shell; every value placed in an argv is validated
// first, and only nodes configured for the cluster can be targeted. A configured command prefix
// (kubectl exec, docker exec, chroot) runs the CLI tools in another world.
import { execFile } from 'node:child_process';
import { basename, join } from 'node:path';
import type { ClusterConfig, NodeConfig, TemplatableOperation } from '../config/types.ts';
import { WarrenError } from '../errors.ts';
import { assertCliResourceName, assertNodeName, nodeHost } from './names.ts';

export type CliTool = 'rabbitmqctl' | 'rabbitmq-queues' | 'rabbitmq-upgrade' | 'rabbitmq-diagnostics';

export interface CommandSpec {
  file: string;
  args: readonly string[];
  /** The child's whole environment. */
  env: Record<string, string>;
  /** The part of `env` the site configured (cli.env): shown in plans, never in errors or logs. */
  siteEnv?: Readonly<Record<string, string>> | undefined;
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

/** One readable line for errors and logs: program and arguments, no environment. */
export function describeCommand(spec: { file: string; args: readonly string[] }): string {
  return [spec.file, ...spec.args].map(quoteForDisplay).join(' ');
}

/** As describeCommand, preceded by the site's cli.env (`NAME=value ...`): for dry-run plans. */
export function describePlannedCommand(spec: Pick<CommandSpec, 'file' | 'args' | 'siteEnv'>): string {
  const env = Object.entries(spec.siteEnv ?? {}).map(([name, value]) => `${name}=${quoteForDisplay(value)}`);
  return [...env, describeCommand(spec)].join(' ');
}

function quoteForDisplay(part: string): string {
  return /^[\w@%+=:,./-]+$/.test(part) ? part : JSON.stringify(part);
}

/** A CLI call or template command that exited non-zero; `result` holds all it printed. */
export class CommandFailedError extends WarrenError {
  readonly result: CommandResult;

  constructor(message: string, result: CommandResult) {
    super('CLI_FAILED', message);
    this.result = result;
  }
}

// ---- argv templates ----

/** Placeholders an argv template item may use; each value is validated before substitution. */
export const ARGV_PLACEHOLDERS = ['node', 'host', 'cluster'] as const;
export type ArgvPlaceholder = (typeof ARGV_PLACEHOLDERS)[number];

type TemplatePiece = { text: string } | { placeholder: ArgvPlaceholder };

/**
 * Splits one argv template item into text and placeholders. `{{` and `}}` are literal braces (as
 * in Python and Rust format strings), so Erlang terms such as `{{127,0,0,1}}` can be written.
 */
function scanArgvItem(item: string): { pieces: TemplatePiece[] } | { problem: string } {
  const pieces: TemplatePiece[] = [];
  let text = '';
  for (let i = 0; i < item.length; i++) {
    const char = item[i] as string;
    if (char === '}') {
      if (item[i + 1] !== '}') return { problem: `unmatched } at character ${i + 1}: write }} for a literal }` };
      text += '}';
      i++;
    } else if (char === '{') {
      if (item[i + 1] === '{') {
        text += '{';
        i++;
        continue;
      }
      const close = item.indexOf('}', i + 1);
      const reopen = item.indexOf('{', i + 1);
      if (close === -1 || (reopen !== -1 && reopen < close)) return { problem: `unmatched { at character ${i + 1}: write {{ for a literal {` };
      const name = item.slice(i + 1, close);
      if (!(ARGV_PLACEHOLDERS as readonly string[]).includes(name)) {
        const known = ARGV_PLACEHOLDERS.map((p) => `{${p}}`).join(', ');
        return { problem: `unknown placeholder {${name}}: use ${known}, or write {{${name}}} for literal braces` };
      }
      if (text !== '') pieces.push({ text });
      text = '';
      pieces.push({ placeholder: name as ArgvPlaceholder });
      i = close;
    } else {
      text += char;
    }
  }
  if (text !== '') pieces.push({ text });
  return { pieces };
}

/** What is wrong with an argv template (item index and message), for config validation. */
export function argvTemplateProblems(argv: readonly string[]): { index: number; message: string }[] {
  const problems: { index: number; message: string }[] = [];
  argv.forEach((item, index) => {
    if (item.includes('\0')) {
      problems.push({ index, message: 'contains a NUL character, which no argument can hold' });
      return;
    }
    const scanned = scanArgvItem(item);
    if ('problem' in scanned) problems.push({ index, message: scanned.problem });
    // The program is fixed by the config: a value from a node name must never choose what runs.
    else if (index === 0 && scanned.pieces.some((piece) => 'placeholder' in piece)) problems.push({ index, message: 'the program itself cannot be a placeholder' });
  });
  return problems;
}

/** Fills one argv item; a placeholder is replaced inside its item, so it never adds or splits arguments. */
export function renderArgvItem(item: string, values: Readonly<Record<ArgvPlaceholder, string>>): string {
  const scanned = scanArgvItem(item);
  if ('problem' in scanned) throw new WarrenError('INVALID_ARGUMENT', `argv template item ${JSON.stringify(item)}: ${scanned.problem}`);
  return scanned.pieces.map((piece) => ('text' in piece ? piece.text : values[piece.placeholder])).join('');
}

export interface NodeControlDeps {
  runner?: CommandRunner;
  /** The environment programs inherit PATH and locale from. */
  env?: NodeJS.ProcessEnv;
}

/** A word a POSIX shell reads as itself: no quoting, globbing, expansion or separators. */
const SHELL_SAFE_WORD = /^[\w@%+=:,./-]+$/;

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
    // The tool path follows the prefix and is resolved in the prefix's world (container, chroot).
    const prefix = this.#render(config.cli.commandPrefix, config);
    const command = [join(config.cli.binDir, tool), '-n', config.name, ...args];
    if (prefix[0] !== undefined && basename(prefix[0]) === 'ssh') {
      // ssh joins its arguments into one line the remote shell parses again: only words that
      // shell leaves alone may pass (a queue name with a space or `;` is refused, not split).
      const unsafe = command.find((part) => !SHELL_SAFE_WORD.test(part));
      if (unsafe !== undefined) throw new WarrenError('INVALID_ARGUMENT', `${JSON.stringify(unsafe)} cannot pass through an ssh command_prefix: the remote shell would re-parse it`);
    }
    const [file, ...rest] = [...prefix, ...command];
    return { file: file as string, args: rest, ...this.#envOf(config), timeoutMs: config.cli.timeoutMs };
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
        // Without a service manager, a restart is an application restart inside the running VM,
        // through the site's stop_app/start_app templates where it has them.
        return [...this.operationCommands('stop_app', node), ...this.operationCommands('start_app', node)];
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

  /**
   * Synchronises a classic mirrored queue; blocks until the sync finishes. RabbitMQ 4.0 removed
   * classic mirroring and the command: callers gate on the `mirrorSync` capability first, and a CLI
   * without the command is reported as such rather than as a bare exit code.
   */
  async syncQueue(node: string, vhost: string, queue: string, signal?: AbortSignal): Promise<CommandResult> {
    const spec = this.cliCommand('rabbitmqctl', node, ['sync_queue', '-p', assertCliResourceName(vhost, 'vhost'), assertCliResourceName(queue, 'queue name')]);
    const result = await this.#runner(spec, signal);
    if (result.exitCode !== 0 && /Command '?sync_queue'? not found/i.test(`${result.stderr}\n${result.stdout}`)) {
      const message = `${describeCommand(spec)} exited ${result.exitCode}: this rabbitmqctl has no sync_queue command (classic queue mirroring was removed in RabbitMQ 4.0)`;
      throw new CommandFailedError(message, result);
    }
    return this.#checked(spec, result);
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
    return this.#checked(spec, await this.#runner(spec, signal));
  }

  #checked(spec: CommandSpec, result: CommandResult): CommandResult {
    if (result.exitCode !== 0) {
      // RabbitMQ's CLI prints `Error:` and puts the reason on the lines after it.
      const detail = summariseOutput(result.stderr) || summariseOutput(result.stdout) || 'no output';
      throw new CommandFailedError(`${describeCommand(spec)} exited ${result.exitCode}: ${detail}`, result);
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
    const [file, ...args] = this.#render(template, node);
    return { file: file as string, args, ...this.#envOf(node), timeoutMs: node.cli.timeoutMs };
  }

  #render(template: readonly string[], node: NodeConfig): string[] {
    const values = { node: node.name, host: nodeHost(node.name), cluster: this.#cluster.name };
    return template.map((item) => renderArgvItem(item, values));
  }

  /**
   * A minimal environment: no inherited secrets, HOME pointing at the Erlang cookie, then the site's
   * cli.env on top (an explicit HOME there wins over erlang_home).
   */
  #envOf(node: NodeConfig): { env: Record<string, string>; siteEnv: Readonly<Record<string, string>> } {
    const env: Record<string, string> = {
      PATH: this.#env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
    };
    const home = node.cli.erlangHome ?? this.#env.HOME;
    if (home !== undefined) env.HOME = home;
    for (const [name, value] of Object.entries(node.cli.env)) env[name] = value;
    return { env, siteEnv: node.cli.env };
  }
}

const OUTPUT_HEAD_LINES = 15;
const OUTPUT_TAIL_LINES = 15;
const OUTPUT_MAX_CHARS = 2000;
const OUTPUT_HEAD_CHARS = 1200;
const OUTPUT_TAIL_CHARS = 750;

/**
 * A failing program's output, bounded for an error message: colours and control characters
 * removed, blank runs collapsed, the first and last lines kept (the reason and the diagnostics).
 */
export function summariseOutput(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  const lines: string[] = [];
  for (const line of clean.split('\n').map((l) => l.trimEnd())) {
    if (line === '' && (lines.length === 0 || lines.at(-1) === '')) continue;
    lines.push(line);
  }
  while (lines.at(-1) === '') lines.pop();
  const kept = lines.length <= OUTPUT_HEAD_LINES + OUTPUT_TAIL_LINES
    ? lines
    : [...lines.slice(0, OUTPUT_HEAD_LINES), `[... ${lines.length - OUTPUT_HEAD_LINES - OUTPUT_TAIL_LINES} lines omitted ...]`, ...lines.slice(-OUTPUT_TAIL_LINES)];
  const joined = kept.join('\n');
  if (joined.length <= OUTPUT_MAX_CHARS) return joined;
  const head = joined.slice(0, OUTPUT_HEAD_CHARS);
  const tail = joined.slice(-OUTPUT_TAIL_CHARS);
  return `${head}\n[... ${joined.length - head.length - tail.length} characters omitted ...]\n${tail}`;
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
