// Alertmanager, run from the repo's alerting/alertmanager.yml with its state under the state dir.

import { parse } from 'yaml';
import { LOCAL_HOST, LOCAL_PORTS } from '../src/config/local-stack.ts';
import { validateRepoConfig, type DaemonSpec } from './daemons.ts';
import { isHttpOk } from './http.ts';
import { BINARIES } from './packages.ts';
import type { StackPaths } from './paths.ts';

interface AlertmanagerConfig {
  receivers?: { name?: string; webhook_configs?: { url?: string }[] }[];
}

/** Webhook URLs that do not point at the remediator's port from src/config/local-stack.ts. */
export function findAlertmanagerConfigDrift(configText: string): string[] {
  const config = parse(configText) as AlertmanagerConfig;
  const urls = (config.receivers ?? []).flatMap((receiver) => receiver.webhook_configs ?? []).map((hook) => hook.url ?? '');
  if (urls.length === 0) {
    return ['no webhook receiver'];
  }
  const expectedOrigin = `http://${LOCAL_HOST}:${LOCAL_PORTS.remediator}`;
  return urls.filter((url) => !url.startsWith(`${expectedOrigin}/`)).map((url) => `webhook ${url} is not on ${expectedOrigin}`);
}

export function alertmanagerUrl(): string {
  return `http://${LOCAL_HOST}:${LOCAL_PORTS.alertmanager}`;
}

export function alertmanagerDaemon(paths: StackPaths): DaemonSpec {
  const { configFile, dir } = paths.alertmanager;
  return {
    name: 'alertmanager',
    binary: BINARIES.alertmanager,
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${dir}`,
      `--web.listen-address=${LOCAL_HOST}:${LOCAL_PORTS.alertmanager}`,
      '--cluster.listen-address=', // empty: no HA gossip listener (it would bind 0.0.0.0:9094)
    ],
    paths: paths.alertmanager,
    ports: { web: LOCAL_PORTS.alertmanager },
    isReady: async () => await isHttpOk(`${alertmanagerUrl()}/-/ready`),
    validate: async () => await validateRepoConfig({ configFile, findDrift: findAlertmanagerConfigDrift, tool: BINARIES.amtool, toolArgs: ['check-config', configFile] }),
  };
}
