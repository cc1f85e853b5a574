import type { EventAccepted, EventStatus } from '@triggers/event-schema';
import { useEffect, useState } from 'preact/hooks';
import { api, callRaw, describeFailure, isStatus, type RawResponse } from '../api.ts';
import { JsonBlock } from '../components/json.tsx';
import { Notice } from '../components/notice.tsx';
import { StatusBadge } from '../components/status.tsx';
import { useFocusOnMount } from '../hooks.ts';
import { href } from '../route.ts';
import type { ViewProps } from './view.ts';

const EXAMPLE = JSON.stringify(
  { payload: { order_id: 'o_123', amount: 42, currency: 'EUR' }, metadata: { source: 'console' } },
  null,
  2,
);

/** The `?debug=` rehearsals a test key may ask for, and what each does. */
const DEBUG_OPTIONS = [
  ['', 'None', 'Processed as any event.'],
  [
    'processing_error',
    'processing_error',
    'Queued; the consumer fails it on every attempt, so it ends failed.',
  ],
  ['dlq_routing', 'dlq_routing', 'Queued; the consumer sends it straight to the dead-letter queue.'],
  ['queue_delay', 'queue_delay', 'Queued with a delivery delay of a few seconds.'],
  ['validation_error', 'validation_error', 'Refused with 400; nothing is queued.'],
] as const;

/** How often and for how long an accepted event is followed. */
const FOLLOW_EVERY_MS = 1_000;
const FOLLOW_FOR_MS = 5 * 60_000;

interface Step {
  at: string;
  status: EventStatus | 'queued';
  attempts: number;
}

/** Whether `text` is a JSON object; the problem otherwise. */
function checkBody(text: string): string | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? null
      : 'The body must be a JSON object, such as {"payload": {…}}.';
  } catch (err) {
    return `Not valid JSON: ${(err as Error).message}`;
  }
}

/**
 * A JSON editor that sends `POST /events` with a test key's debug options, shows the answer, and
 * then follows the event (`GET /events/{id}`) until it is delivered or failed.
 */
export function SendEvent({ apiKey }: ViewProps) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const [body, setBody] = useState(EXAMPLE);
  const [debug, setDebug] = useState('');
  const [idempotencyKey, setIdempotencyKey] = useState('');
  const [sending, setSending] = useState(false);
  const [response, setResponse] = useState<RawResponse | null>(null);
  const [sendError, setSendError] = useState<string | null>(null);
  const [followed, setFollowed] = useState<string | null>(null);
  const problem = checkBody(body);

  const send = async (event: Event) => {
    event.preventDefault();
    if (problem !== null) return;
    setSending(true);
    setResponse(null);
    setSendError(null);
    setFollowed(null);
    try {
      const raw = await callRaw(apiKey, 'POST', `/events${debug === '' ? '' : `?debug=${debug}`}`, {
        body,
        headers: idempotencyKey.trim() === '' ? {} : { 'idempotency-key': idempotencyKey.trim() },
      });
      setResponse(raw);
      if (raw.status === 200) setFollowed((raw.body as EventAccepted).data.event_id);
    } catch (err) {
      setSendError(describeFailure(err));
    } finally {
      setSending(false);
    }
  };

  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Send a test event
      </h1>
      <form class="card send" onSubmit={send}>
        <label for="event-body">Request body (JSON)</label>
        <p class="hint" id="event-body-hint">
          What <code>POST /events</code> takes: a <code>payload</code> object and an optional{' '}
          <code>metadata</code> object.
        </p>
        <textarea
          id="event-body"
          name="body"
          rows={10}
          spellcheck={false}
          value={body}
          aria-invalid={problem !== null}
          aria-describedby={problem === null ? 'event-body-hint' : 'event-body-hint event-body-problem'}
          onInput={(e) => setBody(e.currentTarget.value)}
        />
        {problem !== null && (
          <p class="field-error" id="event-body-problem">
            {problem}
          </p>
        )}
        <div class="actions">
          <button
            type="button"
            class="secondary"
            disabled={problem !== null}
            onClick={() => setBody(JSON.stringify(JSON.parse(body), null, 2))}
          >
            Format JSON
          </button>
        </div>
        <fieldset class="debug-options">
          <legend>Debug option (test keys only)</legend>
          {DEBUG_OPTIONS.map(([value, label, description]) => (
            <label key={value} class="radio">
              <input
                type="radio"
                name="debug"
                value={value}
                checked={debug === value}
                onChange={() => setDebug(value)}
              />
              <span>
                <strong>{label}</strong> <span class="hint">{description}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <label>
          Idempotency key (optional)
          <input
            name="idempotency-key"
            value={idempotencyKey}
            onInput={(e) => setIdempotencyKey(e.currentTarget.value)}
            autocomplete="off"
          />
        </label>
        <div class="actions">
          <button type="submit" disabled={sending || problem !== null}>
            {sending ? 'Sending…' : 'Send event'}
          </button>
        </div>
      </form>

      {sendError !== null && <Notice kind="error">{sendError}</Notice>}
      {response !== null && (
        <section class="card" aria-labelledby="response-title">
          <h2 id="response-title">
            Response: <span data-testid="response-status">{response.status}</span>
          </h2>
          {response.correlationId !== null && (
            <p>
              Correlation id: <span class="mono">{response.correlationId}</span>
            </p>
          )}
          <JsonBlock value={response.body} label="Response body" />
        </section>
      )}
      {followed !== null && <Follow key={followed} apiKey={apiKey} eventId={followed} />}
    </>
  );
}

/** Reads the event every second until it is delivered or failed, listing each change seen. */
function Follow({ apiKey, eventId }: { apiKey: string; eventId: string }) {
  const [steps, setSteps] = useState<Step[]>([
    { at: new Date().toISOString(), status: 'queued', attempts: 0 },
  ]);
  const [error, setError] = useState<string | null>(null);
  const [gaveUp, setGaveUp] = useState(false);
  const last = steps.at(-1);
  const done = last?.status === 'delivered' || last?.status === 'failed';

  useEffect(() => {
    const controller = new AbortController();
    const deadline = Date.now() + FOLLOW_FOR_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const event = await api(apiKey).events.get(eventId, { signal: controller.signal });
        setError(null);
        setSteps((seen) => {
          const previous = seen.at(-1);
          if (previous?.status === event.status && previous.attempts === event.attempts) return seen;
          return [...seen, { at: new Date().toISOString(), status: event.status, attempts: event.attempts }];
        });
        if (event.status !== 'pending') return;
      } catch (err) {
        if (controller.signal.aborted) return;
        // 404: not stored yet (the consumer stores it when its batch closes).
        if (!isStatus(err, 404)) setError(describeFailure(err));
      }
      if (Date.now() > deadline) return setGaveUp(true);
      timer = setTimeout(poll, FOLLOW_EVERY_MS);
    };
    poll();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [apiKey, eventId]);

  return (
    <section class="card" aria-labelledby="follow-title">
      <h2 id="follow-title">
        Following event{' '}
        <a class="mono" href={href('events', eventId)}>
          {eventId.slice(0, 8)}
        </a>
      </h2>
      <ol class="timeline" aria-live="polite">
        {steps.map((step) => (
          <li key={`${step.at}-${step.status}-${step.attempts}`}>
            <span class="timeline-time">{new Date(step.at).toLocaleTimeString()}</span>{' '}
            {step.status === 'queued' ? (
              <span>Accepted and queued; waiting for the consumer to store it…</span>
            ) : (
              <>
                <StatusBadge status={step.status} /> after {step.attempts}{' '}
                {step.attempts === 1 ? 'attempt' : 'attempts'}
              </>
            )}
          </li>
        ))}
      </ol>
      <p data-testid="follow-state" data-status={last?.status}>
        {done
          ? `Finished: ${last?.status}.`
          : gaveUp
            ? 'Stopped following after five minutes; open the event to see where it stands.'
            : 'Still following…'}
      </p>
      {error !== null && <Notice kind="error">{error}</Notice>}
    </section>
  );
}
