import type {
  BatchItem,
  BatchItemResult,
  CloudEventJson,
  ErrorEnvelope,
  EventRequest,
} from '@triggers/event-schema';
import {
  BatchAccepted,
  CLOUDEVENTS_JSON,
  CloudEvent,
  ErrorEnvelope as ErrorEnvelopeSchema,
  EventAccepted,
  jsonChunks,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
} from '@triggers/event-schema';
import * as v from 'valibot';
import { TriggersError } from './errors.ts';
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

export interface SendOptions {
  /** Sent as `Idempotency-Key`; a random one is generated when absent, so retries are safe. */
  idempotencyKey?: string;
}

/** What `send` resolves to once the event is on the queue. */
export type SentEvent = EventAccepted['data'];

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
    const headers = { 'idempotency-key': options.idempotencyKey ?? this.#newKey() };
    const body = await this.#post('/events', JSON.stringify(event), headers);
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
  async sendBatch(events: readonly BatchItem[]): Promise<BatchItemResult[]> {
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
        chunkResults = batchResults(await this.#post('/events/batch', chunk.text));
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
   * it is on the queue. Its `source` and `id` are its idempotency key, so retries are safe and a
   * resent event resolves to the same `event_id`.
   */
  async sendCloudEvent(event: CloudEventJson): Promise<SentEvent> {
    const body = await this.#post('/events', JSON.stringify(event), { 'content-type': CLOUDEVENTS_JSON });
    return parseAnswer(EventAccepted, body).data;
  }

  /**
   * Reads a stored event back as a structured CloudEvent: for one sent as a CloudEvent, equal to
   * it (attributes, extensions, data). Throws a {@link TriggersError} (`NOT_FOUND`, …) otherwise.
   */
  async getCloudEvent(eventId: string): Promise<CloudEventJson> {
    const path = `/events/${encodeURIComponent(eventId)}`;
    let response: Response;
    try {
      response = await this.#fetch(
        new Request(`${this.#base}${path}`, {
          headers: { authorization: `Bearer ${this.#apiKey}`, accept: CLOUDEVENTS_JSON },
        }),
      );
    } catch (err) {
      throw new TriggersError(0, 'NETWORK_ERROR', `GET ${path} failed: ${String(err)}`, undefined, {
        cause: err,
      });
    }
    if (!response.ok) throw await toError(response);
    return parseAnswer(CloudEvent, await readJson(response)) as CloudEventJson;
  }

  /** POSTs a JSON body, retrying per the policy; resolves to the parsed 200 body. */
  async #post(path: string, body: string, headers: Record<string, string> = {}): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(path, body, headers);
      if (!('error' in outcome)) return outcome.body;
      if (!outcome.retryable || attempt >= this.#retry.maxAttempts) throw outcome.error;
      await this.#sleep(retryDelay(this.#retry, attempt, outcome.retryAfterMs));
    }
  }

  async #attempt(path: string, body: string, headers: Record<string, string>): Promise<Attempt> {
    const request = new Request(`${this.#base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#apiKey}`, 'content-type': JSON_TYPE, ...headers },
      body,
    });
    let response: Response;
    try {
      response = await this.#fetch(request);
    } catch (err) {
      // The request may or may not have arrived; its idempotency keys make sending it again safe.
      const error = new TriggersError(0, 'NETWORK_ERROR', `POST ${path} failed: ${String(err)}`, undefined, {
        cause: err,
      });
      return { error, retryable: true, retryAfterMs: undefined };
    }
    if (response.ok) return { body: await readJson(response) };
    return {
      error: await toError(response),
      retryable: RETRYABLE_STATUSES.has(response.status),
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    };
  }
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
