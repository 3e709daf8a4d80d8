// HTTP authentication shared by warren's servers and clients: constant-time comparison of
// presented credentials, and the Basic authorization header for outgoing requests.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Secret } from '../config/secret.ts';

export interface BasicAuthConfig {
  username: string;
  password: Secret;
}

// Hashing both sides first gives equal-length buffers, so neither length nor content leaks timing.
const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether a presented credential equals the expected one, compared in constant time. */
export function secretsEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

export function basicAuthAccepts(request: IncomingMessage, auth: BasicAuthConfig): boolean {
  const header = request.headers.authorization ?? '';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  const presented = match ? Buffer.from(match[1] as string, 'base64').toString('utf8') : '';
  return secretsEqual(presented, `${auth.username}:${auth.password.reveal()}`);
}

/** `Authorization` header value for HTTP Basic; build it per request so the plain value is never stored. */
export function basicAuthorization(auth: BasicAuthConfig): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password.reveal()}`).toString('base64')}`;
}
