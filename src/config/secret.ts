import { readFileSync } from 'node:fs';
import { WarrenError } from '../errors.ts';

const REDACTED = '<redacted>';

/**
 * A credential resolved from config. It prints as `<redacted>` through every path that turns it
 * into text (String(), template literals, JSON, util.inspect), so it cannot leak into logs or
 * metrics by accident; only `reveal()` gives the value.
 */
export class Secret {
  readonly #value: string;
  /** Where the value came from, safe to show: `env:NAME`, `file:/path` or `inline`. */
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${this.source})`;
  }
}

/** How a secret is referenced in YAML: exactly one of the three forms. */
export interface SecretReference {
  value?: string | undefined;
  env?: string | undefined;
  file?: string | undefined;
}

/**
 * Reads a secret from the environment or a file. Files are read once, at load time; a trailing
 * newline is dropped because editors and `echo` add one.
 */
export function resolveSecret(ref: SecretReference, env: NodeJS.ProcessEnv, yamlPath: string): Secret {
  if (ref.env !== undefined) {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new WarrenError('SECRET_UNAVAILABLE', `${yamlPath}_env: environment variable ${ref.env} is not set`);
    }
    return new Secret(value, `env:${ref.env}`);
  }
  if (ref.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(ref.file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new WarrenError('SECRET_UNAVAILABLE', `${yamlPath}_file: cannot read ${ref.file} (${reason})`, { cause: error });
    }
    const value = text.replace(/\r?\n$/, '');
    if (value === '') throw new WarrenError('SECRET_UNAVAILABLE', `${yamlPath}_file: ${ref.file} is empty`);
    return new Secret(value, `file:${ref.file}`);
  }
  return new Secret(ref.value ?? '', 'inline');
}
