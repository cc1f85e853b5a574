import type { InboxEvent } from '@triggers/event-schema';
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api, describeFailure, isStatus } from '../api.ts';
import { Deliveries, RETRY_DELIVERY } from '../components/deliveries.tsx';
import { JsonBlock } from '../components/json.tsx';
import { Notice } from '../components/notice.tsx';
import { StatusBadge } from '../components/status.tsx';
import { Time } from '../components/time.tsx';
import { useChange, useFocusOnMount, useLoad } from '../hooks.ts';
import { href } from '../route.ts';
import type { ViewProps } from './view.ts';

/** The fields this view lays out itself; any other field of the event is shown under Attributes. */
const KNOWN = new Set([
  'event_id',
  'status',
  'attempts',
  'last_error',
  'received_at',
  'created_at',
  'updated_at',
  'acked_at',
  'correlation_id',
  'debug',
  'payload',
  'metadata',
]);

/** While an event is pending, how often its page reads it again. */
const PENDING_REFRESH_MS = 2_000;

/**
 * One event (`GET /events/{id}`): status, attempts, last error, times, correlation id, payload and
 * metadata; Retry for a failed one and Acknowledge for a final one. Fields the API adds later
 * (issue 10's type, source, subject) appear under Attributes, and its webhook deliveries (with a
 * retry for a failed one) once the API offers `GET /events/{event_id}/deliveries`.
 */
export function EventView({ apiKey, caps, params }: ViewProps) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const eventId = params[0] ?? '';
  const [refreshMs, setRefreshMs] = useState<number | undefined>(undefined);
  const loaded = useLoad(
    async (signal) => {
      const event: InboxEvent & Record<string, unknown> = await api(apiKey).events.get(eventId, { signal });
      setRefreshMs(event.status === 'pending' ? PENDING_REFRESH_MS : undefined);
      return event;
    },
    [apiKey, eventId],
    refreshMs,
  );
  const { busy, outcome, run } = useChange(loaded.reload);
  const event = loaded.data;

  const act = (action: 'retry' | 'ack') =>
    run(async () => {
      await api(apiKey).inbox[action](eventId);
      return action === 'retry' ? 'Sent to the queue again: it is pending.' : 'Acknowledged.';
    });

  const extra = event === undefined ? [] : Object.entries(event).filter(([name]) => !KNOWN.has(name));

  return (
    <>
      <p class="breadcrumb">
        <a href={href('inbox')}>← Inbox</a>
      </p>
      <h1 ref={heading} tabIndex={-1}>
        Event <span class="mono">{eventId}</span>
      </h1>
      {loaded.error !== undefined &&
        (isStatus(loaded.error, 404) ? (
          <Notice kind="info">
            No stored event with this id yet. An event just accepted is stored once the consumer's batch
            closes.
          </Notice>
        ) : (
          <Notice kind="error">{describeFailure(loaded.error)}</Notice>
        ))}
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
      {event && (
        <>
          <section class="card">
            <div class="card-head">
              <h2>Where it stands</h2>
              <div class="actions">
                {event.status === 'failed' && (
                  <button type="button" disabled={busy} onClick={() => act('retry')}>
                    Retry
                  </button>
                )}
                {event.status !== 'pending' && event.acked_at === null && (
                  <button type="button" class="secondary" disabled={busy} onClick={() => act('ack')}>
                    Acknowledge
                  </button>
                )}
              </div>
            </div>
            <dl class="fields">
              <dt>Status</dt>
              <dd data-testid="event-status">
                <StatusBadge status={event.status} />
              </dd>
              <dt>Attempts</dt>
              <dd>{event.attempts}</dd>
              <dt>Last error</dt>
              <dd class="error-cell">{event.last_error ?? '—'}</dd>
              <dt>Correlation id</dt>
              <dd class="mono">{event.correlation_id}</dd>
              <dt>Debug flag</dt>
              <dd>{event.debug ?? '—'}</dd>
              <dt>Received</dt>
              <dd>
                <Time iso={event.received_at} />
              </dd>
              <dt>Stored</dt>
              <dd>
                <Time iso={event.created_at} />
              </dd>
              <dt>Updated</dt>
              <dd>
                <Time iso={event.updated_at} />
              </dd>
              <dt>Acknowledged</dt>
              <dd>
                <Time iso={event.acked_at} />
              </dd>
            </dl>
          </section>
          {extra.length > 0 && (
            <section class="card">
              <h2>Attributes</h2>
              <dl class="fields">
                {extra.map(([name, value]) => (
                  <Fragment key={name}>
                    <dt>{name}</dt>
                    <dd class="mono">{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
                  </Fragment>
                ))}
              </dl>
            </section>
          )}
          <section class="card">
            <h2>Payload</h2>
            <JsonBlock value={event.payload} label="Payload" />
            <h2>Metadata</h2>
            {event.metadata === null ? (
              <p>None sent.</p>
            ) : (
              <JsonBlock value={event.metadata} label="Metadata" />
            )}
          </section>
          {caps.has('GET /events/{event_id}/deliveries') && (
            <Deliveries
              apiKey={apiKey}
              eventId={eventId}
              version={event.updated_at}
              canRetry={caps.has(RETRY_DELIVERY)}
            />
          )}
        </>
      )}
    </>
  );
}
