import type { ErrorEnvelope } from '@triggers/event-schema';

/**
 * The API, called on this page's own origin: the console Worker forwards every path that is not
 * a file of the app to the ingest Worker. Every call carries the session's key as a bearer token.
 */

/** An answer that is not 2xx, with the API's error envelope when it sent one. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly correlationId: string | null,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** What a call answered, whatever its status: for views that show the raw response. */
export interface RawResponse {
  status: number;
  correlationId: string | null;
  body: unknown;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Runs one request and reads its JSON answer, whatever its status. */
export async function callRaw(
  key: string | null,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  { body, headers = {}, signal }: CallOptions = {},
): Promise<RawResponse> {
  const response = await fetch(path, {
    method,
    headers: {
      accept: 'application/json',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    credentials: 'omit',
    cache: 'no-store',
    ...(signal === undefined ? {} : { signal }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {}
  return { status: response.status, correlationId: response.headers.get('x-correlation-id'), body: parsed };
}

function failure(raw: RawResponse): ApiFailure {
  const error = (raw.body as Partial<ErrorEnvelope> | null)?.error;
  return new ApiFailure(
    raw.status,
    error?.code ?? 'HTTP_ERROR',
    error?.message ?? `The API answered ${raw.status}.`,
    error?.correlation_id ?? raw.correlationId,
    raw.body,
  );
}

/** Listeners told which key the API refused (401): the app signs out when it is the session's. */
const unauthorizedListeners = new Set<(key: string) => void>();
export const onUnauthorized = (listener: (key: string) => void) => {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
};

/** One call whose 2xx body is `{data}`: answers `data`, throws an {@link ApiFailure} otherwise. */
export async function call<T>(
  key: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  options: CallOptions = {},
): Promise<T> {
  const raw = await callRaw(key, method, path, options);
  if (raw.status >= 200 && raw.status < 300) return (raw.body as { data: T }).data;
  const error = failure(raw);
  if (raw.status === 401) for (const listener of unauthorizedListeners) listener(key);
  throw error;
}

/** A query string of the defined values; arrays repeat the parameter. */
export function query(params: Record<string, string | string[] | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === '') continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, String(item));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** A failure as one line for people: the API's message, and its correlation id to quote. */
export function describeFailure(err: unknown): string {
  if (err instanceof ApiFailure) {
    return err.correlationId === null ? err.message : `${err.message} (correlation id ${err.correlationId})`;
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
  if (!(err instanceof ApiFailure) || err.code !== 'VALIDATION_ERROR') return found;
  const issues = (err.body as Partial<ErrorEnvelope> | null)?.error?.details?.issues ?? [];
  for (const { path, message } of issues) {
    const before = found.get(path);
    found.set(path, before === undefined ? message : `${before}; ${message}`);
  }
  return found;
}
