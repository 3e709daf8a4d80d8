// `npm run stack -- up | down [--purge] | status [--json]`: argument handling and output only.

import { parseArgs } from 'node:util';
import { StackError } from './errors.ts';
import type { StackEndpoints } from './stack.ts';
import { formatStatusTable, stackDown, stackStatus, stackUp } from './stack.ts';

const USAGE = `usage: npm run stack -- <command>

  up [--rabbitmq 3.10|4.0|4.0-khepri]
                   install missing packages (as root), start and cluster 3 RabbitMQ nodes,
                   HAProxy, Prometheus and Alertmanager; safe to repeat. 3.10: Debian 12's
                   package; 4.0: Debian 13's, in a root filesystem the stack builds (needs
                   root); 4.0-khepri: 4.0 with the Khepri metadata store. Default:
                   $WARREN_STACK_RABBITMQ, else the profile the stack last ran, else 3.10.
                   Switching profiles stops the other profile's nodes (each keeps its data).
  down [--purge]   stop everything; --purge also deletes the state directory
  status [--json]  show every component; exit 1 unless all are healthy

State lives in $WARREN_STACK_DIR (default <repo>/.stack).`;

function formatEndpoints(endpoints: StackEndpoints, seconds: string): string {
  const nodes = Object.entries(endpoints.nodeManagement).map(([node, url]) => `  node ${node.padEnd(19)} ${url}`);
  return [
    `local stack up in ${seconds}s: ${endpoints.rabbitmq}`,
    `  management (HAProxy)     ${endpoints.management}  (guest/guest)`,
    `  AMQP (HAProxy)           ${endpoints.amqp}`,
    ...nodes,
    `  Prometheus               ${endpoints.prometheus}`,
    `  Alertmanager             ${endpoints.alertmanager}`,
    `  HAProxy stats            ${endpoints.haproxyStats}  (metrics: ${endpoints.haproxyMetrics})`,
    `  HAProxy runtime socket   ${endpoints.haproxySocket}`,
    `  logs                     ${endpoints.logsDir} (RabbitMQ: ${endpoints.rabbitmqLogsDir})`,
  ].join('\n');
}

function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        purge: { type: 'boolean', default: false },
        rabbitmq: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new StackError('STACK_USAGE', `${(error as Error).message}\n${USAGE}`);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const { positionals, values } = parseCommandLine(argv);
  const [command, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (extra.length > 0 || (values.json && command !== 'status') || (values.purge && command !== 'down') || (values.rabbitmq !== undefined && command !== 'up')) {
    throw new StackError('STACK_USAGE', `unexpected arguments\n${USAGE}`);
  }
  switch (command) {
    case 'up': {
      const { endpoints, elapsedMs } = await stackUp({ rabbitmq: values.rabbitmq });
      process.stdout.write(`${formatEndpoints(endpoints, (elapsedMs / 1000).toFixed(1))}\n`);
      return 0;
    }
    case 'down':
      await stackDown({ purge: values.purge });
      return 0;
    case 'status': {
      const status = await stackStatus();
      process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatusTable(status)}\n`);
      return status.healthy ? 0 : 1;
    }
    default:
      throw new StackError('STACK_USAGE', `${command === undefined ? 'missing command' : `unknown command "${command}"`}\n${USAGE}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof StackError) {
    process.stderr.write(`error [${error.code}]: ${error.message}\n`);
  } else {
    process.stderr.write(`error [STACK_UNEXPECTED]: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exitCode = 1;
}
