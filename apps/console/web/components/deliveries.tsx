import type { Delivery, DeliveryAttempt } from '@triggers/event-schema';
import { useState } from 'preact/hooks';
import { api, describeFailure } from '../api.ts';
import { useChange, useLoad } from '../hooks.ts';
import { Notice } from './notice.tsx';
import { StatusBadge } from './status.tsx';
import { Time } from './time.tsx';

/** While a delivery is pending, how often the list is read again. */
const PENDING_REFRESH_MS = 2_000;
/**
 * How long after the event last changed its deliveries may still be created: fan-out runs on the
 * delivery queue, a moment after the event is stored. The list is read again until then too.
 */
const FAN_OUT_WINDOW_MS = 30_000;

/** The manual retry, offered once the API lists it. */
export const RETRY_DELIVERY = 'POST /events/{event_id}/deliveries/{delivery_id}/retry';

/** "HTTP 500", "timeout: …", or both when a status came with an error. */
const result = (attempt: DeliveryAttempt) =>
  [attempt.http_status === null ? null : `HTTP ${attempt.http_status}`, attempt.error]
    .filter((part) => part !== null)
    .join(': ') || '—';

/**
 * An event's webhook deliveries (`GET /events/{event_id}/deliveries`): each with its status,
 * subscription URL and every attempt (time, HTTP status or error, latency, response excerpt),
 * and "Retry delivery" for a failed one when the API offers it. Read again every 2 s while one is
 * pending or the event changed less than 30 s ago (its deliveries are created by fan-out, just
 * after it is stored), and whenever `version` (the event's `updated_at`) changes.
 */
export function Deliveries({
  apiKey,
  eventId,
  version,
  canRetry,
}: {
  apiKey: string;
  eventId: string;
  version: string;
  canRetry: boolean;
}) {
  const [refreshMs, setRefreshMs] = useState<number | undefined>(undefined);
  const loaded = useLoad(
    async (signal) => {
      const deliveries = await api(apiKey).deliveries.list(eventId, { signal });
      const fanningOut = Date.now() - Date.parse(version) < FAN_OUT_WINDOW_MS;
      const pending = deliveries.some((d) => d.status === 'pending');
      setRefreshMs(pending || fanningOut ? PENDING_REFRESH_MS : undefined);
      return deliveries;
    },
    [apiKey, eventId, version],
    refreshMs,
  );
  const { busy, outcome, run } = useChange(loaded.reload);
  const retry = (delivery: Delivery) =>
    run(async () => {
      await api(apiKey).deliveries.retry(eventId, delivery.id);
      return `Retrying the delivery to ${delivery.url}: a new round started.`;
    });

  const deliveries = loaded.data;
  return (
    <section class="card" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Webhook deliveries</h2>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
      {loaded.error !== undefined && <Notice kind="error">{describeFailure(loaded.error)}</Notice>}
      {deliveries?.length === 0 && (
        <p class="empty">None: no enabled subscription matched this event when it was stored.</p>
      )}
      {deliveries?.map((delivery) => (
        <article key={delivery.id} class="delivery" data-delivery-id={delivery.id}>
          <div class="card-head">
            <h3 class="mono">{delivery.url}</h3>
            <span data-testid="delivery-status">
              <StatusBadge status={delivery.status} />
            </span>
            {canRetry && delivery.status === 'failed' && (
              <button
                type="button"
                class="small"
                disabled={busy}
                aria-label={`Retry delivery to ${delivery.url}`}
                onClick={() => retry(delivery)}
              >
                Retry delivery
              </button>
            )}
          </div>
          <p class="hint">
            {delivery.round > 1 && `Round ${delivery.round} (retried by hand), `}
            {delivery.attempts} {delivery.attempts === 1 ? 'attempt' : 'attempts'}
            {delivery.next_attempt_at !== null && (
              <>
                ; next <Time iso={delivery.next_attempt_at} />
              </>
            )}
            {delivery.status !== 'succeeded' &&
              delivery.last_error !== null &&
              `; last error: ${delivery.last_error}`}
            . Delivery id <span class="mono">{delivery.id}</span> (the <code>webhook-id</code> header).
          </p>
          {delivery.attempt_log.length > 0 && (
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable to scroll by keyboard.
            <section class="table-scroll" tabIndex={0} aria-label={`Attempts to ${delivery.url}`}>
              <table>
                <caption class="visually-hidden">Attempts to {delivery.url}</caption>
                <thead>
                  <tr>
                    <th scope="col">{delivery.round > 1 ? 'Round.attempt' : 'Attempt'}</th>
                    <th scope="col">Time</th>
                    <th scope="col">Result</th>
                    <th scope="col">Latency</th>
                    <th scope="col">Response (excerpt)</th>
                  </tr>
                </thead>
                <tbody>
                  {delivery.attempt_log.map((attempt) => (
                    <tr key={`${attempt.round}.${attempt.attempt}`}>
                      <td>{delivery.round > 1 ? `${attempt.round}.${attempt.attempt}` : attempt.attempt}</td>
                      <td>
                        <Time iso={attempt.attempted_at} />
                      </td>
                      <td class="error-cell">{result(attempt)}</td>
                      <td>{attempt.latency_ms} ms</td>
                      <td class="mono error-cell">{attempt.response_excerpt || '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          )}
        </article>
      ))}
    </section>
  );
}
