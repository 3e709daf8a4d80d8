// `warren check-config FILE`: validates a config file and prints every problem with its YAML path.
import { ConfigError, formatProblem, loadConfigFile } from '../config/load.ts';
import { isWarrenError } from '../errors.ts';
import type { CliIo } from './io.ts';

export function checkConfigCommand(file: string, options: { json?: boolean }, io: CliIo): number {
  try {
    const config = loadConfigFile(file, { env: io.env });
    const clusters = [...config.clusters.values()].map((c) => ({ name: c.name, nodes: c.nodes.map((n) => n.name) }));
    if (options.json) {
      io.out(JSON.stringify({ file, valid: true, defaultCluster: config.defaultCluster, clusters, problems: [] }, null, 2));
    } else {
      io.out(`${file}: OK (${clusters.map((c) => `${c.name}: ${c.nodes.length} node(s)`).join(', ')}; default cluster ${config.defaultCluster})`);
    }
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      if (options.json) {
        io.out(JSON.stringify({ file, valid: false, problems: error.problems }, null, 2));
      } else {
        io.err(`${file}: ${error.problems.length} problem(s)`);
        for (const problem of error.problems) io.err(`  ${formatProblem(problem)}`);
      }
      return 1;
    }
    if (isWarrenError(error, 'CONFIG_UNREADABLE')) {
      if (options.json) io.out(JSON.stringify({ file, valid: false, problems: [{ path: '(file)', message: error.message }] }, null, 2));
      else io.err(error.message);
      return 1;
    }
    throw error;
  }
}
