// `npm run stack` gives a 3-node cluster with HAProxy, Prometheus and Alertmanager on loopback.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LOCAL_PORTS } from '../../src/config/local-stack.ts';
import { haproxyRuntimeCommand, stackPaths, stackStatus } from '../../stack/stack.ts';
import { REPO_ROOT, waitFor } from './support.ts';

const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };

async function getJson(url: string, headers: Record<string, string> = {}): Promise<unknown> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  expect(response.status, url).toBe(200);
  return response.json();
}

describe('local stack', () => {
  it('reports every component healthy', async () => {
    const status = await stackStatus();
    expect(status.healthy).toBe(true);
    expect(status.nodes.map((n) => n.name)).toEqual(['rabbit1@localhost', 'rabbit2@localhost', 'rabbit3@localhost']);
    expect(status.services.map((s) => s.name).sort()).toEqual(['alertmanager', 'haproxy', 'prometheus']);
  });

  it('serves the clustered management API through HAProxy', async () => {
    const nodes = z.array(z.object({ name: z.string(), running: z.boolean() })).parse(await getJson(`http://127.0.0.1:${LOCAL_PORTS.haproxyManagement}/api/nodes`, auth));
    expect(nodes.filter((n) => n.running)).toHaveLength(3);
  });

  it('exposes the HAProxy runtime API on its socket', async () => {
    const info = await haproxyRuntimeCommand(stackPaths().haproxy.adminSocket, 'show info');
    expect(info).toMatch(/^Name: HAProxy/m);
    const servers = await haproxyRuntimeCommand(stackPaths().haproxy.adminSocket, 'show servers state');
    expect(servers.match(/rabbit[123]/g)?.length).toBeGreaterThanOrEqual(6);
  });

  it('runs Prometheus scraping every node\'s plugin, and Alertmanager', async () => {
    const targets = z.object({ data: z.object({ activeTargets: z.array(z.object({ labels: z.record(z.string(), z.string()), health: z.string() })) }) });
    const pluginTargetsUp = async () => {
      const active = targets.parse(await getJson(`http://127.0.0.1:${LOCAL_PORTS.prometheus}/api/v1/targets`)).data.activeTargets;
      return active.filter((t) => t.labels.job === 'rabbitmq-plugin' && t.health === 'up').length === 3;
    };
    expect(await waitFor(pluginTargetsUp, 45_000, 1_000)).toBe(true);
    const alertmanager = z.object({ cluster: z.object({ status: z.string() }) }).parse(await getJson(`http://127.0.0.1:${LOCAL_PORTS.alertmanager}/api/v2/status`));
    expect(alertmanager.cluster.status).toBe('disabled');
  });

  it('is idempotent: `up` on a running stack restarts nothing', async () => {
    const before = await stackStatus();
    const { stdout } = await promisify(execFile)(process.execPath, ['stack/cli.ts', 'up'], { cwd: REPO_ROOT, timeout: 120_000 });
    expect(stdout).toContain('local stack up');
    const after = await stackStatus();
    expect(after.nodes.map((n) => n.pid)).toEqual(before.nodes.map((n) => n.pid));
    expect(after.services.map((s) => s.pid)).toEqual(before.services.map((s) => s.pid));
  });
});
