// Every failure of the local stack carries a stable code, so scripts and tests can branch on it
// without parsing messages, and the CLI can print `error [CODE]: message`.

export type StackErrorCode =
  | 'STACK_USAGE'
  | 'STACK_PACKAGES_MISSING'
  | 'STACK_PACKAGES_INSTALL_FAILED'
  | 'STACK_CONFIG_INVALID'
  | 'STACK_PORT_IN_USE'
  | 'STACK_NODE_START_FAILED'
  | 'STACK_NODE_UNRESPONSIVE'
  | 'STACK_CLUSTER_FAILED'
  | 'STACK_USER_SETUP_FAILED'
  | 'STACK_SERVICE_START_FAILED'
  | 'STACK_STOP_FAILED'
  | 'STACK_PURGE_REFUSED';

export class StackError extends Error {
  readonly code: StackErrorCode;

  constructor(code: StackErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StackError';
    this.code = code;
  }
}

export function isStackError(error: unknown): error is StackError {
  return error instanceof StackError;
}
