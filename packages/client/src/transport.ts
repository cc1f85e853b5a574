import { ErrorEnvelope } from '@triggers/event-schema';
import * as v from 'valibot';
import { TriggersError } from './errors.ts';
import {
  DEFAULT_REQUEST_RETRY,
  RETRYABLE_STATUSES,
  type RequestRetryPolicy,
  requestRetryDelayMs,
  retryAfterMs,
} from './request-retry.ts';

/**
 * The one way every resource reaches the API: the base URL and the API key, retries, error
 * answers turned into {@link TriggersError}s, cancellation and the check of every 200 body
 * against the schema it must follow. The resource modules (`api/*.ts`) only say which request to
 * send and which schema its answer has.
 */

export interface TransportOptions {
  /** Where the ingest Worker answers, e.g. `https://ingest.example.com`. */
  baseUrl: string;
  /** An API key, `sk_live_…` or `sk_test_…`. */
  apiKey: string;
  /** The `fetch` to use; the runtime's by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** Request retries on 429, 503 and failures in transit. Defaults: 5 attempts, 500 ms backoff, 60 s at most. */
  retry?: Partial<RequestRetryPolicy>;
  /** Waits between attempts; replaceable so that tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
}

/** What every method takes besides its arguments. */
export interface RequestOptions {
  /**
   * Cancels the call: the request in flight and any wait before a retry. The call then rejects
   * with the signal's `reason` (an `AbortError` `DOMException` unless you gave another).
   */
  signal?: AbortSignal;
}

/**
 * One request. `retryInTransit`: whether a request that failed in transit (no answer; it may or
 * may not have taken effect) is sent again, which only a request safe to repeat may be. 429 and
 * 503 are retried for every request: the API answers them having changed nothing.
 */
export interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  /** A JSON text, sent as `application/json` unless `headers` name another type. */
  body?: string;
  headers?: Record<string, string>;
  signal: AbortSignal | undefined;
  retryInTransit: boolean;
}

/** A read, or a write whose repetition changes nothing: safe to send again after any failure. */
export const safe = (options: RequestOptions) => ({ signal: options.signal, retryInTransit: true });

/** A write that must not be repeated blindly: retried only when the API answered that it did nothing. */
export const once = (options: RequestOptions) => ({ signal: options.signal, retryInTransit: false });

/** A path with every interpolated value escaped: path`/events/${eventId}/deliveries`. */
export const path = (strings: TemplateStringsArray, ...values: string[]): string =>
  strings.reduce((joined, text, i) => `${joined}${encodeURIComponent(values[i - 1] ?? '')}${text}`);

type Attempt =
  | { status: number; body: unknown }
  | { error: TriggersError; retryable: boolean; retryAfterMs: number | undefined };

export class Transport {
  readonly #base: string;
  readonly #apiKey: string;
  readonly #fetch: (request: Request) => Promise<Response>;
  readonly #retry: RequestRetryPolicy;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: TransportOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? ((request) => fetch(request));
    this.#retry = { ...DEFAULT_REQUEST_RETRY, ...options.retry };
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Sends `call`, retrying per the policy; resolves to its 2xx body checked against `schema`. */
  async request<TSchema extends v.GenericSchema>(
    call: Call,
    schema: TSchema,
  ): Promise<v.InferOutput<TSchema>> {
    for (let attempt = 1; ; attempt++) {
      call.signal?.throwIfAborted();
      const outcome = await this.#attempt(call);
      if (!('error' in outcome)) return parseAnswer(schema, outcome);
      if (!outcome.retryable || attempt >= this.#retry.maxAttempts) throw outcome.error;
      const wait = requestRetryDelayMs(this.#retry, attempt, outcome.retryAfterMs);
      await abortable(this.#sleep(wait), call.signal);
    }
  }

  async #attempt({ method, path, body, headers, signal, retryInTransit }: Call): Promise<Attempt> {
    const request = new Request(`${this.#base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
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
      const message = `${method} ${path} failed: ${String(err)}`;
      const error = new TriggersError(0, 'NETWORK_ERROR', message, undefined, { cause: err });
      return { error, retryable: retryInTransit, retryAfterMs: undefined };
    }
    if (response.ok) return { status: response.status, body: await readJson(response) };
    return {
      error: await toError(response),
      retryable: RETRYABLE_STATUSES.has(response.status),
      retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
    };
  }
}

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

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch (err) {
    const message = 'The API answered without JSON.';
    throw new TriggersError(response.status, 'UNEXPECTED_RESPONSE', message, undefined, { cause: err });
  }
}

/** A refusal as a {@link TriggersError}: the API's envelope when it sent one. */
async function toError(response: Response): Promise<TriggersError> {
  const correlationId = response.headers.get('x-correlation-id') ?? undefined;
  const parsed = v.safeParse(ErrorEnvelope, await response.json().catch(() => undefined));
  if (!parsed.success) {
    const message = `The API answered ${response.status} without an error body.`;
    return new TriggersError(response.status, 'UNEXPECTED_RESPONSE', message, undefined, { correlationId });
  }
  const { error } = parsed.output;
  return new TriggersError(response.status, error.code, error.message, parsed.output, { correlationId });
}

/** A 2xx body checked against the schema it must follow. */
function parseAnswer<TSchema extends v.GenericSchema>(
  schema: TSchema,
  { status, body }: { status: number; body: unknown },
): v.InferOutput<TSchema> {
  const parsed = v.safeParse(schema, body);
  if (parsed.success) return parsed.output;
  const message = `The API answered ${status} with an unexpected body: ${v.summarize(parsed.issues)}`;
  throw new TriggersError(status, 'UNEXPECTED_RESPONSE', message);
}

/** What every resource module (`api/*.ts`) extends: the one transport its requests go through. */
export abstract class Resource {
  protected readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }
}
