// The shipped deployment files are checked by the real tools that will read them.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.ts';

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

  it('deploy/compose/warren.yml is a valid warren config once the token secret exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-compose-'));
    try {
      const token = join(dir, 'remediator.token');
      writeFileSync(token, 'token\n');
      const text = readFileSync(join(root, 'deploy/compose/warren.yml'), 'utf8');
      expect(text).toContain('/run/secrets/warren/remediator.token');
      const config = parseConfigText(text.replaceAll('/run/secrets/warren/remediator.token', token), 'deploy/compose/warren.yml', { env: {} });
      expect(config.remediation.auth.bearerToken?.reveal()).toBe('token');
      expect([...config.clusters.keys()]).toEqual(['compose']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the compose cluster runs RabbitMQ 4.x, what users run (3.x is out of community support)', () => {
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    const images = [...compose.matchAll(/image: (rabbitmq:\S+)/g)].map((match) => match[1]);
    expect(images).toEqual(['rabbitmq:4.2-management']);
  });

  it('the compose Alertmanager sends the token file the remediator reads', () => {
    const alertmanager = readFileSync(join(root, 'deploy/compose/alertmanager.yml'), 'utf8');
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    expect(alertmanager).toContain('credentials_file: /run/secrets/warren/remediator.token');
    expect(alertmanager).toContain('url: http://warren-remediator:9420/api/v1/alerts');
    expect(compose.match(/\.\/deploy\/compose\/secrets:\/run\/secrets\/warren:ro/g)).toHaveLength(2);
  });
});
