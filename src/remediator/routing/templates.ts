// Strategy param templates: literal text with `{{ $labels.NAME }}` placeholders, filled from the
// alert's labels. Nothing else of Go's template language exists here, on purpose.
import { WarrenError } from '../../errors.ts';

const PLACEHOLDER = /\{\{(.*?)\}\}/gs;
const LABEL_REFERENCE = /^\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*$/;

/** What is wrong with a template, or undefined when it is valid. */
export function validateTemplate(text: string): string | undefined {
  for (const [placeholder, inner] of text.matchAll(PLACEHOLDER)) {
    if (!LABEL_REFERENCE.test(inner as string)) {
      return `unsupported template ${placeholder}: only {{ $labels.NAME }} placeholders are allowed`;
    }
  }
  if (text.replace(PLACEHOLDER, '').includes('{{')) return 'unclosed {{: a placeholder is {{ $labels.NAME }}';
  return undefined;
}

/** The label names a template refers to, in order of first use. */
export function templateLabels(text: string): string[] {
  const names = [...text.matchAll(PLACEHOLDER)].map(([, inner]) => LABEL_REFERENCE.exec(inner as string)?.[1]);
  return [...new Set(names.filter((name) => name !== undefined))];
}

export type RenderResult = { ok: true; value: string } | { ok: false; missingLabel: string };

/**
 * Fills the placeholders from the alert's labels. A referenced label that is absent or empty fails
 * the render: an empty queue or vhost name must never reach an API call. Throws INVALID_ARGUMENT for
 * a template validateTemplate rejects (config validation keeps those out).
 */
export function renderTemplate(text: string, labels: Readonly<Record<string, string>>): RenderResult {
  const problem = validateTemplate(text);
  if (problem !== undefined) throw new WarrenError('INVALID_ARGUMENT', `template ${JSON.stringify(text)}: ${problem}`);
  for (const name of templateLabels(text)) {
    const value = Object.hasOwn(labels, name) ? labels[name] : undefined;
    if (typeof value !== 'string' || value === '') return { ok: false, missingLabel: name };
  }
  const value = text.replace(PLACEHOLDER, (_placeholder, inner: string) => labels[LABEL_REFERENCE.exec(inner)?.[1] as string] as string);
  return { ok: true, value };
}
