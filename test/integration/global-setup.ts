// Integration tests run against the real local stack. This brings it up (idempotently; a fresh
// machine gets its packages installed and a new cluster formed) and stops it afterwards unless it
// was already running or WARREN_KEEP_STACK=1 asks to keep it.
import { ensurePackages, stackDown, stackPaths, stackStatus, stackUp, type RequiredTool } from '../../stack/stack.ts';

/** Programs some tests run besides the stack: compose validation and TLS certificates. */
const TEST_TOOLS: RequiredTool[] = [
  { binary: '/usr/bin/docker-compose', debianPackage: 'docker-compose' },
  { binary: '/usr/bin/openssl', debianPackage: 'openssl' },
];

export default async function setup(): Promise<() => Promise<void>> {
  const report = (line: string) => process.stderr.write(`[stack] ${line}\n`);
  await ensurePackages(stackPaths().aptLog, report, TEST_TOOLS);
  const wasRunning = (await stackStatus()).healthy;
  if (!wasRunning) {
    const { elapsedMs } = await stackUp({ report });
    report(`up in ${(elapsedMs / 1000).toFixed(1)} s`);
  }
  const after = await stackStatus();
  if (!after.healthy) {
    throw new Error(`the local stack is not healthy after start: ${JSON.stringify(after, null, 2)}`);
  }
  return async () => {
    if (wasRunning || process.env.WARREN_KEEP_STACK === '1') return;
    await stackDown({ report });
  };
}
