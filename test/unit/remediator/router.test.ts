import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.ts';
import { routeAlert, type RouteResult } from '../../../src/remediator/routing/router.ts';
import type { AlertStatus, RemediationRule } from '../../../src/remediator/settings.ts';

/** Rules as a warren.yml would configure them (no defaults), through the real loader. */
function rulesFrom(rulesYaml: string): readonly RemediationRule[] {
  const yaml = `clusters:\n  a:\n    nodes: [{ name: rabbit@h, management_url: "http://h:15672" }]\nremediation:\n  default_rules: false\n  execute_timeout: 1m\n  rules:\n${rulesYaml}`;
  return parseConfigText(yaml, '/etc/warren/warren.yml', { env: {} }).remediation.rules;
}

const RULES = rulesFrom(`
    - name: audit-everything-critical
      matchers: ['severity="critical"']
      status: any
      continue: true
      strategies: [{ strategy: notify_only, params: { message: 'critical {{ $labels.alertname }}' } }]
    - name: sync-mirrors
      matchers: ['fault="mirror_unsynchronised"', 'queue!~"tmp-.*"']
      strategies:
        - strategy: sync_queue
          params: { vhost: '{{ $labels.vhost }}', queue: '{{ $labels.queue }}' }
          verify_timeout: 10m
        - strategy: notify_only
    - name: shadowed-mirrors
      matchers: ['fault="mirror_unsynchronised"']
      strategies: [{ strategy: notify_only }]
    - name: on-resolve
      matchers: ['fault=~".+"']
      status: resolved
      strategies: [{ strategy: notify_only }]
`);

function summary(results: RouteResult[]): unknown[] {
  return results.map((result) => ('error' in result ? { rule: result.rule.name, error: result.error } : { rule: result.rule.name, steps: result.steps }));
}

describe('routeAlert walks rules in order with Alertmanager continue semantics', () => {
  const mirror = { fault: 'mirror_unsynchronised', vhost: '/', queue: 'orders', alertname: 'RabbitMirrorUnsynchronised' };
  it.each<[string, AlertStatus, Record<string, string>, unknown[]]>([
    [
      'the first applying rule wins and later matching rules are not reached',
      'firing',
      { ...mirror, severity: 'warning' },
      [
        {
          rule: 'sync-mirrors',
          steps: [
            { strategy: 'sync_queue', params: { vhost: '/', queue: 'orders' }, executeTimeoutMs: 60_000, verifyTimeoutMs: 600_000 },
            { strategy: 'notify_only', params: {}, executeTimeoutMs: 60_000, verifyTimeoutMs: 300_000 },
          ],
        },
      ],
    ],
    [
      'continue: true lets matching go on to the next applying rule, which then stops it',
      'firing',
      { ...mirror, severity: 'critical' },
      [
        { rule: 'audit-everything-critical', steps: [{ strategy: 'notify_only', params: { message: 'critical RabbitMirrorUnsynchronised' }, executeTimeoutMs: 60_000, verifyTimeoutMs: 300_000 }] },
        { rule: 'sync-mirrors', steps: expect.any(Array) },
      ],
    ],
    [
      'a rule whose matcher fails is skipped (tmp- queues fall through to the next rule)',
      'firing',
      { ...mirror, queue: 'tmp-1' },
      [{ rule: 'shadowed-mirrors', steps: [{ strategy: 'notify_only', params: {}, executeTimeoutMs: 60_000, verifyTimeoutMs: 300_000 }] }],
    ],
    ['firing rules ignore resolved alerts; resolved and any rules take them', 'resolved', { ...mirror, severity: 'critical' }, [
      { rule: 'audit-everything-critical', steps: expect.any(Array) },
      { rule: 'on-resolve', steps: expect.any(Array) },
    ]],
    ['no rule applies', 'firing', { fault: 'disk_low' }, []],
    ['a resolved alert without a matching resolved rule', 'resolved', { severity: 'warning' }, []],
    [
      'a template naming an absent label makes the rule an error, never an empty param',
      'firing',
      { fault: 'mirror_unsynchronised', queue: 'orders' },
      [{ rule: 'sync-mirrors', error: { code: 'missing_label', label: 'vhost' } }],
    ],
    [
      'an error in a continue rule still lets later rules match',
      'firing',
      { ...mirror, severity: 'critical', alertname: '' },
      [
        { rule: 'audit-everything-critical', error: { code: 'missing_label', label: 'alertname' } },
        { rule: 'sync-mirrors', steps: expect.any(Array) },
      ],
    ],
  ])('%s', (_name, status, labels, expected) => {
    expect(summary(routeAlert(RULES, { status, labels }))).toEqual(expected);
  });

  it('returns the configured rule objects themselves', () => {
    const [result] = routeAlert(RULES, { status: 'firing', labels: mirror });
    expect(result?.rule).toBe(RULES[1]);
  });

  it('returns nothing when there are no rules', () => {
    expect(routeAlert([], { status: 'firing', labels: mirror })).toEqual([]);
  });
});
