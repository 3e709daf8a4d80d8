// Which configuration a command uses: --config, then $WARREN_CONFIG, then ./warren.yml, then the
// built-in defaults that point at the local stack.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, localStackConfig } from '../config/load.ts';
import { localStackDir } from '../config/local-stack.ts';
import type { WarrenConfig } from '../config/types.ts';
import type { CliIo } from './io.ts';

export function resolveConfig(explicit: string | undefined, io: CliIo): WarrenConfig {
  const file = explicit ?? io.env.WARREN_CONFIG ?? (existsSync(join(io.cwd, 'warren.yml')) ? join(io.cwd, 'warren.yml') : undefined);
  if (file !== undefined) return loadConfigFile(file, { env: io.env });
  return localStackConfig(localStackDir(io.env, io.cwd), { env: io.env });
}
