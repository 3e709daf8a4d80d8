// Integration tests run against the real local stack. This brings it up with the RabbitMQ profile
// $WARREN_STACK_RABBITMQ names (3.10, 4.0, 4.0-khepri; unset: what the stack last ran, else 3.10),
// idempotently (a fresh machine gets its packages installed and a new cluster formed), and stops
// it afterwards unless it was already running that profile or WARREN_KEEP_STACK=1 asks to keep it.
import { ensurePackages, stackDown, stackPaths, stackStatus, stackUp, type RequiredTool } from '../../stack/stack.ts';
import { chooseProfile } from '../../stack/broker.ts';

/** Programs some tests run besides the stack: compose validation and TLS certificates. */
const TEST_TOOLS: RequiredTool[] = [
  { binary: '/usr/bin/docker-compose', debianPackage: 'docker-compose' },
  { binary: '/usr/bin/openssl', debianPackage: 'openssl' },
];

export default async function setup(): Promise<() => Promise<void>> {
  const report = (line: string) => process.stderr.write(`[stack] ${line}\n`);
  const paths = stackPaths();
  await ensurePackages(paths.aptLog, report, TEST_TOOLS);
  const profile = chooseProfile(paths, undefined, process.env);
  const before = await stackStatus();
  const wasRunning = before.healthy && before.rabbitmq === profile;
  if (!wasRunning) {
    const { elapsedMs } = await stackUp({ report, rabbitmq: profile });
    report(`up in ${(elapsedMs / 1000).toFixed(1)} s`);
  }
  const after = await stackStatus();
  if (!after.healthy || after.rabbitmq !== profile) {
    // No teardown runs after a failed setup: stop what this setup started before saying why.
    if (!wasRunning && process.env.WARREN_KEEP_STACK !== '1') await stackDown({ report }).catch(() => undefined);
    throw new Error(`the local stack is not healthy on RabbitMQ ${profile} after start: ${JSON.stringify(after, null, 2)}`);
  }
  report(`testing against RabbitMQ ${profile}`);
  return async () => {
    if (wasRunning || process.env.WARREN_KEEP_STACK === '1') return;
    await stackDown({ report });
  };
}
