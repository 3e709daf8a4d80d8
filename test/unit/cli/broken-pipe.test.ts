// `warren status | head`: the reader goes away before warren has written everything. Run as a user
// runs it (bin/warren.js, a real pipe), against a cluster whose ports refuse connections so the
// report is quick and unhealthy.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const WARREN = new URL('../../../bin/warren.js', import.meta.url).pathname;
let configFile: string;

async function refusedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

beforeAll(async () => {
  const port = await refusedPort();
  configFile = join(mkdtempSync(join(tmpdir(), 'warren-pipe-')), 'warren.yml');
  writeFileSync(configFile, `clusters:\n  gone:\n    nodes:\n      - { name: rabbit@gone, management_url: "http://127.0.0.1:${port}", amqp_url: "amqp://127.0.0.1:${port}" }\n`);
});

/** Runs `warren status`; `closeEarly` closes the read end of its stdout before it writes. */
async function status(closeEarly: boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [WARREN, 'status', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  if (closeEarly) child.stdout.destroy();
  else child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

describe('warren status into a closed pipe', () => {
  it('prints an unhealthy report and exits 1 when the reader reads it all', async () => {
    const result = await status(false);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^cluster gone: UNHEALTHY\n/);
    expect(result.stderr).toBe('');
  }, 30_000);

  it('ends quietly, with success, when the reader has gone (EPIPE)', async () => {
    const result = await status(true);
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0, signal: null });
  }, 30_000);
});
