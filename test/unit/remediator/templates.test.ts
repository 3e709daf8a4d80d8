import { describe, expect, it } from 'vitest';
import { renderTemplate, templateLabels, validateTemplate } from '../../../src/remediator/routing/templates.ts';

describe('validateTemplate accepts only {{ $labels.NAME }} placeholders', () => {
  it.each(['', 'plain text', '{{ $labels.queue }}', '{{$labels.queue}}', '{{   $labels.queue\t}}', 'q-{{ $labels.vhost }}/{{ $labels.queue }}', 'a }} b'])('accepts %j', (text) => {
    expect(validateTemplate(text)).toBeUndefined();
  });

  it.each([
    ['{{ .Labels.queue }}', /unsupported template \{\{ \.Labels\.queue \}\}/],
    ['{{ $labels.queue | toUpper }}', /unsupported template/],
    ['{{ $labels.1queue }}', /unsupported template/],
    ['{{ $externalLabels.cluster }}', /unsupported template/],
    ['{{ $labels }}', /unsupported template/],
    ['a {{ }} b', /unsupported template \{\{ \}\}/],
    ['{{ $labels.queue', /unclosed \{\{/],
    ['{{ $labels.queue }} and {{', /unclosed \{\{/],
  ])('rejects %j', (text, message) => {
    expect(validateTemplate(text)).toMatch(message);
  });

  it('lists the labels a template uses', () => {
    expect(templateLabels('{{ $labels.vhost }}/{{ $labels.queue }}/{{$labels.vhost}}')).toEqual(['vhost', 'queue']);
    expect(templateLabels('static')).toEqual([]);
  });
});

describe('renderTemplate fills placeholders and never substitutes an empty value', () => {
  it.each([
    ['{{ $labels.queue }}', { queue: 'orders' }, { ok: true, value: 'orders' }],
    ['{{ $labels.vhost }}|{{$labels.queue}}', { vhost: '/', queue: 'q1' }, { ok: true, value: '/|q1' }],
    ['static', {}, { ok: true, value: 'static' }],
    // Replacement patterns in label values are text, not String.replace specials.
    ['{{ $labels.queue }}', { queue: "$&-$1-$'" }, { ok: true, value: "$&-$1-$'" }],
    ['{{ $labels.queue }}', {}, { ok: false, missingLabel: 'queue' }],
    ['{{ $labels.queue }}', { queue: '' }, { ok: false, missingLabel: 'queue' }],
    ['{{ $labels.vhost }}/{{ $labels.queue }}', { queue: 'q' }, { ok: false, missingLabel: 'vhost' }],
    ['{{ $labels.constructor }}', {}, { ok: false, missingLabel: 'constructor' }],
  ])('%j with %j', (text, labels: Record<string, string>, expected) => {
    expect(renderTemplate(text, labels)).toEqual(expected);
  });

  it('throws for a template validation would have refused', () => {
    expect(() => renderTemplate('{{ .Labels.queue }}', { queue: 'q' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
