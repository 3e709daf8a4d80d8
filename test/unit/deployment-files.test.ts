// The shipped deployment files are checked by the real tools that will read them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

describe('deployment files', () => {
  it('docker-compose.yml is a valid compose file', async () => {
    await expect(run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: root })).resolves.toBeDefined();
  });

  it.each(['stack/prometheus.yml', 'deploy/compose/prometheus.yml'])('%s passes promtool check config', async (file) => {
    const { stdout } = await run('promtool', ['check', 'config', '--syntax-only', file], { cwd: root });
    expect(stdout).toContain('SUCCESS');
  });

  it.each(['alerting/alertmanager.yml', 'deploy/compose/alertmanager.yml'])('%s passes amtool check-config', async (file) => {
    const { stdout } = await run('amtool', ['check-config', file], { cwd: root });
    expect(stdout).toContain('SUCCESS');
  });
});
