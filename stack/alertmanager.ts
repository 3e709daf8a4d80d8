// Alertmanager, run from the repo's alerting/alertmanager.yml with its state under the state dir.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, parseDocument } from 'yaml';
import { LOCAL_HOST, LOCAL_PORTS } from '../src/config/local-stack.ts';
import { validateRepoConfig, type DaemonSpec } from './daemons.ts';
import { isHttpOk } from './http.ts';
import { BINARIES } from './packages.ts';
import type { StackPaths } from './paths.ts';

/**
 * The repo's alerting/alertmanager.yml with every webhook's bearer token file pointed at the stack's
 * own token (created on first use), so Alertmanager and `warren remediator` share a secret that
 * never sits in the repository.
 */
export function renderAlertmanagerConfig(templateText: string, tokenFile: string): string {
  const doc = parseDocument(templateText);
  const receivers = doc.get('receivers', true) as { items?: unknown[] } | undefined;
  (receivers?.items ?? []).forEach((_, r) => {
    const hooks = doc.getIn(['receivers', r, 'webhook_configs'], true) as { items?: unknown[] } | undefined;
    (hooks?.items ?? []).forEach((__, h) => {
      doc.setIn(['receivers', r, 'webhook_configs', h, 'http_config', 'authorization', 'type'], 'Bearer');
      doc.setIn(['receivers', r, 'webhook_configs', h, 'http_config', 'authorization', 'credentials_file'], tokenFile);
    });
  });
  return `# Rendered by \`npm run stack\` from alerting/alertmanager.yml; edit that file, not this one.\n${doc.toString()}`;
}

/** The bearer token the local Alertmanager sends to the remediator; created once, kept across runs. */
export async function ensureRemediatorToken(tokenFile: string): Promise<void> {
  await mkdir(path.dirname(tokenFile), { recursive: true });
  try {
    await writeFile(tokenFile, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

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
  const { configFile, templateFile, dir } = paths.alertmanager;
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
    validate: async () => {
      await ensureRemediatorToken(paths.remediatorTokenFile);
      await mkdir(dir, { recursive: true });
      await writeFile(configFile, renderAlertmanagerConfig(await readFile(templateFile, 'utf8'), paths.remediatorTokenFile));
      await validateRepoConfig({ configFile, findDrift: findAlertmanagerConfigDrift, tool: BINARIES.amtool, toolArgs: ['check-config', configFile] });
    },
  };
}
