// `npm test` after typecheck and lint: every test once, the integration tests once per RabbitMQ
// profile of the local stack. The first run (unit and integration) is on 3.10; then the
// integration project runs again on 4.0 (Mnesia) and, for the files named in KHEPRI_FILES, on
// 4.0 with Khepri. WARREN_TEST_RABBITMQ=4.0 (or a comma list) runs only those profiles' passes;
// vitest arguments after `--` (file filters, -t) go to every pass.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_RABBITMQ_PROFILES, isLocalRabbitmqProfile, type LocalRabbitmqProfile } from '../src/config/local-stack.ts';

/** Khepri changes the metadata store: the exporter and node control must hold on it (4.2+ default). */
const KHEPRI_FILES = ['test/integration/exporter.test.ts', 'test/integration/node-control.test.ts', 'test/integration/stack.test.ts',
  'test/integration/drain.test.ts', 'test/integration/management-client.test.ts'];

interface Pass {
  readonly profile: LocalRabbitmqProfile;
  readonly args: readonly string[];
}

function selectedProfiles(value: string | undefined): LocalRabbitmqProfile[] {
  if (value === undefined || value.trim() === '') return [...LOCAL_RABBITMQ_PROFILES];
  return value.split(',').map((item) => item.trim()).map((item) => {
    if (!isLocalRabbitmqProfile(item)) {
      process.stderr.write(`WARREN_TEST_RABBITMQ: unknown profile ${JSON.stringify(item)}; use ${LOCAL_RABBITMQ_PROFILES.join(', ')}\n`);
      process.exit(2);
    }
    return item;
  });
}

const root = join(import.meta.dirname, '..');
const vitest = join(root, 'node_modules', '.bin', 'vitest');
const extra = process.argv.slice(2);
const profiles = selectedProfiles(process.env.WARREN_TEST_RABBITMQ);
const passes: Pass[] = profiles.map((profile, index) => {
  // Unit tests run once, in the first pass (its global setup installs the programs some need).
  const projects = index === 0 ? [] : ['--project', 'integration'];
  const files = profile === '4.0-khepri' && extra.length === 0 ? KHEPRI_FILES.filter((file) => existsSync(join(root, file))) : [];
  return { profile, args: ['run', ...projects, ...files, ...extra] };
});

const scratch = mkdtempSync(join(tmpdir(), 'warren-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
const failedPasses: string[] = [];
try {
  for (const pass of passes) {
    const summaryFile = join(scratch, `${pass.profile}.json`);
    process.stdout.write(`\n== vitest ${pass.args.join(' ')} on RabbitMQ ${pass.profile}\n`);
    const child = spawn(vitest, [...pass.args], {
      stdio: 'inherit',
      cwd: root,
      env: { ...process.env, WARREN_STACK_RABBITMQ: pass.profile, WARREN_TEST_SUMMARY_FILE: summaryFile },
    });
    const [status, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    const result = { status, signal };
    let counts = { passed: 0, failed: 1, skipped: 0 }; // a pass that wrote no summary did not finish
    try {
      counts = JSON.parse(readFileSync(summaryFile, 'utf8')) as typeof counts;
    } catch {
      process.stderr.write(`vitest on ${pass.profile} ended without a summary (exit ${result.status ?? result.signal})\n`);
    }
    if (result.status !== 0 && counts.failed === 0) counts.failed = 1;
    if (counts.failed > 0) failedPasses.push(pass.profile);
    totals.passed += counts.passed;
    totals.failed += counts.failed;
    totals.skipped += counts.skipped;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (failedPasses.length > 0) process.stdout.write(`\nfailures on RabbitMQ ${failedPasses.join(', ')}\n`);
process.stdout.write(`\nall profiles (${profiles.join(', ')}): ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exitCode = totals.failed > 0 ? 1 : 0;
