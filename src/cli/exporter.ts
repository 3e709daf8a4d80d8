// `warren exporter`: serves /metrics and /probe until SIGINT/SIGTERM.
import { parseListenAddress } from '../config/load.ts';
import type { WarrenConfig } from '../config/types.ts';
import { createExporterApp } from '../exporter/app.ts';
import { HostSampler } from '../exporter/host-sampler.ts';
import { listen } from '../http/server.ts';
import { createLogger } from '../logging.ts';
import { shutdownSignal } from './io.ts';

export async function exporterCommand(config: WarrenConfig, options: { listen?: string }): Promise<number> {
  const logger = createLogger(config.logLevel);
  const settings = config.exporter;
  const { address, port } = options.listen ? parseListenAddress(options.listen) : { address: settings.listenAddress, port: settings.port };
  const hostSampler = settings.host.enabled ? new HostSampler({ intervalMs: settings.host.sampleIntervalMs }) : undefined;
  hostSampler?.start();
  const app = createExporterApp({ config, logger, hostSampler });
  // Listening for signals before announcing the port: a Ctrl-C right after it still stops in order.
  const stopping = shutdownSignal();
  try {
    const server = await listen(app.handle, { address, port, tls: settings.tls });
    logger.info({ url: server.url, defaultCluster: config.defaultCluster, clusters: [...config.clusters.keys()], config: config.source }, 'exporter listening');
    const signal = await stopping;
    logger.info({ signal }, 'exporter stopping');
    await server.close();
  } finally {
    // Also when listening failed (e.g. the port is taken): the sampler and probe timers must not keep the process alive.
    hostSampler?.stop();
    await app.close();
  }
  return 0;
}
