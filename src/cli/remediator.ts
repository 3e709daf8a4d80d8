// `warren remediator`: serves the Alertmanager webhook and the remediation API until SIGINT/SIGTERM.
import { parseListenAddress } from '../config/load.ts';
import { WarrenError } from '../errors.ts';
import type { WarrenConfig } from '../config/types.ts';
import { listen } from '../http/server.ts';
import { createLogger } from '../logging.ts';
import { shutdownSignal } from './io.ts';
import { createRemediatorApp } from '../remediator/app.ts';
import { withMode } from '../remediator/settings.ts';

export async function remediatorCommand(config: WarrenConfig, options: { listen?: string; mode?: string; stateFile?: string }): Promise<number> {
  const logger = createLogger(config.logLevel);
  let settings = config.remediation;
  if (options.mode !== undefined) {
    if (!['enforce', 'dry_run', 'approve'].includes(options.mode)) throw new WarrenError('INVALID_ARGUMENT', `--mode must be enforce, dry_run or approve, got ${JSON.stringify(options.mode)}`);
    settings = withMode(settings, options.mode as typeof settings.mode);
  }
  if (options.stateFile !== undefined) settings = { ...settings, stateFile: options.stateFile };
  const { address, port } = options.listen ? parseListenAddress(options.listen) : { address: settings.listenAddress, port: settings.port };
  const app = createRemediatorApp({ config, logger, settings });
  try {
    const server = await listen(app.handle, { address, port, tls: settings.tls });
    app.start();
    const auth = settings.auth.bearerToken ? 'bearer token' : settings.auth.basicAuth ? 'basic auth' : 'none (dry_run only)';
    logger.info({ url: server.url, mode: settings.mode, auth, stateFile: settings.stateFile, rules: settings.rules.length, config: config.source }, 'remediator listening');
    const signal = await shutdownSignal();
    logger.info({ signal }, 'remediator stopping; running actions get 10s to finish');
    await server.close();
  } finally {
    await app.close();
  }
  return 0;
}
