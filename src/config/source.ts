// Which configuration a command uses: --config, then $WARREN_CONFIG, then ./warren.yml, then the
// built-in defaults that point at the local stack. A ConfigSource is that choice in plain data, so a
// worker (the remediation engine's process) can load the same
// configuration the command did.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, localStackConfig } from './load.ts';
import { localStackDir } from './local-stack.ts';
import type { WarrenConfig } from './types.ts';

export interface ConfigSource {
  /** --config, when given. */
  explicit?: string | undefined;
  env: Record<string, string | undefined>;
  cwd: string;
}

export function resolveConfig(explicit: string | undefined, where: Pick<ConfigSource, 'env' | 'cwd'>): WarrenConfig {
  return loadConfigSource({ explicit, ...where });
}

export function loadConfigSource(source: ConfigSource): WarrenConfig {
  const { env, cwd } = source;
  const file = source.explicit ?? env.WARREN_CONFIG ?? (existsSync(join(cwd, 'warren.yml')) ? join(cwd, 'warren.yml') : undefined);
  if (file !== undefined) return loadConfigFile(file, { env });
  return localStackConfig(localStackDir(env, cwd), { env });
}
