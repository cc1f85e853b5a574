import { MAX_RESPONSE_EXCERPT_CHARS, retryAfterSeconds } from '@triggers/event-schema';
import { describeError } from '@triggers/log';

/** What one POST to a subscriber came to. */
export interface AttemptOutcome {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
  latencyMs: number;
  excerpt: string | null;
  /** What the subscriber's `Retry-After` asked for, in seconds. */
  retryAfter: number | undefined;
}

/** Reads at most `max` characters of a body, then stops reading (a subscriber's body is not ours to keep). */
async function excerpt(response: Response, max: number): Promise<string | null> {
  if (response.body === null) return null;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < max) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body cut short is still an answer; its status is what counts.
  } finally {
    reader.cancel().catch(() => {});
  }
  return text === '' ? null : text.slice(0, max);
}

/**
 * POSTs `body` to `url` with `headers`, giving up after `timeoutMs`. Never throws: a network
 * error or a timeout is an outcome like an HTTP status, recorded and retried.
 */
export async function attemptDelivery(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<AttemptOutcome> {
  const started = Date.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await excerpt(response, MAX_RESPONSE_EXCERPT_CHARS);
    const ok = response.status >= 200 && response.status < 300;
    return {
      ok,
      httpStatus: response.status,
      error: null,
      latencyMs: Date.now() - started,
      excerpt: text,
      retryAfter: ok ? undefined : retryAfterSeconds(response.headers.get('retry-after')),
    };
  } catch (err) {
    const timedOut =
      err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
    return {
      ok: false,
      httpStatus: null,
      error: timedOut ? `timeout: no answer within ${timeoutMs} ms` : `network error: ${describeError(err)}`,
      latencyMs: Date.now() - started,
      excerpt: null,
      retryAfter: undefined,
    };
  }
}
