import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  BatchItem,
  BatchRequest,
  CloudEvent,
  CloudEventRequest,
  DELIVERY_EXHAUSTED_TYPE,
  EventRequest,
  isReservedSource,
  QueuedEvent,
  TestEvent,
  TRIGGERS_SOURCE,
} from '../src/index.ts';

/** Each problem as [path, message]. */
const problems = (schema: v.GenericSchema, input: unknown) =>
  (v.safeParse(schema, input).issues ?? []).map((issue) => [v.getDotPath(issue), issue.message]);

const RESERVED_MESSAGE =
  'is reserved for the events Triggers sends itself (/triggers and anything under it): ' +
  'name a source of your own, e.g. "/orders"';

const cloudEvent = (source: string) => ({ specversion: '1.0', id: 'A-1', source, type: 'order.created' });

describe('isReservedSource', () => {
  it.each([TRIGGERS_SOURCE, '/triggers/', '/triggers/billing', '/triggers?tenant=1', '/triggers#x'])(
    'reserves %s: /triggers and every reference under its path',
    (source) => {
      expect(isReservedSource(source)).toBe(true);
    },
  );

  it.each([
    '/triggersx',
    '/triggers-app',
    '/Triggers',
    '/api/triggers',
    'triggers',
    '//triggers',
    'https://triggers.example/triggers',
    '/api-keys/key_1',
  ])('leaves %s to clients: only that exact path prefix is reserved', (source) => {
    expect(isReservedSource(source)).toBe(false);
  });
});

describe('what a client sends refuses a reserved source at its field', () => {
  it('POST /events: EventRequest', () => {
    expect(problems(EventRequest, { payload: {}, source: TRIGGERS_SOURCE })).toEqual([
      ['source', RESERVED_MESSAGE],
    ]);
    expect(problems(EventRequest, { payload: {}, source: '/triggers/x' })).toEqual([
      ['source', RESERVED_MESSAGE],
    ]);
    expect(v.is(EventRequest, { payload: {}, source: '/orders' })).toBe(true);
  });

  it('POST /events/batch: each BatchItem, the batch naming the item', () => {
    expect(problems(BatchItem, { payload: {}, source: TRIGGERS_SOURCE })).toEqual([
      ['source', RESERVED_MESSAGE],
    ]);
    const batch = { events: [{ payload: {} }, { payload: {}, source: TRIGGERS_SOURCE }] };
    expect(problems(BatchRequest, batch)).toEqual([['events.1.source', RESERVED_MESSAGE]]);
  });

  it('CloudEvents, every mode: CloudEventRequest', () => {
    expect(problems(CloudEventRequest, cloudEvent(TRIGGERS_SOURCE))).toEqual([['source', RESERVED_MESSAGE]]);
    expect(v.is(CloudEventRequest, cloudEvent('/orders'))).toBe(true);
  });
});

describe('everything else takes Triggers’ own events as they are', () => {
  it('the queue message the consumer sends an operational event as', () => {
    const operational = {
      event_id: crypto.randomUUID(),
      type: DELIVERY_EXHAUSTED_TYPE,
      source: TRIGGERS_SOURCE,
      subject: 'sub_1',
      payload: { subscription_id: 'sub_1' },
      timestamp: '2026-12-05T10:00:00.000Z',
      correlation_id: 'msg_1',
      api_key_id: 'key_1',
    };
    expect(v.parse(QueuedEvent, operational)).toEqual(operational);
  });

  it('a stored event read back as a CloudEvent, and a sample event given to the subscription tester', () => {
    expect(v.is(CloudEvent, cloudEvent(TRIGGERS_SOURCE))).toBe(true);
    expect(v.is(TestEvent, { payload: {}, type: DELIVERY_EXHAUSTED_TYPE, source: TRIGGERS_SOURCE })).toBe(
      true,
    );
  });
});
