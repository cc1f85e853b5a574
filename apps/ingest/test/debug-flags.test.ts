import { env } from 'cloudflare:workers';
import type { EventAccepted } from '@triggers/event-schema';
import { QUEUE_DELAY_DEBUG_SECONDS } from '@triggers/event-schema';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectError, postEvent, receivedFromQueue, seedKey } from './support/ingest.ts';

let testKey: string;
let liveKey: string;
beforeAll(async () => {
  testKey = (await seedKey({ mode: 'test' })).key;
  liveKey = (await seedKey({ mode: 'live' })).key;
});
afterEach(() => vi.restoreAllMocks());

const payload = { payload: { probe: 'debug' } };

async function acceptedId(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  return ((await response.json()) as EventAccepted).data.event_id;
}

describe('debug flags for test keys', () => {
  it('?debug=validation_error answers 400 and enqueues nothing', async () => {
    const send = vi.spyOn(env.EVENT_QUEUE, 'send');
    const error = await expectError(
      await postEvent(testKey, payload, { query: '?debug=validation_error' }),
      400,
      'VALIDATION_ERROR',
    );
    expect(error.error.details?.issues?.[0]?.path).toBe('query.debug');
    expect(send).not.toHaveBeenCalled();
  });

  it.each(['processing_error', 'dlq_routing'] as const)(
    '?debug=%s enqueues the event with the marker in its own field and the payload untouched',
    async (flag) => {
      const id = await acceptedId(await postEvent(testKey, payload, { query: `?debug=${flag}` }));
      const { body } = await receivedFromQueue(id);
      expect(body.debug).toBe(flag);
      expect(body.payload).toEqual(payload.payload);
    },
  );

  it(`?debug=queue_delay enqueues the event with a ${QUEUE_DELAY_DEBUG_SECONDS} s delivery delay`, async () => {
    const send = vi.spyOn(env.EVENT_QUEUE, 'send'); // watches only: the real queue gets the message
    const sentAt = Date.now();
    const id = await acceptedId(await postEvent(testKey, payload, { query: '?debug=queue_delay' }));
    expect(send).toHaveBeenCalledWith(expect.objectContaining({ event_id: id, debug: 'queue_delay' }), {
      contentType: 'json',
      delaySeconds: QUEUE_DELAY_DEBUG_SECONDS,
    });
    const { body } = await receivedFromQueue(id, (QUEUE_DELAY_DEBUG_SECONDS + 5) * 1000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(QUEUE_DELAY_DEBUG_SECONDS * 1000 - 500);
    expect(body.debug).toBe('queue_delay');
  }, 20_000);

  it('answers 400 VALIDATION_ERROR for an unknown flag, naming query.debug', async () => {
    const error = await expectError(
      await postEvent(testKey, payload, { query: '?debug=explode' }),
      400,
      'VALIDATION_ERROR',
    );
    expect(error.error.details?.issues?.[0]?.path).toBe('query.debug');
  });

  it('answers 400 VALIDATION_ERROR for a repeated flag', async () => {
    await expectError(
      await postEvent(testKey, payload, { query: '?debug=dlq_routing&debug=processing_error' }),
      400,
      'VALIDATION_ERROR',
    );
  });
});

describe('debug flags for live keys', () => {
  it.each(['validation_error', 'processing_error', 'dlq_routing', 'queue_delay'])(
    '?debug=%s answers 400 DEBUG_NOT_ALLOWED and enqueues nothing',
    async (flag) => {
      const send = vi.spyOn(env.EVENT_QUEUE, 'send');
      await expectError(
        await postEvent(liveKey, payload, { query: `?debug=${flag}` }),
        400,
        'DEBUG_NOT_ALLOWED',
      );
      expect(send).not.toHaveBeenCalled();
    },
  );

  it('accepts live events without a flag', async () => {
    const id = await acceptedId(await postEvent(liveKey, payload));
    expect((await receivedFromQueue(id)).body.debug).toBeUndefined();
  });
});
