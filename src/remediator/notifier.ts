// The outgoing escalation webhook: where notify_only and an opened circuit breaker tell a human.
// Delivery is best effort with a timeout; a failure is logged and counted, never thrown, because a
// notification must not change what the remediator does.
import { HttpOrigin, discard, pathOf } from '../http/client.ts';
import type { Logger } from '../logging.ts';
import type { RemediatorSettings } from './settings.ts';
import type { Notifier } from './strategies/strategy.ts';

export function createNotifier(settings: RemediatorSettings['escalationWebhook'], logger: Logger, onResult: (delivered: boolean) => void = () => {}): Notifier & { close: () => void } {
  // Aborted at shutdown: an unanswered notification must not keep the process alive.
  const closing = new AbortController();
  const url = settings ? new URL(settings.url) : undefined;
  const origin = url && settings ? new HttpOrigin(url.origin, { connections: 4, connectTimeoutMs: settings.timeoutMs }) : undefined;
  return {
    configured: settings !== undefined,
    close: () => {
      closing.abort();
      origin?.close();
    },
    async notify(kind, payload, signal) {
      if (!settings || !url || !origin) return false;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (settings.bearerToken) headers.authorization = `Bearer ${settings.bearerToken.reveal()}`;
      const timeout = AbortSignal.timeout(settings.timeoutMs);
      try {
        const response = await origin.request({
          path: pathOf(url),
          method: 'POST',
          headers,
          body: JSON.stringify({ source: 'warren-remediator', kind, ...payload }),
          signal: AbortSignal.any([closing.signal, timeout, ...(signal ? [signal] : [])]),
        });
        await discard(response);
        const delivered = response.status >= 200 && response.status < 300;
        if (!delivered) logger.warn({ kind, status: response.status }, 'escalation webhook refused the notification');
        onResult(delivered);
        return delivered;
      } catch (error) {
        logger.warn({ kind, err: (error as Error).message }, 'escalation webhook unreachable');
        onResult(false);
        return false;
      }
    },
  };
}
