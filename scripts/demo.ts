// `npm run demo [-- --rabbitmq 3.10|4.0|4.0-khepri]`: the main job on the local stack. Brings the
// stack up, prints `warren status`, then runs the exporter (:9419, scraped by the local Prometheus)
// and the remediator (:9420, Alertmanager's webhook; dry_run in warren.example.yml) until Ctrl-C,
// which stops both.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { localBrokerCli, localStackDir, recordedLocalProfile } from '../src/config/local-stack.ts';

const root = join(import.meta.dirname, '..');
const warren = join(root, 'bin', 'warren.js');
const { values } = parseArgs({ options: { rabbitmq: { type: 'string' } } });

/**
 * warren.example.yml with the `local` cluster's CLI settings for the RabbitMQ the stack runs (4.0's
 * CLI runs in its root filesystem), written beside the example so its relative paths still hold.
 */
function demoConfig(): string {
  const stackDir = localStackDir(process.env, root);
  const cli = localBrokerCli(stackDir, recordedLocalProfile(stackDir));
  const document = parseDocument(readFileSync(join(root, 'warren.example.yml'), 'utf8'));
  document.setIn(['clusters', 'local', 'cli', 'bin_dir'], cli.binDir);
  document.setIn(['clusters', 'local', 'cli', 'erlang_home'], cli.erlangHome);
  if (cli.commandPrefix.length > 0) document.setIn(['clusters', 'local', 'cli', 'command_prefix'], [...cli.commandPrefix]);
  if (Object.keys(cli.env).length > 0) document.setIn(['clusters', 'local', 'cli', 'env'], { ...cli.env });
  const file = join(root, '.warren-demo.yml');
  writeFileSync(file, `# Written by \`npm run demo\` from warren.example.yml for the stack's RabbitMQ; rewritten on every run.\n${document.toString()}`);
  return file;
}

async function run(file: string, args: string[]): Promise<void> {
  const child = spawn(file, args, { stdio: 'inherit', cwd: root });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${[file, ...args].join(' ')} exited with ${code}`);
}

await run(process.execPath, [join(root, 'stack', 'cli.ts'), 'up', ...(values.rabbitmq === undefined ? [] : ['--rabbitmq', values.rabbitmq])]);
const config = ['--config', demoConfig()];
await run(warren, ['status', ...config]);

const services: ChildProcess[] = [spawn(warren, ['exporter', ...config], { stdio: 'inherit', cwd: root }), spawn(warren, ['remediator', ...config], { stdio: 'inherit', cwd: root })];
process.stderr.write('\nexporter   http://127.0.0.1:9419/metrics\nremediator http://127.0.0.1:9420/api/v1/actions (dry_run; Alertmanager posts to /api/v1/alerts)\nCtrl-C stops both.\n\n');

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const child of services) child.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// If either service dies, stop the other: a half-running demo would mislead.
const exits = services.map(async (child) => {
  const [code] = (await once(child, 'exit')) as [number | null];
  stop();
  return code;
});
const codes = await Promise.all(exits);
process.exitCode = codes.every((code) => code === 0 || code === null) ? 0 : 1;
