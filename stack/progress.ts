// Progress lines go to stderr so that stdout stays clean for `status --json` and the URL summary.
// Each carries the time since the command began: the slow steps (broker boot, joins) stand out.

export type Reporter = (line: string) => void;

export function createReporter(quiet: boolean): Reporter {
  if (quiet) {
    return () => undefined;
  }
  const started = Date.now();
  return (line) => {
    const elapsed = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
    process.stderr.write(`[stack ${elapsed}s] ${line}\n`);
  };
}
