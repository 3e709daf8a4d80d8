// `warren remediator`: serves the Alertmanager webhook and the remediation API until SIGINT/SIGTERM.
// The engine (routing, state, strategies) runs in a child process of its own; this process reads,
// validates, commits and acknowledges deliveries and serves the API.
import { parseListenAddress } from '../config/load.ts';
import type { ConfigSource } from '../config/source.ts';
import type { WarrenConfig } from '../config/types.ts';
import { describeError } from '../errors.ts';
import { listen } from '../http/server.ts';
import { createLogger } from '../logging.ts';
import { shutdownSignal } from './io.ts';
import { createRemediatorApp } from '../remediator/app.ts';
import { remediatorSettings } from '../remediator/settings.ts';

export async function remediatorCommand(config: WarrenConfig, options: { listen?: string; mode?: string; stateFile?: string; source: ConfigSource }): Promise<number> {
  const logger = createLogger(config.logLevel);
  const overrides = { mode: options.mode, stateFile: options.stateFile };
  const settings = remediatorSettings(config.remediation, overrides);
  const { address, port } = options.listen ? parseListenAddress(options.listen) : { address: settings.listenAddress, port: settings.port };
  const app = createRemediatorApp({ config, logger, settings, separateEngine: { source: options.source, overrides } });
  let exitCode = 0;
  // Listening for signals before announcing the port: a Ctrl-C right after it still stops in order.
  const stopping = shutdownSignal();
  try {
    // A Ctrl-C while the engine starts (it may be reporting a long list of interrupted actions) stops it at once.
    const early = await Promise.race([app.start().then(() => undefined), stopping]);
    if (early !== undefined) {
      logger.info({ signal: early }, 'remediator stopping before it listened');
      return exitCode;
    }
    const server = await listen(app.handle, { address, port, tls: settings.tls });
    const auth = [settings.auth.bearerToken && 'bearer token', settings.auth.basicAuth && 'basic auth'].filter(Boolean).join(' or ') || 'none (dry_run only)';
    logger.info({ url: server.url, mode: settings.mode, auth, stateFile: settings.stateFile, rules: settings.rules.length, config: config.source, enginePid: app.enginePid }, 'remediator listening');
    const stop = await Promise.race([stopping, app.failed]);
    if (stop instanceof Error) {
      // Without its engine or its inbox the remediator would accept alerts it never acts on,
      // or none at all: exit, to be restarted.
      logger.fatal({ err: describeError(stop) }, 'remediator stopping: its engine or its inbox failed');
      exitCode = 1;
    } else {
      logger.info({ signal: stop }, 'remediator stopping; running actions get 10s to finish');
    }
    await server.close();
  } finally {
    await app.close();
  }
  return exitCode;
}
