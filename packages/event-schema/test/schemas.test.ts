import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  ERROR_STATUS,
  ErrorEnvelope,
  EventRequest,
  MAX_EVENT_BYTES,
  MAX_QUEUED_EVENT_BYTES,
  QUEUE_MESSAGE_LIMIT_BYTES,
  QUEUED_EVENT_ENVELOPE_BYTES,
  QueuedEvent,
} from '../src/index.ts';

const event: QueuedEvent = {
  event_id: '3b241101-e2bb-4255-8caf-4136c566a962',
  payload: { a: 1 },
  timestamp: '2026-11-29T12:00:00.000Z',
  correlation_id: 'req-1',
  api_key_id: 'key_1',
};

describe('limits', () => {
  it('leave room in a 128 KB queue message for the platform and our envelope', () => {
    expect(QUEUE_MESSAGE_LIMIT_BYTES).toBe(128_000);
    expect(MAX_EVENT_BYTES + QUEUED_EVENT_ENVELOPE_BYTES).toBe(MAX_QUEUED_EVENT_BYTES);
    expect(MAX_QUEUED_EVENT_BYTES).toBeLessThan(QUEUE_MESSAGE_LIMIT_BYTES);
  });

  it('reserve more envelope room than the largest envelope we build needs', () => {
    const envelope = JSON.stringify({
      ...event,
      payload: {},
      metadata: {},
      correlation_id: 'c'.repeat(128),
      api_key_id: 'key_'.padEnd(64, 'x'),
      debug: 'processing_error',
    });
    expect(envelope.length).toBeLessThan(QUEUED_EVENT_ENVELOPE_BYTES / 2);
  });
});

describe('QueuedEvent', () => {
  it('accepts a complete message and drops unknown fields so older consumers keep working', () => {
    expect(v.parse(QueuedEvent, { ...event, added_later: true })).toEqual(event);
  });

  it('accepts a message queued before type, source and subject existed', () => {
    const { type: _t, source: _s, subject: _u, ...old } = { ...event, type: 'x', source: '/x', subject: 'x' };
    expect(v.parse(QueuedEvent, old)).toEqual(old);
  });

  it('accepts any JSON value as payload: a CloudEvent data may be an array, a string or null', () => {
    for (const payload of [[1, 2], 'text', null]) expect(v.is(QueuedEvent, { ...event, payload })).toBe(true);
  });

  it.each([
    ['a non-UUID event_id', { event_id: 'abc' }],
    ['no payload', { payload: undefined }],
    ['an empty type', { type: '' }],
    ['a source that is not a URI-reference', { source: 'not a uri' }],
    ['a timestamp that is not ISO-8601', { timestamp: 'yesterday' }],
    ['an unknown debug marker', { debug: 'validation_error' }],
    ['a missing api_key_id', { api_key_id: undefined }],
  ])('rejects a message with %s', (_case, change) => {
    expect(v.is(QueuedEvent, { ...event, ...change })).toBe(false);
  });
});

describe('EventRequest', () => {
  it('rejects unknown top-level fields by name', () => {
    const result = v.safeParse(EventRequest, { payload: {}, paylod: {} });
    expect(result.issues?.map((issue) => [v.getDotPath(issue), issue.message])).toEqual([
      ['paylod', 'is not a recognised field'],
    ]);
  });
});

describe('ErrorEnvelope', () => {
  it('maps every error code to a 4xx or 5xx status', () => {
    for (const status of Object.values(ERROR_STATUS)) expect(status).toBeGreaterThanOrEqual(400);
  });

  it('describes the error body', () => {
    const body = {
      error: {
        code: 'NOT_FOUND',
        message: 'No such endpoint.',
        timestamp: event.timestamp,
        correlation_id: 'c',
      },
    };
    expect(v.is(ErrorEnvelope, body)).toBe(true);
    expect(v.is(ErrorEnvelope, { error: { ...body.error, code: 'TEAPOT' } })).toBe(false);
  });
});
