// `promtool check metrics`: the Prometheus project's own linter, fed an exposition on stdin.
import { execFile } from 'node:child_process';

export async function promtoolCheckMetrics(text: string): Promise<{ problems: string[] }> {
  // promtool prints one line per lint problem.
  const child = execFile('promtool', ['check', 'metrics']);
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stdin?.end(text);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const problems = output.join('').split('\n').filter((line) => line.trim() !== '');
  if (code !== 0 && problems.length === 0) problems.push(`promtool exited ${code}`);
  return { problems };
}
