// The exporter's optional TLS, with a real certificate made by openssl for this test.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.ts';
import { createExporterApp } from '../../../src/exporter/app.ts';
import { listen } from '../../../src/http/server.ts';
import { createLogger } from '../../../src/logging.ts';

async function selfSignedCertificate(): Promise<{ certFile: string; keyFile: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-tls-'));
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile]);
  return { certFile, keyFile };
}

function get(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('exporter over TLS', () => {
  it('serves HTTPS with the configured certificate and refuses plain HTTP', async () => {
    const tls = await selfSignedCertificate();
    const yaml = `exporter:\n  tls:\n    cert_file: ${tls.certFile}\n    key_file: ${tls.keyFile}\n  amqp_probe: { enabled: false }\n  host: { enabled: false }\nclusters:\n  a:\n    nodes:\n      - name: rabbit@nowhere\n        management_url: http://127.0.0.1:1\n`;
    const config = parseConfigText(yaml, '/tmp/warren.yml', { env: {} });
    const app = createExporterApp({ config, logger: createLogger('fatal') });
    const server = await listen(app.handle, { address: '127.0.0.1', port: 0, tls: config.exporter.tls });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = readFileSync(tls.certFile);
      expect(await get(`${server.url}/-/healthy`, ca)).toEqual({ status: 200, body: 'OK\n' });
      const metrics = await get(`${server.url}/metrics`, ca);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('rabbitmq_up{cluster="a"} 0');
      await expect(fetch(server.url.replace('https:', 'http:'))).rejects.toThrow();
    } finally {
      await server.close();
      await app.close();
    }
  });
});
