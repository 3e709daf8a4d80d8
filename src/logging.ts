// Structured JSON logs (pino). Anything that looks like a credential is redacted by path, and
// Secret values print as <redacted> anyway.
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/types.ts';

export type { Logger };

const REDACT = ['password', '*.password', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'token', '*.token'];

export function createLogger(level: LogLevel, destination: NodeJS.WritableStream | pino.DestinationStream = process.stderr): Logger {
  return pino({ level, base: { service: 'warren' }, redact: { paths: REDACT, censor: '<redacted>' } }, destination as pino.DestinationStream);
}
