// The `warren` executable as a user runs it.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support.ts';

const run = promisify(execFile);

async function warren(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(REPO_ROOT, 'bin/warren.js'), ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('warren check-config', () => {
  it('accepts the shipped example', async () => {
    const result = await warren(['check-config', 'warren.example.yml']);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('OK (local: 3 node(s)') });
  });

  it('names every bad path of a broken file and exits non-zero', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'warren-cli-')), 'broken.yml');
    writeFileSync(
      file,
      ['default_cluster: prod', 'clusters:', '  local:', '    managment: {}', '    amqp:', '      timeout: forever', '    nodes:', '      - name: rabbit1', '        management_url: http://admin:pw@127.0.0.1:15672', ''].join('\n'),
    );
    const result = await warren(['check-config', file]);
    expect(result.code).toBe(1);
    for (const path of ['default_cluster', 'clusters.local.managment', 'clusters.local.amqp.timeout', 'clusters.local.nodes[0].name', 'clusters.local.nodes[0].management_url']) {
      expect(result.stderr).toContain(`  ${path} (line `);
    }
    expect(result.stderr).not.toContain('pw@');

    const json = await warren(['check-config', '--json', file]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, problems: expect.arrayContaining([expect.objectContaining({ path: 'clusters.local.managment', message: 'unknown key', line: 4 })]) });
  });

  it('explains a missing file', async () => {
    const result = await warren(['check-config', '/nonexistent/warren.yml']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot read config \/nonexistent\/warren.yml: ENOENT/);
  });
});

describe('warren status', () => {
  it('reports a healthy local cluster with round trips through every node and HAProxy', async () => {
    const result = await warren(['status', '--json']);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ cluster: 'local', reachable: true, healthy: true });
    expect(report.nodes).toHaveLength(3);
    expect(report.probes.map((p: { via: string }) => p.via)).toEqual(['rabbit1@localhost', 'rabbit2@localhost', 'rabbit3@localhost', 'load_balancer']);
    expect(result.code).toBe(0);
    const text = await warren(['status']);
    expect(text.stdout).toMatch(/^cluster local.*: HEALTHY/);
  });

  it('rejects an unknown cluster by name', async () => {
    const result = await warren(['status', '--cluster', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/UNKNOWN_CLUSTER.*nope/);
  });
});
