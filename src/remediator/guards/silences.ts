// Asks Alertmanager whether an active silence matches an alert, so a human who silenced it (often:
// "I am working on this") is not overruled by the remediator.
import { z } from 'zod';
import { WarrenError } from '../../errors.ts';
import { basicAuthorization } from '../../http/basic-auth.ts';
import { HttpOrigin, discard, pathOf, readText } from '../../http/client.ts';
import { matchesAll, matcherFromSilence } from '../routing/matchers.ts';
import type { RemediatorSettings } from '../settings.ts';

const silencesSchema = z.array(
  z.looseObject({
    id: z.string(),
    status: z.looseObject({ state: z.string() }),
    matchers: z.array(z.looseObject({ name: z.string(), value: z.string(), isRegex: z.boolean(), isEqual: z.boolean().optional() })),
    createdBy: z.string().optional(),
    comment: z.string().optional(),
  }),
);

export interface SilenceMatch {
  id: string;
  createdBy?: string | undefined;
  comment?: string | undefined;
}

export class SilenceChecker {
  readonly #settings: NonNullable<RemediatorSettings['alertmanager']>;
  readonly #url: URL;
  readonly #origin: HttpOrigin;

  constructor(settings: NonNullable<RemediatorSettings['alertmanager']>) {
    this.#settings = settings;
    this.#url = new URL('api/v2/silences', settings.url.endsWith('/') ? settings.url : `${settings.url}/`);
    this.#origin = new HttpOrigin(this.#url.origin, { connections: 4, connectTimeoutMs: settings.timeoutMs });
  }

  /** Closes its connections; checks still waiting fail. */
  close(): void {
    this.#origin.close();
  }

  /** The first active silence matching `labels`; throws when Alertmanager cannot be asked. */
  async matching(labels: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<SilenceMatch | undefined> {
    const url = this.#url;
    const headers: Record<string, string> = { accept: 'application/json' };
    const auth = this.#settings.basicAuth;
    if (auth) headers.authorization = basicAuthorization(auth);
    const timeout = AbortSignal.timeout(this.#settings.timeoutMs);
    let body: unknown;
    try {
      const response = await this.#origin.request({ path: pathOf(url), headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      if (response.status !== 200) {
        await discard(response);
        throw new Error(`HTTP ${response.status}`);
      }
      body = JSON.parse(await readText(response));
    } catch (error) {
      throw new WarrenError('STRATEGY_FAILED', `GET ${url.origin}/api/v2/silences: ${(error as Error).message}`, { cause: error });
    }
    const parsed = silencesSchema.safeParse(body);
    if (!parsed.success) throw new WarrenError('STRATEGY_FAILED', `GET ${url.origin}/api/v2/silences: response not understood`);
    for (const silence of parsed.data) {
      if (silence.status.state !== 'active') continue;
      // A silence whose regex JavaScript cannot compile (Go syntax) is undecidable only when its
      // other matchers all match; then not knowing is a reason not to act.
      const matchers = silence.matchers.map((m) => {
        try {
          return matcherFromSilence(m);
        } catch {
          return undefined;
        }
      });
      const usable = matchers.filter((m) => m !== undefined);
      if (!matchesAll(usable, labels)) continue;
      if (usable.length < matchers.length) {
        throw new WarrenError('STRATEGY_FAILED', `silence ${silence.id} matches except for a regex warren cannot evaluate; not acting`);
      }
      return { id: silence.id, createdBy: silence.createdBy, comment: silence.comment };
    }
    return undefined;
  }
}
