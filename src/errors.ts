// Every error warren raises on purpose carries a stable `code`, so callers, logs and tests can
// branch on it without parsing messages.

export type WarrenErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'SECRET_UNAVAILABLE'
  | 'MANAGEMENT_API_ERROR'
  | 'MANAGEMENT_UNAVAILABLE'
  | 'MANAGEMENT_TIMEOUT'
  | 'MANAGEMENT_RESPONSE_INVALID'
  | 'AMQP_PROBE_FAILED'
  | 'AMQP_PROBE_TIMEOUT'
  | 'INVALID_ARGUMENT'
  | 'CLI_FAILED'
  | 'CLI_TIMEOUT'
  | 'UNKNOWN_CLUSTER'
  | 'UNKNOWN_NODE'
  | 'STATE_UNAVAILABLE'
  | 'REMEDIATOR_UNSAFE_CONFIG'
  | 'ENGINE_UNAVAILABLE'
  | 'STRATEGY_FAILED'
  | 'STRATEGY_TIMEOUT';

export class WarrenError extends Error {
  readonly code: WarrenErrorCode;

  constructor(code: WarrenErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WarrenError';
    this.code = code;
  }
}

export function isWarrenError(value: unknown, code?: WarrenErrorCode): value is WarrenError {
  return value instanceof WarrenError && (code === undefined || value.code === code);
}

/** A readable one-line description of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
