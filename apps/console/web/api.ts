import { createClient, type RequestRetryPolicy, type TriggersClient, TriggersError } from '@triggers/client';

/**
 * The API, through `@triggers/client` on this page's own origin (the console Worker forwards
 * every path that is not a file of the app to the ingest Worker). Paths, answers and errors are
 * the client's, so the console and other services read the API the same way.
 */

/**
 * A person is waiting: one more try after at most 5 s, then the error is shown (the views that
 * poll try again on their own).
 */
const CONSOLE_RETRY: Partial<RequestRetryPolicy> = { maxAttempts: 2, maxDelayMs: 5_000 };

/** Listeners told which key the API refused (401): the app signs out when it is the session's. */
const unauthorizedListeners = new Set<(key: string) => void>();
export const onUnauthorized = (listener: (key: string) => void) => {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
};

let current: { key: string; client: TriggersClient } | undefined;

/** The client for `key` (one at a time: a tab has one session). */
export function api(key: string): TriggersClient {
  if (current?.key !== key) {
    const client = createClient({
      baseUrl: location.origin,
      apiKey: key,
      retry: CONSOLE_RETRY,
      // The key travels in the Authorization header only: no cookies, nothing cached.
      fetch: async (request) => {
        const response = await fetch(request, { credentials: 'omit', cache: 'no-store' });
        if (response.status === 401) for (const listener of unauthorizedListeners) listener(key);
        return response;
      },
    });
    current = { key, client };
  }
  return current.client;
}

/** What a request answered, whatever its status: for the two places that show or read it raw. */
export interface RawResponse {
  status: number;
  correlationId: string | null;
  body: unknown;
}

/**
 * One request whose answer is read as it came: the test-event panel shows it (debug flags and
 * all), and the OpenAPI document is not an API envelope. Everything else goes through {@link api}.
 */
export async function callRaw(
  key: string | null,
  method: 'GET' | 'POST',
  path: string,
  { body, headers = {} }: { body?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const response = await fetch(path, {
    method,
    headers: {
      accept: 'application/json',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body }),
    credentials: 'omit',
    cache: 'no-store',
  });
  // A 401 for the session's key signs the tab out here too, as every other call does.
  if (response.status === 401 && key !== null) for (const listener of unauthorizedListeners) listener(key);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {}
  return { status: response.status, correlationId: response.headers.get('x-correlation-id'), body: parsed };
}

/** Whether `err` is the API's answer `status` (404 for an event not stored yet, …). */
export const isStatus = (err: unknown, status: number) =>
  err instanceof TriggersError && err.status === status;

/** A failure as one line for people: the API's message, and its correlation id to quote. */
export function describeFailure(err: unknown): string {
  if (err instanceof TriggersError && err.status !== 0) {
    return err.correlationId === undefined
      ? err.message
      : `${err.message} (correlation id ${err.correlationId})`;
  }
  if (err instanceof DOMException && err.name === 'AbortError') return 'Cancelled.';
  return 'The API could not be reached. Check that the system is running, then retry.';
}

/**
 * The field problems of a 400 `VALIDATION_ERROR`, in the envelope's words, keyed by each issue's
 * path (`url`, `event_types.1`): for forms that show each next to its field. Empty otherwise.
 */
export function fieldProblems(err: unknown): Map<string, string> {
  const found = new Map<string, string>();
  if (!(err instanceof TriggersError) || err.code !== 'VALIDATION_ERROR') return found;
  for (const { path, message } of err.envelope?.error.details?.issues ?? []) {
    const before = found.get(path);
    found.set(path, before === undefined ? message : `${before}; ${message}`);
  }
  return found;
}
