/**
 * The published JSON Schema files (packages/event-schema/json-schema) against what the real
 * Worker answers and what really crosses the real local queue, checked by an independent
 * validator (Ajv), not by the valibot schemas they were generated from.
 */
import batchAccepted from '@triggers/event-schema/json-schema/batch-accepted.json';
import batchRequest from '@triggers/event-schema/json-schema/batch-request.json';
import errorEnvelope from '@triggers/event-schema/json-schema/error-envelope.json';
import eventAccepted from '@triggers/event-schema/json-schema/event-accepted.json';
import eventDetails from '@triggers/event-schema/json-schema/event-details.json';
import eventRequest from '@triggers/event-schema/json-schema/event-request.json';
import inboxPage from '@triggers/event-schema/json-schema/inbox-page.json';
import queuedEvent from '@triggers/event-schema/json-schema/queued-event.json';
import replayRequest from '@triggers/event-schema/json-schema/replay-request.json';
import replayResult from '@triggers/event-schema/json-schema/replay-result.json';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { newApiKey, post, postEvent, queued, send } from './support/ingest.ts';
import { storeOne, tenantWithEachStatus } from './support/store.ts';

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);

/** Asserts `value` is valid against `schema`, listing Ajv's complaints when it is not. */
function expectValid(schema: object, value: unknown) {
  const validate = ajv.compile(schema);
  const valid = validate(value);
  expect(valid ? [] : validate.errors).toEqual([]);
}

/** Asserts `value` is invalid against `schema`. */
function expectInvalid(schema: object, value: unknown) {
  expect(ajv.validate(schema, value)).toBe(false);
}

async function body(response: Response, status: number): Promise<unknown> {
  expect(response.status).toBe(status);
  return response.json();
}

describe('JSON Schema of what the API answers and queues', () => {
  it('POST /events: the request, the answer and the real queue message are valid', async () => {
    const key = await newApiKey();
    const event = { payload: { order: 42, lines: [{ sku: 'a' }] }, metadata: { source: 'shop' } };
    expectValid(eventRequest, event);
    const answer = await body(await postEvent(key.key, event), 200);
    expectValid(eventAccepted, answer);
    const { data } = answer as { data: { event_id: string } };
    expectValid(queuedEvent, await queued(data.event_id));
  });

  it('POST /events/batch: the request, the answer with an accepted and a rejected item, the queue messages', async () => {
    const key = await newApiKey();
    const batch = { events: [{ payload: { n: 1 }, idempotency_key: 'json-schema-1' }, { payload: 'nope' }] };
    expectValid(batchRequest, { events: [batch.events[0]] });
    expectInvalid(batchRequest, batch);
    const answer = await body(await post('/events/batch', key, batch), 200);
    expectValid(batchAccepted, answer);
    const [accepted] = (answer as { data: { results: { event_id: string }[] } }).data.results;
    expectValid(queuedEvent, await queued(accepted?.event_id ?? ''));
  });

  it('GET /events/{id}, GET /inbox, ack and retry answers are valid, for every status', async () => {
    const tenant = await tenantWithEachStatus();
    for (const event of [tenant.delivered, tenant.pending, tenant.failed]) {
      expectValid(eventDetails, await body(await send('GET', `/events/${event.event_id}`, tenant.key), 200));
    }
    expectValid(inboxPage, await body(await send('GET', '/inbox?acked=all&limit=2', tenant.key), 200));
    expectValid(
      eventDetails,
      await body(await send('POST', `/inbox/${tenant.delivered.event_id}/ack`, tenant.key), 200),
    );
    expectValid(
      eventDetails,
      await body(await send('POST', `/inbox/${tenant.failed.event_id}/retry`, tenant.key), 200),
    );
  });

  it('POST /dlq/replay: the request and the answer are valid; a request the API refuses is invalid', async () => {
    const key = await newApiKey();
    await storeOne('failed', key.id);
    const replay = { from: '2020-01-01', to: '2100-01-01T00:00Z', limit: 10 };
    expectValid(replayRequest, replay);
    expectInvalid(replayRequest, { limit: 0 });
    expectInvalid(replayRequest, { from: '2026-11-29T10:00:00' });
    const answer = await body(await post('/dlq/replay', key, replay), 200);
    expectValid(replayResult, answer);
    expect(answer).toMatchObject({ data: { replayed: 1 } });
  });

  it('every error answer is a valid error envelope', async () => {
    const key = await newApiKey();
    const answers = [
      await body(await postEvent(key.key, { payload: [] }), 400),
      await body(await postEvent(key.key, '{'), 400),
      await body(await postEvent('sk_test_wrong', { payload: {} }), 401),
      await body(await send('GET', `/events/${crypto.randomUUID()}`, key), 404),
      await body(await send('GET', '/inbox?status=lost', key), 400),
    ];
    for (const answer of answers) expectValid(errorEnvelope, answer);
  });
});
