// HTTP basic authentication with a constant-time comparison, shared by warren's HTTP servers.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Secret } from '../config/secret.ts';

export interface BasicAuthConfig {
  username: string;
  password: Secret;
}

// Hashing both sides first gives equal-length buffers, so neither length nor content leaks timing.
const digest = (text: string) => createHash('sha256').update(text).digest();

export function basicAuthAccepts(request: IncomingMessage, auth: BasicAuthConfig): boolean {
  const header = request.headers.authorization ?? '';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  const presented = match ? Buffer.from(match[1] as string, 'base64').toString('utf8') : '';
  const expected = `${auth.username}:${auth.password.reveal()}`;
  return timingSafeEqual(digest(presented), digest(expected));
}
