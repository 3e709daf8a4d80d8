// Prometheus, run from the repo's stack/prometheus.yml with its data under the state dir.

import path from 'node:path';
import { parse } from 'yaml';
import { LOCAL_HOST, LOCAL_NODES, LOCAL_PORTS } from '../src/config/local-stack.ts';
import { validateRepoConfig, type DaemonSpec } from './daemons.ts';
import { isHttpOk } from './http.ts';
import { BINARIES } from './packages.ts';
import type { StackPaths } from './paths.ts';

interface StaticConfigs {
  static_configs?: { targets?: string[] }[];
}

interface PrometheusConfig {
  alerting?: { alertmanagers?: StaticConfigs[] };
  scrape_configs?: (StaticConfigs & { job_name?: string })[];
}

const address = (port: number): string => `${LOCAL_HOST}:${port}`;

/** The scrape targets stack/prometheus.yml must list, per job, given src/config/local-stack.ts. */
export function expectedScrapeTargets(): Record<string, string[]> {
  return {
    'rabbitmq-plugin': LOCAL_NODES.map((node) => address(node.prometheusPort)),
    'warren-exporter': [address(LOCAL_PORTS.exporter)],
    haproxy: [address(LOCAL_PORTS.haproxyStats)],
    alertmanager: [address(LOCAL_PORTS.alertmanager)],
    prometheus: [address(LOCAL_PORTS.prometheus)],
  };
}

function targetsOf(configs: readonly StaticConfigs[] | undefined): string[] {
  return (configs ?? []).flatMap((entry) => entry.static_configs ?? []).flatMap((entry) => entry.targets ?? []).sort();
}

/** Differences between the config's targets and the topology, as readable lines (empty: none). */
export function findPrometheusConfigDrift(configText: string): string[] {
  const config = parse(configText) as PrometheusConfig;
  const problems: string[] = [];
  for (const [job, expected] of Object.entries(expectedScrapeTargets())) {
    const actual = targetsOf((config.scrape_configs ?? []).filter((scrape) => scrape.job_name === job));
    if (actual.join(',') !== [...expected].sort().join(',')) {
      problems.push(`job ${job} scrapes [${actual.join(', ')}], expected [${expected.join(', ')}]`);
    }
  }
  const alertmanagers = targetsOf(config.alerting?.alertmanagers);
  if (!alertmanagers.includes(address(LOCAL_PORTS.alertmanager))) {
    problems.push(`alerting does not target ${address(LOCAL_PORTS.alertmanager)}`);
  }
  return problems;
}

export function prometheusUrl(): string {
  return `http://${address(LOCAL_PORTS.prometheus)}`;
}

export function prometheusDaemon(paths: StackPaths): DaemonSpec {
  const { configFile, dataDir } = paths.prometheus;
  return {
    name: 'prometheus',
    binary: BINARIES.prometheus,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=${address(LOCAL_PORTS.prometheus)}`,
      '--web.enable-lifecycle', // lets tests and developers POST /-/reload after editing rules
    ],
    paths: paths.prometheus,
    ports: { web: LOCAL_PORTS.prometheus },
    isReady: async () => await isHttpOk(`${prometheusUrl()}/-/ready`),
    // cwd matters: promtool resolves rule_files relative to the config file like Prometheus does.
    validate: async () =>
      await validateRepoConfig({ configFile, findDrift: findPrometheusConfigDrift, tool: BINARIES.promtool, toolArgs: ['check', 'config', configFile], cwd: path.dirname(configFile) }),
  };
}
