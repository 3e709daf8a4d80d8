import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText } from '../../../src/config/load.ts';
import { DEFAULT_FAULTS } from '../../../src/remediator/routing/default-rules.ts';
import { defaultRemediatorSettings, effectiveMode, requiresCredentials, type RemediationMode, type RemediatorSettings } from '../../../src/remediator/settings.ts';
import { STRATEGY_CATALOGUE, STRATEGY_NAMES } from '../../../src/remediator/strategies/catalogue.ts';

const CLUSTER = 'clusters:\n  a:\n    nodes: [{ name: rabbit@h, management_url: "http://h:15672" }]\n';

function remediation(section: string, env: NodeJS.ProcessEnv = {}, source = '/etc/warren/warren.yml'): RemediatorSettings {
  return parseConfigText(`${CLUSTER}remediation:\n${section}`, source, { env }).remediation;
}

describe('remediation defaults', () => {
  it('come from the schema when the section is absent', () => {
    const settings = defaultRemediatorSettings();
    expect(settings).toMatchObject({
      listenAddress: '0.0.0.0',
      port: 9420,
      tls: undefined,
      auth: { bearerToken: undefined, basicAuth: undefined },
      mode: 'dry_run',
      maxBodyBytes: 16_777_216,
      acknowledgeAfter: 'flush',
      executeTimeoutMs: 120_000,
      verifyTimeoutMs: 300_000,
      verifyIntervalMs: 5_000,
      cooldownMs: 600_000,
      breaker: { maxAttempts: 3, windowMs: 3_600_000, openForMs: 3_600_000 },
      dedupRetentionMs: 168 * 3_600_000,
      auditRetentionMs: 2160 * 3_600_000,
      approvalTimeoutMs: 3_600_000,
      escalationWebhook: undefined,
      alertmanager: undefined,
      maintenanceWindows: [],
    });
    expect(settings.stateFile).toBe(join(process.cwd(), '.warren/remediator.db'));
    expect(requiresCredentials(settings)).toBe(false);
  });

  it('include one default rule per fault, firing only (the only rules when none are configured)', () => {
    const { rules } = defaultRemediatorSettings();
    expect(DEFAULT_FAULTS).toHaveLength(9);
    expect(rules.map((rule) => rule.name)).toEqual([
      'default-node_down',
      'default-queue_full',
      'default-memory_high',
      'default-disk_low',
      'default-connection_lost',
      'default-message_timeout',
      'default-cluster_partition',
      'default-mirror_unsynchronised',
      'default-quorum_under_replicated',
    ]);
    for (const rule of rules) {
      const fault = rule.name.replace(/^default-/, '');
      expect(rule).toMatchObject({ origin: 'default', status: 'firing', continue: false, mode: 'dry_run', cooldownMs: 600_000 });
      expect(rule.matchers.map((m) => m.text)).toEqual([`fault="${fault}"`]);
      const expectedChain = fault === 'mirror_unsynchronised' ? ['sync_queue', 'notify_only'] : ['notify_only'];
      expect(rule.chain.map((step) => step.strategy)).toEqual(expectedChain);
    }
    expect(rules.find((rule) => rule.name === 'default-mirror_unsynchronised')?.chain[0]).toEqual({
      strategy: 'sync_queue',
      params: { vhost: '{{ $labels.vhost }}', queue: '{{ $labels.queue }}' },
      executeTimeoutMs: 120_000,
      verifyTimeoutMs: 300_000,
    });
  });

  it('come after the configured rules, take the global settings, and can be turned off', () => {
    const section = `  mode: approve\n  execute_timeout: 30s\n  rules:\n    - name: mine\n      matchers: ['fault="disk_low"']\n      strategies: [{ strategy: notify_only }]\n`;
    const withDefaults = remediation(section);
    expect(withDefaults.rules.map((rule) => `${rule.origin}:${rule.name}`).slice(0, 3)).toEqual(['config:mine', 'default:default-node_down', 'default:default-queue_full']);
    expect(withDefaults.rules).toHaveLength(10);
    expect(withDefaults.rules[1]).toMatchObject({ mode: 'approve', chain: [{ executeTimeoutMs: 30_000 }] });
    expect(remediation(`${section}  default_rules: false\n`).rules.map((rule) => rule.name)).toEqual(['mine']);
  });

  it('catalogue names match the strategy names', () => {
    expect(STRATEGY_NAMES).toEqual(Object.keys(STRATEGY_CATALOGUE));
    expect(STRATEGY_NAMES).toEqual(['notify_only', 'sync_queue']);
  });
});

describe('effective mode is the most cautious of global and rule mode', () => {
  it.each<[RemediationMode, RemediationMode | undefined, RemediationMode]>([
    ['enforce', undefined, 'enforce'],
    ['approve', undefined, 'approve'],
    ['dry_run', undefined, 'dry_run'],
    ['enforce', 'enforce', 'enforce'],
    ['enforce', 'approve', 'approve'],
    ['enforce', 'dry_run', 'dry_run'],
    ['approve', 'enforce', 'approve'],
    ['approve', 'dry_run', 'dry_run'],
    ['dry_run', 'enforce', 'dry_run'],
    ['dry_run', 'approve', 'dry_run'],
  ])('global %s, rule %s: %s', (global, rule, expected) => {
    expect(effectiveMode(global, rule)).toBe(expected);
    const ruleMode = rule === undefined ? '' : `      mode: ${rule}\n`;
    const [loaded] = remediation(`  mode: ${global}\n  default_rules: false\n  rules:\n    - name: r\n      matchers: ['a="b"']\n      strategies: [{ strategy: notify_only }]\n${ruleMode}`).rules;
    expect(loaded?.mode).toBe(expected);
  });

  it.each<[RemediationMode, boolean]>([
    ['dry_run', false],
    ['approve', true],
    ['enforce', true],
  ])('requiresCredentials with global mode %s: %s', (mode, expected) => {
    expect(requiresCredentials(remediation(`  mode: ${mode}\n`))).toBe(expected);
    expect(requiresCredentials(remediation(`  mode: ${mode}\n  default_rules: false\n`))).toBe(expected);
  });
});

describe('a full remediation section becomes typed settings', () => {
  const full = `  listen_address: 127.0.0.1:9999
  tls: { cert_file: tls/cert.pem, key_file: /abs/key.pem }
  auth:
    bearer_token_env: WEBHOOK_TOKEN
    basic_auth: { username: alertmanager, password: inline-pw }
  mode: enforce
  state_file: state/remediator.db
  max_body_size: 2048
  acknowledge_after: write
  execute_timeout: 1m
  verify_timeout: 3m
  verify_interval: 2s
  cooldown: 0s
  breaker: { max_attempts: 5, window: 30m, open_for: 2h }
  dedup_retention: 7d
  audit_retention: 30d
  approval_timeout: 15m
  escalation_webhook: { url: "https://pager.example.com/hook", bearer_token: hook-token }
  alertmanager: { url: "http://127.0.0.1:9093", check_silences: true, basic_auth: { username: am, password_env: AM_PW } }
  maintenance_windows:
    - name: weekend
      weekdays: [sun, sat, sat]
      start: "22:00"
      end: "02:30"
      timezone: Europe/Berlin
    - name: nightly
      start: "01:00"
      end: "03:00"
    - name: migration
      from: 2026-12-01T00:00:00Z
      to: 2026-12-01T06:00:00+02:00
  default_rules: false
  rules:
    - name: sync-unsynchronised-mirrors
      matchers: ['fault="mirror_unsynchronised"', 'severity=~"warning|critical"']
      strategies:
        - strategy: sync_queue
          params: { vhost: '{{ $labels.vhost }}', queue: '{{ $labels.queue }}', cluster: a }
          execute_timeout: 2m
          verify_timeout: 10m
        - strategy: notify_only
      continue: true
      mode: approve
      cooldown: 30m
      breaker: { max_attempts: 2, open_for: 3h }
    - name: all-resolved
      matchers: ['alertname=~".+"']
      status: any
      strategies: [{ strategy: notify_only, params: { message: 'resolved {{ $labels.alertname }}' } }]
`;

  it('resolves every key, override and path', () => {
    const settings = remediation(full, { WEBHOOK_TOKEN: 'tok-env', AM_PW: 'am-secret' });
    expect(settings).toMatchObject({
      listenAddress: '127.0.0.1',
      port: 9999,
      tls: { certFile: '/etc/warren/tls/cert.pem', keyFile: '/abs/key.pem' },
      mode: 'enforce',
      stateFile: '/etc/warren/state/remediator.db',
      maxBodyBytes: 2048,
      acknowledgeAfter: 'write',
      executeTimeoutMs: 60_000,
      verifyTimeoutMs: 180_000,
      verifyIntervalMs: 2_000,
      cooldownMs: 0,
      breaker: { maxAttempts: 5, windowMs: 1_800_000, openForMs: 7_200_000 },
      dedupRetentionMs: 604_800_000,
      auditRetentionMs: 30 * 86_400_000,
      approvalTimeoutMs: 900_000,
      escalationWebhook: { url: 'https://pager.example.com/hook', timeoutMs: 5_000 },
      alertmanager: { url: 'http://127.0.0.1:9093', checkSilences: true, timeoutMs: 5_000, basicAuth: { username: 'am' } },
    });
    expect(settings.auth.bearerToken?.reveal()).toBe('tok-env');
    expect(settings.auth.basicAuth?.username).toBe('alertmanager');
    expect(settings.auth.basicAuth?.password.reveal()).toBe('inline-pw');
    expect(settings.escalationWebhook?.bearerToken?.reveal()).toBe('hook-token');
    expect(settings.alertmanager?.basicAuth?.password.reveal()).toBe('am-secret');
    expect(settings.maintenanceWindows).toEqual([
      { name: 'weekend', kind: 'weekly', weekdays: [0, 6], startMinute: 1320, endMinute: 150, timezone: 'Europe/Berlin' },
      { name: 'nightly', kind: 'weekly', weekdays: [0, 1, 2, 3, 4, 5, 6], startMinute: 60, endMinute: 180, timezone: 'UTC' },
      { name: 'migration', kind: 'absolute', fromMs: Date.parse('2026-12-01T00:00:00Z'), toMs: Date.parse('2026-12-01T04:00:00Z') },
    ]);
    const [sync, resolved] = settings.rules;
    expect(sync).toMatchObject({
      name: 'sync-unsynchronised-mirrors',
      status: 'firing',
      continue: true,
      mode: 'approve',
      cooldownMs: 1_800_000,
      breaker: { maxAttempts: 2, windowMs: 1_800_000, openForMs: 10_800_000 },
      origin: 'config',
      chain: [
        { strategy: 'sync_queue', params: { vhost: '{{ $labels.vhost }}', queue: '{{ $labels.queue }}', cluster: 'a' }, executeTimeoutMs: 120_000, verifyTimeoutMs: 600_000 },
        { strategy: 'notify_only', params: {}, executeTimeoutMs: 60_000, verifyTimeoutMs: 180_000 },
      ],
    });
    expect(sync?.matchers.map((m) => [m.label, m.operator, m.value])).toEqual([
      ['fault', '=', 'mirror_unsynchronised'],
      ['severity', '=~', 'warning|critical'],
    ]);
    expect(resolved).toMatchObject({ status: 'any', mode: 'enforce', cooldownMs: 0, breaker: { maxAttempts: 5 } });
    expect(requiresCredentials(settings)).toBe(true);
  });

  it('never prints its secrets', () => {
    const settings = remediation(full, { WEBHOOK_TOKEN: 'tok-env', AM_PW: 'am-secret' });
    const printed = [JSON.stringify(settings), inspect(settings, { depth: 10 }), `${settings.auth.bearerToken}`].join('\n');
    expect(printed).not.toMatch(/tok-env|inline-pw|hook-token|am-secret/);
  });

  it('reads token files relative to the config file and keeps :memory: as is', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-remediation-'));
    writeFileSync(join(dir, 'token'), 'file-token\n');
    writeFileSync(join(dir, 'warren.yml'), `${CLUSTER}remediation:\n  state_file: ":memory:"\n  auth: { bearer_token_file: token }\n`);
    const settings = loadConfigFile(join(dir, 'warren.yml'), { env: {} }).remediation;
    expect(settings.auth.bearerToken?.reveal()).toBe('file-token');
    expect(settings.auth.bearerToken?.source).toBe(`file:${join(dir, 'token')}`);
    expect(settings.stateFile).toBe(':memory:');
  });

  it('the shipped example has a remediation section that loads', () => {
    const settings = loadConfigFile(new URL('../../../warren.example.yml', import.meta.url).pathname, { env: {} }).remediation;
    expect(settings.mode).toBe('dry_run');
    expect(settings.port).toBe(9420);
    expect(settings.rules.some((rule) => rule.origin === 'config')).toBe(true);
    expect(settings.rules.filter((rule) => rule.origin === 'default')).toHaveLength(9);
  });
});

describe('docs/configuration.md', () => {
  const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

  it('documents every strategy with its params, and every default fault', () => {
    for (const name of STRATEGY_NAMES) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      for (const param of [...STRATEGY_CATALOGUE[name].required, ...STRATEGY_CATALOGUE[name].optional, 'cluster']) expect(row).toContain(`\`${param}\``);
    }
    for (const fault of DEFAULT_FAULTS) expect(doc).toContain(`| \`${fault}\` |`);
  });
});
