// Validation of every broker-side name that can reach a URL path or a CLI argv. Values arrive from
// config, alert labels and HTTP bodies; anything that does not look like what RabbitMQ itself
// accepts is refused before it is used.
import { WarrenError } from '../errors.ts';

// Erlang node names: `name@host`. Both parts are restricted to what rabbitmqctl and Erlang
// distribution accept in practice (no spaces, no leading dash so it can never read as an option).
const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}@[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

// RabbitMQ allows almost any UTF-8 in queue and vhost names (up to 255 bytes). We refuse control
// characters (they corrupt logs and argv display) and, for argv use, a leading dash.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const MAX_NAME_BYTES = 255;

export function isValidNodeName(value: string): boolean {
  return NODE_NAME.test(value);
}

export function assertNodeName(value: unknown, what = 'node name'): string {
  if (typeof value !== 'string' || !isValidNodeName(value)) {
    throw new WarrenError('INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(value)}: expected name@host of letters, digits, '_', '.', '-'`);
  }
  return value;
}

/** The host part of an Erlang node name (`rabbit1@host-a` -> `host-a`). */
export function nodeHost(nodeName: string): string {
  return assertNodeName(nodeName).split('@')[1] as string;
}

function checkResourceName(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new WarrenError('INVALID_ARGUMENT', `invalid ${what}: expected a string`);
  if (value.length === 0) throw new WarrenError('INVALID_ARGUMENT', `invalid ${what}: empty`);
  if (Buffer.byteLength(value, 'utf8') > MAX_NAME_BYTES) {
    throw new WarrenError('INVALID_ARGUMENT', `invalid ${what}: longer than ${MAX_NAME_BYTES} bytes`);
  }
  if (CONTROL_CHARS.test(value)) {
    throw new WarrenError('INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(value)}: contains control characters`);
  }
  return value;
}

/** A vhost or queue name for use in a management API path (it is percent-encoded there). */
export function assertResourceName(value: unknown, what: string): string {
  return checkResourceName(value, what);
}

/** A vhost or queue name for use as a CLI argument: additionally it must not look like an option. */
export function assertCliResourceName(value: unknown, what: string): string {
  const name = checkResourceName(value, what);
  if (name.startsWith('-')) {
    throw new WarrenError('INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(name)}: must not start with '-' when passed to a CLI`);
  }
  return name;
}
