#!/usr/bin/env node
// The one composition root for the command line: parses argv and wires config into commands.
import { Command, CommanderError } from 'commander';
import { describeError, isWarrenError } from '../errors.ts';
import { checkConfigCommand } from './check-config.ts';
import { exporterCommand } from './exporter.ts';
import { resolveConfig } from '../config/source.ts';
import { remediatorCommand } from './remediator.ts';
import { processIo, type CliIo } from './io.ts';
import { statusCommand } from './status.ts';

export async function main(argv: readonly string[], io: CliIo = processIoEndingOnBrokenPipe()): Promise<number> {
  let exitCode = 0;
  const program = new Command('warren')
    .description('RabbitMQ operations: cluster-wide exporter, alert rules, remediation')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text.trimEnd()), writeErr: (text) => io.err(text.trimEnd()) });

  program
    .command('check-config')
    .description('validate a warren.yml and print every problem with its YAML path')
    .argument('<file>', 'config file')
    .option('--json', 'machine-readable report')
    .action((file: string, options: { json?: boolean }) => {
      exitCode = checkConfigCommand(file, options, io);
    });

  program
    .command('status')
    .description('diagnose a cluster: nodes, alarms, health checks, AMQP round trips')
    .option('-c, --config <file>', 'config file (default: $WARREN_CONFIG, ./warren.yml, or the local stack)')
    .option('--cluster <name>', 'cluster to inspect (default: default_cluster)')
    .option('--json', 'machine-readable report')
    .action(async (options: { config?: string; cluster?: string; json?: boolean }) => {
      exitCode = await statusCommand(resolveConfig(options.config, io), options, io);
    });

  program
    .command('exporter')
    .description('serve Prometheus metrics for the configured clusters (/metrics, /probe?target=CLUSTER)')
    .option('-c, --config <file>', 'config file (default: $WARREN_CONFIG, ./warren.yml, or the local stack)')
    .option('--listen <host:port>', 'override exporter.listen_address')
    .action(async (options: { config?: string; listen?: string }) => {
      exitCode = await exporterCommand(resolveConfig(options.config, io), options);
    });

  program
    .command('remediator')
    .description('receive Alertmanager webhooks and run recovery strategies (POST /api/v1/alerts)')
    .option('-c, --config <file>', 'config file (default: $WARREN_CONFIG, ./warren.yml, or the local stack)')
    .option('--listen <host:port>', 'override remediation.listen_address')
    .option('--mode <mode>', 'override remediation.mode: enforce, dry_run or approve')
    .option('--state-file <file>', 'override remediation.state_file (SQLite)')
    .action(async (options: { config?: string; listen?: string; mode?: string; stateFile?: string }) => {
      exitCode = await remediatorCommand(resolveConfig(options.config, io), { ...options, source: { explicit: options.config, env: io.env, cwd: io.cwd } });
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    io.err(isWarrenError(error) ? `error [${error.code}]: ${error.message}` : `error: ${describeError(error)}`);
    return isWarrenError(error) ? 2 : 1;
  }
}

/**
 * `warren status | head`: once the reader has gone, a write fails with EPIPE, emitted as an 'error'
 * event that would otherwise crash the process with a stack trace. Like Unix tools, stop there
 * quietly: nobody is left to read the rest, so the command ends with success.
 */
export function endQuietlyOnBrokenPipe(stream: NodeJS.EventEmitter, exit: (code: number) => void = (code) => process.exit(code)): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    exit(0);
  });
}

let brokenPipesHandled = false;

/** The process's own streams (bin/warren.js), set up once to end quietly when the reader goes away. */
function processIoEndingOnBrokenPipe(): CliIo {
  if (!brokenPipesHandled) {
    brokenPipesHandled = true;
    endQuietlyOnBrokenPipe(process.stdout);
    endQuietlyOnBrokenPipe(process.stderr);
  }
  return processIo();
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
