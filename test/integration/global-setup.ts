// Integration tests run against the real local stack. This brings it up (idempotently; a fresh
// machine gets its packages installed and a new cluster formed) and stops it afterwards unless it
// was already running or WARREN_KEEP_STACK=1 asks to keep it.
import { stackDown, stackStatus, stackUp } from '../../stack/stack.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const report = (line: string) => process.stderr.write(`[stack] ${line}\n`);
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
