/**
 * What the API shows about itself and echoes back: headers on tenant data, no CORS, and client
 * input quoted only truncated in error messages.
 */
import type { ErrorEnvelope } from '@triggers/event-schema';
import { describe, expect, it } from 'vitest';
import { echoReceived, MAX_ECHO_CHARS } from '../src/lib/echo.ts';
import { call, expectError, newApiKey, post, send } from './support/ingest.ts';

const LONG = 'x'.repeat(10_000);

describe('response headers', () => {
  it('puts Cache-Control: no-store and X-Content-Type-Options: nosniff on tenant data, errors included', async () => {
    const key = await newApiKey();
    const responses = [
      await post('/events', key, { payload: { ok: true } }),
      await send('GET', '/inbox', key),
      await post('/events', key, 'not json'),
      await call('/events', { method: 'POST' }),
    ];
    for (const response of responses) {
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect(responses.map((r) => r.status)).toEqual([200, 200, 400, 401]);
  });

  it('sends no CORS header, not even to a preflight from another origin', async () => {
    const preflight = await call('/events', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    const get = await call('/health', { headers: { origin: 'https://evil.example' } });
    for (const response of [preflight, get]) {
      const cors = [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));
      expect(cors).toEqual([]);
    }
    expect(preflight.status).toBe(405);
  });
});

describe('client input in error messages', () => {
  it('does not quote a long invalid value back', async () => {
    const key = await newApiKey();
    const response = await send('GET', `/inbox?status=${LONG}`, key);
    const { error } = await expectError(response, 400, 'VALIDATION_ERROR');
    expect(JSON.stringify(error).length).toBeLessThan(1_000);
  });

  it('cuts the value a validation message quotes (valibot\'s default messages end in "received <value>")', () => {
    const message = echoReceived(`Invalid type: Expected Object but received "${LONG}"`);
    expect(message).toBe(`Invalid type: Expected Object but received "${'x'.repeat(MAX_ECHO_CHARS - 1)}…`);
  });

  it('names a long unknown field only truncated', async () => {
    const key = await newApiKey();
    const response = await post('/events', key, { payload: {}, [LONG]: 1 });
    const { error } = await expectError(response, 400, 'VALIDATION_ERROR');
    expect(error.message.length).toBeLessThan(1_000);
    expect(error.details?.issues?.[0]?.path.length).toBeLessThanOrEqual(MAX_ECHO_CHARS + 1);
  });

  it('quotes a long Content-Encoding only truncated', async () => {
    const key = await newApiKey();
    const response = await post('/events', key, { payload: {} }, { 'content-encoding': `br${LONG}` });
    const body = (await response.json()) as ErrorEnvelope;
    expect(response.status).toBe(415);
    expect(body.error.message.length).toBeLessThan(200);
  });
});
