// `warren exporter`: serves /metrics and /probe until SIGINT/SIGTERM.
import type { WarrenConfig } from '../config/types.ts';
import { createExporterApp } from '../exporter/app.ts';
import { HostSampler } from '../exporter/host-sampler.ts';
import { listen } from '../http/server.ts';
import { createLogger } from '../logging.ts';

export async function exporterCommand(config: WarrenConfig, options: { listen?: string }): Promise<number> {
  const logger = createLogger(config.logLevel);
  const settings = config.exporter;
  const [address, port] = options.listen ? splitListen(options.listen) : [settings.listenAddress, settings.port];
  const hostSampler = settings.host.enabled ? new HostSampler({ intervalMs: settings.host.sampleIntervalMs }) : undefined;
  hostSampler?.start();
  const app = createExporterApp({ config, logger, hostSampler });
  const server = await listen(app.handle, { address, port, tls: settings.tls });
  logger.info({ url: server.url, defaultCluster: config.defaultCluster, clusters: [...config.clusters.keys()], config: config.source }, 'exporter listening');
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ signal }, 'exporter stopping');
  await server.close();
  hostSampler?.stop();
  await app.close();
  return 0;
}

function splitListen(text: string): [string, number] {
  const match = /^(.*):(\d+)$/.exec(text);
  if (!match) throw new Error(`--listen expects host:port, got ${text}`);
  return [(match[1] as string).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', Number(match[2])];
}
