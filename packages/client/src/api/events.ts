import type {
  BatchItem,
  BatchItemResult,
  CloudEventJson,
  EventRequest,
  InboxEvent,
} from '@triggers/event-schema';
import {
  BatchAccepted,
  CLOUDEVENTS_JSON,
  CloudEvent,
  EventAccepted,
  EventDetails,
  jsonChunks,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
} from '@triggers/event-schema';
import { TriggersError } from '../errors.ts';
import { type Call, path, type RequestOptions, Resource, safe, type Transport } from '../transport.ts';

export interface SendOptions extends RequestOptions {
  /** Sent as `Idempotency-Key`; a random one is generated when absent, so retries are safe. */
  idempotencyKey?: string;
}

/** What `send` resolves to once the event is on the queue. */
export type SentEvent = EventAccepted['data'];

/**
 * `/events`: sending events (one, many, or a CloudEvent) and reading one back. Every send is safe
 * to retry: each event carries an idempotency key (its own, or one made here), so a retry after a
 * lost answer never stores it twice.
 */
export class Events extends Resource {
  readonly #newKey: () => string;

  constructor(transport: Transport, newIdempotencyKey: () => string) {
    super(transport);
    this.#newKey = newIdempotencyKey;
  }

  /** `POST /events`: sends one event and resolves once it is on the queue. */
  async send(event: EventRequest, options: SendOptions = {}): Promise<SentEvent> {
    const call: Call = {
      method: 'POST',
      path: '/events',
      body: JSON.stringify(event),
      headers: { 'idempotency-key': options.idempotencyKey ?? this.#newKey() },
      ...safe(options),
    };
    return (await this.transport.request(call, EventAccepted)).data;
  }

  /**
   * Sends any number of events, as many `POST /events/batch` requests as the API's limits need
   * (at most 100 events and 1 MB each), one after the other. Resolves to one result per event, at
   * its index in `events`: `accepted` with its `event_id`, or `rejected` with the reason.
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
      const call: Call = { method: 'POST', path: '/events/batch', body: chunk.text, ...safe(options) };
      let chunkResults: BatchItemResult[];
      try {
        chunkResults = (await this.transport.request(call, BatchAccepted)).data.results;
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
   * `POST /events` in CloudEvents structured mode (`application/cloudevents+json`): resolves once
   * the event is on the queue. Its `source` and `id` are its idempotency key, so a resend is safe
   * and resolves to the same `event_id`.
   */
  async sendCloudEvent(event: CloudEventJson, options: RequestOptions = {}): Promise<SentEvent> {
    const call: Call = {
      method: 'POST',
      path: '/events',
      body: JSON.stringify(event),
      headers: { 'content-type': CLOUDEVENTS_JSON },
      ...safe(options),
    };
    return (await this.transport.request(call, EventAccepted)).data;
  }

  /** `GET /events/{event_id}`: one event of this key, whatever its status. 404 `NOT_FOUND` if none. */
  async get(eventId: string, options: RequestOptions = {}): Promise<InboxEvent> {
    const call: Call = { method: 'GET', path: path`/events/${eventId}`, ...safe(options) };
    return (await this.transport.request(call, EventDetails)).data;
  }

  /**
   * `GET /events/{event_id}` as a structured CloudEvent: for one sent as a CloudEvent, equal to it
   * (attributes, extensions, data). Throws a {@link TriggersError} (`NOT_FOUND`, …) otherwise.
   */
  async getCloudEvent(eventId: string, options: RequestOptions = {}): Promise<CloudEventJson> {
    const call: Call = {
      method: 'GET',
      path: path`/events/${eventId}`,
      headers: { accept: CLOUDEVENTS_JSON },
      ...safe(options),
    };
    return (await this.transport.request(call, CloudEvent)) as CloudEventJson;
  }
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
