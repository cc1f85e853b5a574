import type {
  BatchItem,
  BatchItemResult,
  CloudEventJson,
  ErrorEnvelope,
  EventRequest,
  InboxEvent,
  ReplayRequest,
  SubscriptionPatch,
  SubscriptionRequest,
} from '@triggers/event-schema';
import {
  BatchAccepted,
  CLOUDEVENTS_JSON,
  CloudEvent,
  DeliveryDetails,
  DeliveryList,
  ErrorEnvelope as ErrorEnvelopeSchema,
  EventAccepted,
  EventDetails,
  InboxPage,
  jsonChunks,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  ReplayResult,
  SubscriptionCreated,
  SubscriptionDeleted,
  SubscriptionDetails,
  SubscriptionList,
} from '@triggers/event-schema';
import * as v from 'valibot';
import { TriggersError } from './errors.ts';
import { type InboxQuery, inboxSearch } from './inbox-query.ts';
import { DEFAULT_RETRY, parseRetryAfter, RETRYABLE_STATUSES, type RetryPolicy, retryDelay } from './retry.ts';

export interface TriggersClientOptions {
  /** Where the ingest Worker answers, e.g. `https://ingest.example.com`. */
  baseUrl: string;
  /** An API key, `sk_live_…` or `sk_test_…`. */
  apiKey: string;
  /** The `fetch` to use; the runtime's by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** Retries on 429, 503 and network failures. Defaults: 5 attempts, 500 ms backoff, 60 s at most. */
  retry?: Partial<RetryPolicy>;
  /** Waits between attempts; replaceable so that tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Makes the idempotency key of an event sent without one. `crypto.randomUUID` by default. */
  newIdempotencyKey?: () => string;
}

/** What every method takes besides its arguments. */
export interface RequestOptions {
  /**
   * Cancels the call: the request in flight and any wait before a retry. The call then rejects
   * with the signal's `reason` (an `AbortError` `DOMException` unless you gave another).
   */
  signal?: AbortSignal;
}

export interface SendOptions extends RequestOptions {
  /** Sent as `Idempotency-Key`; a random one is generated when absent, so retries are safe. */
  idempotencyKey?: string;
}

/** What `send` resolves to once the event is on the queue. */
export type SentEvent = EventAccepted['data'];

/** A page of the inbox: its events, and the cursor of the next page (null after the last). */
export type InboxPageData = InboxPage['data'];

/** What `replayDeadLetters` takes: the body of `POST /dlq/replay` (every field optional). */
export type ReplayOptions = v.InferInput<typeof ReplayRequest>;

/** What `replayDeadLetters` resolves to: how many failed events were queued again, and which. */
export type Replayed = ReplayResult['data'];

/**
 * One request. `retryInTransit`: whether a request that failed in transit (no answer; it may or
 * may not have taken effect) is sent again, which only a request safe to repeat may be. 429 and
 * 503 are retried for every request: the API answers them having changed nothing.
 */
interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: string;
  headers?: Record<string, string>;
  signal: AbortSignal | undefined;
  retryInTransit: boolean;
}

const JSON_TYPE = 'application/json';

/** A typed client for the Triggers ingest API. Runs wherever `fetch` does. */
export class TriggersClient {
  readonly #base: string;
  readonly #apiKey: string;
  readonly #fetch: (request: Request) => Promise<Response>;
  readonly #retry: RetryPolicy;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #newKey: () => string;

  constructor(options: TriggersClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? ((request) => fetch(request));
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#newKey = options.newIdempotencyKey ?? (() => crypto.randomUUID());
  }

  /**
   * Sends one event and resolves once it is on the queue. It carries an idempotency key (yours or
   * a generated one) on every attempt, so a retry after a lost answer never stores it twice.
   */
  async send(event: EventRequest, options: SendOptions = {}): Promise<SentEvent> {
    const body = await this.#call({
      method: 'POST',
      path: '/events',
      body: JSON.stringify(event),
      headers: { 'idempotency-key': options.idempotencyKey ?? this.#newKey() },
      signal: options.signal,
      retryInTransit: true,
    });
    return parseAnswer(EventAccepted, body).data;
  }

  /**
   * Sends any number of events, as many `POST /events/batch` requests as the API's limits need
   * (at most 100 events and 1 MB each), one after the other. Resolves to one result per event, at
   * its index in `events`: `accepted` with its `event_id`, or `rejected` with the reason. Every
   * event gets an idempotency key unless it has one, so retries never store it twice.
   *
   * Throws a {@link TriggersError} when a request fails for good; its `results` holds what the
   * requests before it achieved.
   */
  async sendBatch(events: readonly BatchItem[], options: RequestOptions = {}): Promise<BatchItemResult[]> {
    const items = events.map((event) => ({
      ...event,
      idempotency_key: event.idempotency_key ?? this.#newKey(),
    }));
    // Runs of consecutive items, one request body each.
    const chunks = jsonChunks(items, {
      maxItems: MAX_BATCH_EVENTS,
      maxBytes: MAX_BATCH_BYTES,
      open: '{"events":[',
      close: ']}',
    });
    const results: (BatchItemResult | undefined)[] = new Array(items.length);
    // An event too large for any request is alone in its run: rejected here, never sent.
    const sendable = chunks.filter((chunk) => {
      if (chunk.bytes <= MAX_BATCH_BYTES) return true;
      results[chunk.offset] = tooLarge(chunk.offset);
      return false;
    });
    for (const chunk of sendable) {
      let chunkResults: BatchItemResult[];
      try {
        chunkResults = batchResults(
          await this.#call({
            method: 'POST',
            path: '/events/batch',
            body: chunk.text,
            signal: options.signal,
            retryInTransit: true,
          }),
        );
      } catch (err) {
        // A batch of which no item was valid is answered 400 with every item's reason.
        const rejected = err instanceof TriggersError ? err.envelope?.error.details?.results : undefined;
        if (rejected === undefined) {
          if (err instanceof TriggersError) err.results = results;
          throw err;
        }
        chunkResults = rejected;
      }
      for (const result of chunkResults) {
        const index = chunk.offset + result.index;
        results[index] = reindex(result, index);
      }
    }
    return results as BatchItemResult[];
  }

  /**
   * Sends one CloudEvent 1.0 in structured mode (`application/cloudevents+json`) and resolves once
   * it is on the queue. Its `source` and `id` are its idempotency key, so a resend is safe and
   * resolves to the same `event_id`.
   */
  async sendCloudEvent(event: CloudEventJson, options: RequestOptions = {}): Promise<SentEvent> {
    const body = await this.#call({
      method: 'POST',
      path: '/events',
      body: JSON.stringify(event),
      headers: { 'content-type': CLOUDEVENTS_JSON },
      ...safe(options),
    });
    return parseAnswer(EventAccepted, body).data;
  }

  /**
   * Reads a stored event back as a structured CloudEvent: for one sent as a CloudEvent, equal to
   * it (attributes, extensions, data). Throws a {@link TriggersError} (`NOT_FOUND`, …) otherwise.
   */
  async getCloudEvent(eventId: string, options: RequestOptions = {}): Promise<CloudEventJson> {
    const body = await this.#call({
      method: 'GET',
      path: eventPath('/events', eventId),
      headers: { accept: CLOUDEVENTS_JSON },
      ...safe(options),
    });
    return parseAnswer(CloudEvent, body) as CloudEventJson;
  }

  /** `GET /events/{event_id}`: one event of this key, whatever its status. 404 `NOT_FOUND` if none. */
  async getEvent(eventId: string, options: RequestOptions = {}): Promise<InboxEvent> {
    const body = await this.#call({ method: 'GET', path: eventPath('/events', eventId), ...safe(options) });
    return parseAnswer(EventDetails, body).data;
  }

  /**
   * `GET /inbox`: one page of this key's events, by default those not acknowledged, newest first.
   * Pass the page's `next_cursor` as `cursor` (with the same filters) for the next; or let
   * {@link TriggersClient.inbox} do that.
   */
  async listInbox(query: InboxQuery = {}, options: RequestOptions = {}): Promise<InboxPageData> {
    const body = await this.#call({ method: 'GET', path: `/inbox${inboxSearch(query)}`, ...safe(options) });
    return parseAnswer(InboxPage, body).data;
  }

  /**
   * Every event of the inbox that matches `query`, page after page, fetched as the loop asks for
   * them: `for await (const event of client.inbox({ status: 'failed' })) …`. Stopping the loop
   * early fetches no further page.
   */
  async *inbox(query: InboxQuery = {}, options: RequestOptions = {}): AsyncGenerator<InboxEvent, void> {
    let cursor = query.cursor;
    do {
      const page = await this.listInbox({ ...query, cursor }, options);
      yield* page.events;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /**
   * `POST /inbox/{event_id}/ack`: marks a delivered or failed event handled. Acknowledging again
   * answers the same (with the first time), so it is retried like a read. 409 `INVALID_STATE` for
   * a pending event.
   */
  async ack(eventId: string, options: RequestOptions = {}): Promise<InboxEvent> {
    const path = `${eventPath('/inbox', eventId)}/ack`;
    const body = await this.#call({ method: 'POST', path, ...safe(options) });
    return parseAnswer(EventDetails, body).data;
  }

  /**
   * `POST /inbox/{event_id}/retry`: queues a failed event again; resolves to it, `pending`. 409
   * `INVALID_STATE` for an event that is not failed. Not sent again after a failure in transit
   * (it may have been retried already; a second call would answer 409): check with `getEvent`.
   */
  async retry(eventId: string, options: RequestOptions = {}): Promise<InboxEvent> {
    const path = `${eventPath('/inbox', eventId)}/retry`;
    const body = await this.#call({ method: 'POST', path, ...once(options) });
    return parseAnswer(EventDetails, body).data;
  }

  /**
   * `POST /dlq/replay`: queues this key's failed, unacknowledged events again, oldest first,
   * within `from`/`to`, at most `limit` (100 by default). Not sent again after a failure in
   * transit, as a second replay may take other events.
   */
  async replayDeadLetters(replay: ReplayOptions = {}, options: RequestOptions = {}): Promise<Replayed> {
    const body = await this.#call({
      method: 'POST',
      path: '/dlq/replay',
      body: JSON.stringify(replay),
      ...once(options),
    });
    return parseAnswer(ReplayResult, body).data;
  }

  /**
   * `POST /subscriptions`: subscribes a webhook URL to this key's events (`event_types` absent:
   * every event). Resolves to the subscription with its signing `secret` (`whsec_…`), shown only
   * now. Not sent again after a failure in transit (a second call would create a second one).
   */
  async createSubscription(subscription: SubscriptionRequest, options: RequestOptions = {}) {
    const body = await this.#call({
      method: 'POST',
      path: '/subscriptions',
      body: JSON.stringify(subscription),
      ...once(options),
    });
    return parseAnswer(SubscriptionCreated, body).data;
  }

  /** `GET /subscriptions`: this key's subscriptions, oldest first, without their secrets. */
  async listSubscriptions(options: RequestOptions = {}) {
    const body = await this.#call({ method: 'GET', path: '/subscriptions', ...safe(options) });
    return parseAnswer(SubscriptionList, body).data.subscriptions;
  }

  /** `GET /subscriptions/{id}`: whether it is enabled, and why not. 404 `NOT_FOUND` for another key's. */
  async getSubscription(subscriptionId: string, options: RequestOptions = {}) {
    const body = await this.#call({
      method: 'GET',
      path: subscriptionPath(subscriptionId),
      ...safe(options),
    });
    return parseAnswer(SubscriptionDetails, body).data;
  }

  /** `PATCH /subscriptions/{id}`: a new url, event_types or enabled. The same patch twice changes nothing more. */
  async updateSubscription(subscriptionId: string, patch: SubscriptionPatch, options: RequestOptions = {}) {
    const path = subscriptionPath(subscriptionId);
    const body = await this.#call({ method: 'PATCH', path, body: JSON.stringify(patch), ...safe(options) });
    return parseAnswer(SubscriptionDetails, body).data;
  }

  /** `DELETE /subscriptions/{id}`: no more deliveries; its deliveries log stays. */
  async deleteSubscription(subscriptionId: string, options: RequestOptions = {}): Promise<void> {
    const body = await this.#call({
      method: 'DELETE',
      path: subscriptionPath(subscriptionId),
      ...once(options),
    });
    parseAnswer(SubscriptionDeleted, body);
  }

  /**
   * `POST /subscriptions/{id}/rotate-secret`: a new signing secret, shown only now; the previous
   * one signs too for the documented overlap (24 h). Not sent again after a failure in transit.
   */
  async rotateSecret(subscriptionId: string, options: RequestOptions = {}) {
    const path = `${subscriptionPath(subscriptionId)}/rotate-secret`;
    const body = await this.#call({ method: 'POST', path, ...once(options) });
    return parseAnswer(SubscriptionCreated, body).data;
  }

  /** `GET /events/{event_id}/deliveries`: each webhook delivery of the event with its attempts. */
  async listDeliveries(eventId: string, options: RequestOptions = {}) {
    const path = `${eventPath('/events', eventId)}/deliveries`;
    const body = await this.#call({ method: 'GET', path, ...safe(options) });
    return parseAnswer(DeliveryList, body).data.deliveries;
  }

  /**
   * `POST /events/{event_id}/deliveries/{delivery_id}/retry`: a failed delivery gets a new round
   * of attempts. 409 `INVALID_STATE` unless it is failed. Not sent again after a failure in transit.
   */
  async retryDelivery(eventId: string, deliveryId: string, options: RequestOptions = {}) {
    const path = `${eventPath('/events', eventId)}/deliveries/${encodeURIComponent(deliveryId)}/retry`;
    const body = await this.#call({ method: 'POST', path, ...once(options) });
    return parseAnswer(DeliveryDetails, body).data;
  }

  /** Sends `call`, retrying per the policy; resolves to the parsed 200 body. */
  async #call(call: Call): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      call.signal?.throwIfAborted();
      const outcome = await this.#attempt(call);
      if (!('error' in outcome)) return outcome.body;
      if (!outcome.retryable || attempt >= this.#retry.maxAttempts) throw outcome.error;
      await abortable(this.#sleep(retryDelay(this.#retry, attempt, outcome.retryAfterMs)), call.signal);
    }
  }

  async #attempt({ method, path, body, headers, signal, retryInTransit }: Call): Promise<Attempt> {
    const request = new Request(`${this.#base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#apiKey}`,
        ...(body === undefined ? {} : { 'content-type': JSON_TYPE }),
        ...headers,
      },
      body,
      signal,
    });
    let response: Response;
    try {
      response = await abortable(this.#fetch(request), signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const error = new TriggersError(
        0,
        'NETWORK_ERROR',
        `${method} ${path} failed: ${String(err)}`,
        undefined,
        {
          cause: err,
        },
      );
      return { error, retryable: retryInTransit, retryAfterMs: undefined };
    }
    if (response.ok) return { body: await readJson(response) };
    return {
      error: await toError(response),
      retryable: RETRYABLE_STATUSES.has(response.status),
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    };
  }
}

/** A read, or a write whose repetition changes nothing: safe to send again after any failure. */
const safe = (options: RequestOptions) => ({ signal: options.signal, retryInTransit: true });

/** A write that must not be repeated blindly: retried only when the API answered that it did nothing. */
const once = (options: RequestOptions) => ({ signal: options.signal, retryInTransit: false });

/** `/subscriptions/{id}`, the id escaped. */
const subscriptionPath = (subscriptionId: string) => `/subscriptions/${encodeURIComponent(subscriptionId)}`;

/** `/events/{id}` or `/inbox/{id}`, the id escaped. */
const eventPath = (prefix: string, eventId: string) => `${prefix}/${encodeURIComponent(eventId)}`;

/** `promise`, or the signal's reason as soon as it aborts (whichever comes first). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

type Attempt =
  | { body: unknown }
  | { error: TriggersError; retryable: boolean; retryAfterMs: number | undefined };

/** Creates a {@link TriggersClient}. */
export function createClient(options: TriggersClientOptions): TriggersClient {
  return new TriggersClient(options);
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch (err) {
    throw new TriggersError(
      response.status,
      'UNEXPECTED_RESPONSE',
      'The API answered without JSON.',
      undefined,
      {
        cause: err,
      },
    );
  }
}

async function toError(response: Response): Promise<TriggersError> {
  const parsed = v.safeParse(ErrorEnvelopeSchema, await response.json().catch(() => undefined));
  if (!parsed.success) {
    return new TriggersError(
      response.status,
      'UNEXPECTED_RESPONSE',
      `The API answered ${response.status} without an error body.`,
    );
  }
  const envelope: ErrorEnvelope = parsed.output;
  return new TriggersError(response.status, envelope.error.code, envelope.error.message, envelope);
}

function batchResults(body: unknown): BatchItemResult[] {
  return parseAnswer(BatchAccepted, body).data.results;
}

/** A 200 body checked against the schema it must follow. */
function parseAnswer<TSchema extends v.GenericSchema>(
  schema: TSchema,
  body: unknown,
): v.InferOutput<TSchema> {
  const parsed = v.safeParse(schema, body);
  if (parsed.success) return parsed.output;
  throw new TriggersError(
    200,
    'UNEXPECTED_RESPONSE',
    `The API answered 200 with an unexpected body: ${v.summarize(parsed.issues)}`,
  );
}

/** The result of an event larger than a whole batch request may be: not sent. */
function tooLarge(index: number): BatchItemResult {
  const message = `The event is larger than a whole batch request may be (${MAX_BATCH_BYTES} bytes).`;
  return {
    index,
    status: 'rejected',
    error: { code: 'PAYLOAD_TOO_LARGE', message, issues: [{ path: `events.${index}`, message }] },
  };
}

/** A chunk's result, renumbered to the item's index in the whole list (issue paths included). */
function reindex(result: BatchItemResult, index: number): BatchItemResult {
  if (result.status === 'accepted') return { ...result, index };
  const issues = result.error.issues?.map((issue) => ({
    ...issue,
    path: issue.path.replace(/^events\.\d+/, `events.${index}`),
  }));
  return { ...result, index, error: { ...result.error, ...(issues ? { issues } : {}) } };
}
