import { env } from 'cloudflare:workers';
import type { EventAccepted } from '@triggers/event-schema';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, captureLogs, postEvent, receivedFromQueue, seedKey } from './support/ingest.ts';

let key: string;
beforeAll(async () => {
  key = (await seedKey()).key;
});
afterEach(() => vi.restoreAllMocks());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('X-Correlation-ID', () => {
  it('is generated when the client sends none, and returned on the response and the error body', async () => {
    const ok = await postEvent(key, { payload: {} });
    expect(ok.headers.get('x-correlation-id')).toMatch(UUID);
    const notFound = await call('/missing');
    const body = (await notFound.json()) as { error: { correlation_id: string } };
    expect(notFound.headers.get('x-correlation-id')).toMatch(UUID);
    expect(body.error.correlation_id).toBe(notFound.headers.get('x-correlation-id'));
  });

  it('echoes a well-formed client id and carries it in the queue message', async () => {
    const response = await postEvent(
      key,
      { payload: {} },
      { headers: { 'x-correlation-id': 'checkout-7f3a.retry:2' } },
    );
    expect(response.headers.get('x-correlation-id')).toBe('checkout-7f3a.retry:2');
    const { data } = (await response.json()) as EventAccepted;
    expect((await receivedFromQueue(data.event_id)).body.correlation_id).toBe('checkout-7f3a.retry:2');
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['with spaces', 'two words'],
    ['with quotes', '"quoted"'],
    ['with a newline escape attempt', 'id%0d%0aSet-Cookie:x'],
  ])('is replaced by a new id when the client sends one %s', async (_case, offered) => {
    const response = await postEvent(key, { payload: {} }, { headers: { 'x-correlation-id': offered } });
    expect(response.headers.get('x-correlation-id')).toMatch(UUID);
  });
});

describe('structured logs', () => {
  it('writes JSON lines that all carry the correlation id, with the event id and duration on the request line', async () => {
    const { result: response, lines } = await captureLogs(() =>
      postEvent(key, { payload: { a: 1 } }, { headers: { 'x-correlation-id': 'log-check-1' } }),
    );
    const { data } = (await response.json()) as EventAccepted;
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatchObject({
        level: expect.any(String),
        message: expect.any(String),
        correlation_id: 'log-check-1',
      });
    }
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'request',
        status: 200,
        event_id: data.event_id,
        duration_ms: expect.any(Number),
      }),
    );
  });

  it('never writes the payload, the metadata or the API key, on success or on failure', async () => {
    const secret = 'sensitive-4b1d-value';
    const event = { payload: { card: secret, nested: { deeper: secret } }, metadata: { note: secret } };
    const { raw } = await captureLogs(async () => {
      await postEvent(key, event);
      await postEvent(key, { ...event, unknown: secret });
      // Mocked: the local queue cannot be made to fail on demand.
      vi.spyOn(env.EVENT_QUEUE, 'send').mockRejectedValueOnce(new Error('queue down'));
      await postEvent(key, event);
      await postEvent(key, `{"payload": {"card": "${secret}"`);
    });
    expect(raw.length).toBeGreaterThanOrEqual(4);
    for (const line of raw) {
      expect(line).not.toContain(secret);
      expect(line).not.toContain(key);
    }
  });

  it('logs the cause of a failed queue send for operators while the client sees a generic message', async () => {
    // Mocked: the local queue cannot be made to fail on demand.
    vi.spyOn(env.EVENT_QUEUE, 'send').mockRejectedValueOnce(new Error('Queue is over its storage limit'));
    const { result: response, lines } = await captureLogs(() => postEvent(key, { payload: {} }));
    expect(await response.text()).not.toContain('storage limit');
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'SERVICE_UNAVAILABLE',
        cause: 'Error: Queue is over its storage limit',
      }),
    );
  });
});
