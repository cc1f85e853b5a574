import { MAX_RESPONSE_EXCERPT_CHARS, retryAfterSeconds } from '@triggers/event-schema';
import { describeError } from '@triggers/log';

/** What one POST to a subscriber came to. */
export interface AttemptOutcome {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
  /** From sending the request to the end of reading the excerpt, by the dispatcher's clock. */
  latencyMs: number;
  excerpt: string | null;
  /** What the subscriber's `Retry-After` asked for on a failed answer, in seconds (not capped yet). */
  retryAfterSeconds: number | undefined;
}

/** One POST: where, what, and the longest it may take, all of it (answer and excerpt). */
export interface AttemptRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/**
 * Reads at most `max` characters of a body, then stops reading: a subscriber's body is not ours
 * to keep, and one that never ends must not hold the attempt. `deadline` rejects when the
 * attempt's time is up, which also ends a body that stalls.
 */
async function excerpt(response: Response, max: number, deadline: Promise<never>): Promise<string | null> {
  if (response.body === null) return null;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < max) {
      const { done, value } = await Promise.race([reader.read(), deadline]);
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body cut short (by the deadline or the network) is still an answer: its status counts.
  } finally {
    reader.cancel().catch(() => {});
  }
  return text === '' ? null : text.slice(0, max);
}

/**
 * POSTs to a subscriber, giving the whole exchange `timeoutMs`. Never throws: a network error or
 * a timeout is an outcome like an HTTP status, recorded and retried. Redirects are not followed.
 * `clock` is the dispatcher's (milliseconds since the epoch).
 */
export async function attemptDelivery(request: AttemptRequest, clock: () => number): Promise<AttemptOutcome> {
  const started = clock();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DOMException(`no answer within ${request.timeoutMs} ms`, 'TimeoutError');
      controller.abort(error);
      reject(error);
    }, request.timeoutMs);
  });
  deadline.catch(() => {});
  try {
    const response = await Promise.race([
      fetch(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: controller.signal,
      }),
      deadline,
    ]);
    const text = await excerpt(response, MAX_RESPONSE_EXCERPT_CHARS, deadline);
    const ok = response.status >= 200 && response.status < 300;
    return {
      ok,
      httpStatus: response.status,
      error: null,
      latencyMs: clock() - started,
      excerpt: text,
      retryAfterSeconds: ok ? undefined : retryAfterSeconds(response.headers.get('retry-after'), clock()),
    };
  } catch (err) {
    const timedOut =
      err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
    return {
      ok: false,
      httpStatus: null,
      error: timedOut
        ? `timeout: no answer within ${request.timeoutMs} ms`
        : `network error: ${describeError(err)}`,
      latencyMs: clock() - started,
      excerpt: null,
      retryAfterSeconds: undefined,
    };
  } finally {
    clearTimeout(timer);
  }
}
