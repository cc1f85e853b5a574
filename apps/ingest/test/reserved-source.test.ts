/**
 * The source Triggers sends its operational events from (`/triggers`, and anything under it) is
 * refused on every way a client sends an event, in the real ingest Worker in workerd: `POST
 * /events` (JSON, CloudEvents structured and binary), `POST /events/batch` (JSON and CloudEvents,
 * per item) and through the typed client; nothing of a refused event reaches a queue. The
 * subscription tester, which stores and sends nothing, still takes such sample events. The rule
 * itself is event-schema's (`isReservedSource`, test/reserved-source.test.ts there).
 */
import { env } from 'cloudflare:workers';
import { createClient, TriggersError } from '@triggers/client';
import {
  type BatchAccepted,
  type ErrorEnvelope,
  EVENT_QUEUE_BINDINGS,
  type EventQueueMessage,
  type QueuedEvent,
  type SubscriptionTestResult,
  TRIGGERS_SOURCE,
} from '@triggers/event-schema';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BASE_URL, call, expectError, newApiKey, post, type TestKey, workerFetch } from './support/ingest.ts';

afterEach(() => vi.restoreAllMocks());

const RESERVED = /^is reserved for the events Triggers sends itself \(\/triggers and anything under it\)/;

/**
 * Every event handed to any event queue (each shard, `send` and `sendBatch`, packed or bare)
 * from now on: the Worker's real calls, recorded on their way through.
 */
function queuedEvents(): () => QueuedEvent[] {
  const sends = EVENT_QUEUE_BINDINGS.map((binding) => vi.spyOn(env[binding], 'send'));
  const batches = EVENT_QUEUE_BINDINGS.map((binding) => vi.spyOn(env[binding], 'sendBatch'));
  return () => {
    const bodies = [
      ...sends.flatMap((spy) => spy.mock.calls.map(([body]) => body)),
      ...batches.flatMap((spy) => spy.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body))),
    ] as EventQueueMessage[];
    return bodies.flatMap((body) => ('events' in body ? body.events : [body]));
  };
}

/** The refusal's single issue, once it is checked to be the 400 envelope. */
async function refusedAt(response: Response): Promise<{ path: string; message: string }> {
  const { error } = await expectError(response, 400, 'VALIDATION_ERROR');
  expect(error.details?.issues).toHaveLength(1);
  const [issue] = error.details?.issues ?? [];
  expect(issue?.message).toMatch(RESERVED);
  expect(error.message).toContain(`${issue?.path} is reserved for the events Triggers sends itself`);
  return issue as { path: string; message: string };
}

const ceBody = (source: string) => ({
  specversion: '1.0' as const,
  id: crypto.randomUUID(),
  source,
  type: 'order.created',
});

const postCloudEvent = (key: TestKey, event: unknown, contentType = 'application/cloudevents+json') =>
  call('/events', {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': contentType },
    body: JSON.stringify(event),
  });

describe('POST /events refuses an event from /triggers', () => {
  it.each([TRIGGERS_SOURCE, '/triggers/billing', '/triggers?tenant=x'])(
    'JSON: source %s is 400 VALIDATION_ERROR at source, and nothing is queued',
    async (source) => {
      const key = await newApiKey();
      const queued = queuedEvents();
      const response = await post('/events', key, {
        type: 'triggers.delivery.exhausted',
        source,
        subject: 'sub_forged',
        payload: {},
      });
      expect((await refusedAt(response)).path).toBe('source');
      expect(queued()).toEqual([]);
    },
  );

  it('JSON: a source that only looks like it (/triggers-app, /Triggers) is accepted and queued', async () => {
    const key = await newApiKey();
    const queued = queuedEvents();
    for (const source of ['/triggers-app', '/Triggers']) {
      expect((await post('/events', key, { source, payload: {} })).status).toBe(200);
    }
    expect(queued().map((event) => event.source)).toEqual(['/triggers-app', '/Triggers']);
  });

  it('CloudEvents structured mode: 400 at source, and nothing is queued', async () => {
    const key = await newApiKey();
    const queued = queuedEvents();
    expect((await refusedAt(await postCloudEvent(key, ceBody(TRIGGERS_SOURCE)))).path).toBe('source');
    expect(queued()).toEqual([]);
  });

  it('CloudEvents binary mode: 400 at headers.ce-source, percent-encoded or not, and nothing is queued', async () => {
    const key = await newApiKey();
    const queued = queuedEvents();
    for (const source of [TRIGGERS_SOURCE, '%2Ftriggers%2Fx']) {
      const response = await call('/events', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key.key}`,
          'ce-specversion': '1.0',
          'ce-id': crypto.randomUUID(),
          'ce-source': source,
          'ce-type': 'triggers.delivery.exhausted',
          'content-type': 'application/json',
        },
        body: '{}',
      });
      expect((await refusedAt(response)).path, source).toBe('headers.ce-source');
    }
    expect(queued()).toEqual([]);
  });

  it('the typed client: send rejects with a TriggersError naming source, sendCloudEvent too', async () => {
    const key = await newApiKey();
    const queued = queuedEvents();
    const client = createClient({ baseUrl: BASE_URL, apiKey: key.key, fetch: workerFetch });
    for (const sending of [
      () => client.events.send({ source: TRIGGERS_SOURCE, payload: {} }),
      () => client.events.sendCloudEvent(ceBody(TRIGGERS_SOURCE)),
    ]) {
      const error = await sending().then(
        () => expect.unreachable('accepted an event from /triggers'),
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(TriggersError);
      expect(error).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
      expect((error as TriggersError).envelope?.error.details?.issues?.[0]?.path).toBe('source');
    }
    expect(queued()).toEqual([]);
  });
});

describe('POST /events/batch refuses each event from /triggers on its own', () => {
  it('JSON: that item is rejected at events.<i>.source, the others are accepted, and only they are queued', async () => {
    const key = await newApiKey();
    const queued = queuedEvents();
    const response = await post('/events/batch', key, {
      events: [
        { source: '/orders', payload: { n: 0 } },
        { source: TRIGGERS_SOURCE, type: 'triggers.subscription.disabled', payload: { n: 1 } },
        { payload: { n: 2 } },
      ],
    });
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as BatchAccepted;
    expect({ accepted: data.accepted, rejected: data.rejected }).toEqual({ accepted: 2, rejected: 1 });
    const rejected = data.results[1];
    if (rejected?.status !== 'rejected')
      throw new Error(`item 1 was not rejected: ${JSON.stringify(rejected)}`);
    expect(rejected.error.code).toBe('VALIDATION_ERROR');
    expect(rejected.error.issues).toEqual([
      { path: 'events.1.source', message: expect.stringMatching(RESERVED) },
    ]);
    const accepted = data.results.flatMap((r) => (r.status === 'accepted' ? [r.event_id] : []));
    expect(
      queued()
        .map((event) => event.event_id)
        .sort(),
    ).toEqual(accepted.sort());
    expect(queued().map((event) => event.payload)).not.toContainEqual({ n: 1 });
  });

  it('JSON: a batch of only such events is 400 with each item’s reason, and nothing is queued', async () => {
    const key = await newApiKey();
    const queued = queuedEvents();
    const response = await post('/events/batch', key, {
      events: [
        { source: TRIGGERS_SOURCE, payload: {} },
        { source: '/triggers/x', payload: {} },
      ],
    });
    const { error } = (await expectError(response, 400, 'VALIDATION_ERROR')) as ErrorEnvelope;
    expect(error.details?.results?.map((r) => (r.status === 'rejected' ? r.error.issues : null))).toEqual([
      [{ path: 'events.0.source', message: expect.stringMatching(RESERVED) }],
      [{ path: 'events.1.source', message: expect.stringMatching(RESERVED) }],
    ]);
    expect(queued()).toEqual([]);
  });

  it('CloudEvents batch: that item is rejected at <i>.source, the other accepted and queued', async () => {
    const key = await newApiKey();
    const queued = queuedEvents();
    const response = await call('/events/batch', {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([ceBody('/orders'), ceBody(TRIGGERS_SOURCE)]),
    });
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as BatchAccepted;
    const [first, second] = data.results;
    expect(second).toMatchObject({
      status: 'rejected',
      error: {
        code: 'VALIDATION_ERROR',
        issues: [{ path: '1.source', message: expect.stringMatching(RESERVED) }],
      },
    });
    if (first?.status !== 'accepted') throw new Error(`item 0 was not accepted: ${JSON.stringify(first)}`);
    expect(queued().map((event) => [event.event_id, event.source])).toEqual([[first.event_id, '/orders']]);
  });
});

describe('POST /subscriptions/test takes sample events from /triggers', () => {
  it('tries them as given (a subscription to operational events needs them to rehearse), queueing nothing', async () => {
    const key = await newApiKey();
    const queued = queuedEvents();
    const response = await post('/subscriptions/test', key, {
      event_types: ['triggers.*'],
      filter: { source: TRIGGERS_SOURCE, subject: 'sub_1' },
      events: [
        { type: 'triggers.delivery.exhausted', source: TRIGGERS_SOURCE, subject: 'sub_1', payload: {} },
        { type: 'triggers.delivery.exhausted', source: '/orders', subject: 'sub_1', payload: {} },
      ],
    });
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as SubscriptionTestResult;
    expect(data.results.map((r) => [r.event.source, r.matched])).toEqual([
      [TRIGGERS_SOURCE, true],
      ['/orders', false],
    ]);
    expect(queued()).toEqual([]);
  });
});
