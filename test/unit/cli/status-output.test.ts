// `warren status` as text: every health check line names its check. The report is the one
// `warren status --json` gave on the local 3.10.8 cluster (fixtures/status-3.10.json).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/io.ts';
import { printReport, type ClusterStatusReport } from '../../../src/cli/status.ts';

const recorded = JSON.parse(readFileSync(new URL('fixtures/status-3.10.json', import.meta.url), 'utf8')) as ClusterStatusReport;

function render(report: ClusterStatusReport): string[] {
  const lines: string[] = [];
  const io: CliIo = { out: (line) => lines.push(line), err: (line) => lines.push(`ERR ${line}`), env: {}, cwd: '/' };
  printReport(report, io);
  return lines;
}

const checkLines = (lines: string[]) => lines.slice(lines.indexOf('  health checks:') + 1, lines.indexOf('  AMQP round trip:'));

describe('warren status text', () => {
  it('names each health check, and where a cluster-wide one was answered', () => {
    expect(checkLines(render(recorded)).map((line) => line.trim().split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'ok alarms cluster-wide',
      'ok virtual-hosts cluster-wide',
      'ok node-is-quorum-critical rabbit1@localhost',
      'ok node-is-quorum-critical rabbit2@localhost',
      'ok node-is-quorum-critical rabbit3@localhost',
    ]);
    expect(checkLines(render(recorded))[0]).toMatch(/alarms +cluster-wide \(answered by rabbit\d@localhost\)$/);
  });

  it('shows a failing check with its name and RabbitMQ\'s reason', () => {
    const failing = { ...recorded, checks: recorded.checks.map((c) => (c.node === 'rabbit2@localhost' && !c.clusterWide ? { ...c, ok: false, status: 'failed', reason: 'There are quorum queues that would lose their quorum if the target node is shut down' } : c)) };
    expect(checkLines(render(failing))).toContain('    FAILED node-is-quorum-critical  rabbit2@localhost: There are quorum queues that would lose their quorum if the target node is shut down');
  });
});
