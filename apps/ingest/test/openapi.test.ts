import {
  ERROR_STATUS,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_INBOX_LIMIT,
} from '@triggers/event-schema';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { OpenApiDocument, openApiPath } from '../src/lib/openapi.ts';
import { router } from '../src/router.ts';
import { InboxQuery } from '../src/routes/inbox.ts';
import { BASE_URL, workerFetch } from './support/ingest.ts';

async function fetchDocument(): Promise<OpenApiDocument> {
  const res = await workerFetch(new Request(`${BASE_URL}/openapi.json`));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/json');
  return v.parse(OpenApiDocument, await res.json());
}

type Operation = {
  security: unknown[];
  parameters?: { in: string; name: string; schema: Record<string, unknown> }[];
  requestBody?: { required?: boolean; content: { 'application/json': { schema: { $ref?: string } } } };
  responses: Record<
    string,
    {
      description?: string;
      headers?: Record<string, unknown>;
      content?: { 'application/json': { schema: { $ref?: string } } };
    }
  >;
};

const operations = (doc: OpenApiDocument) =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      key: `${method.toUpperCase()} ${path}`,
      path,
      method,
      op: op as Operation,
    })),
  );

type Schema = Record<string, unknown> & { properties?: Record<string, Schema> };
const component = (doc: OpenApiDocument, name: string) => doc.components.schemas[name] as Schema;

/** Every `$ref` anywhere in the document. */
function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, child]) =>
    k === '$ref' && typeof child === 'string' ? [child] : refs(child),
  );
}

describe('GET /openapi.json', () => {
  it('documents exactly the routes the router registers, no more and no fewer', async () => {
    const doc = await fetchDocument();
    expect(doc.openapi).toBe('3.1.0');
    const registered = router.routes
      .filter(([method]) => method !== 'ALL')
      .map(([method, , , path]) => `${method} ${openApiPath(path ?? '')}`)
      .sort();
    const documented = operations(doc)
      .map((o) => o.key)
      .sort();
    expect(documented).toEqual(registered);
    expect(documented).toEqual([
      'DELETE /subscriptions/{subscription_id}',
      'GET /events/{event_id}',
      'GET /events/{event_id}/deliveries',
      'GET /health',
      'GET /inbox',
      'GET /openapi.json',
      'GET /stats',
      'GET /subscriptions',
      'GET /subscriptions/{subscription_id}',
      'PATCH /subscriptions/{subscription_id}',
      'POST /dlq/replay',
      'POST /events',
      'POST /events/batch',
      'POST /events/{event_id}/deliveries/{delivery_id}/retry',
      'POST /inbox/{event_id}/ack',
      'POST /inbox/{event_id}/retry',
      'POST /subscriptions',
      'POST /subscriptions/test',
      'POST /subscriptions/{subscription_id}/recover',
      'POST /subscriptions/{subscription_id}/rotate-secret',
      'POST /subscriptions/{subscription_id}/test',
    ]);
  });

  it('has no phantom route: the Worker serves every documented operation and 405s the other methods', async () => {
    const doc = await fetchDocument();
    for (const { path: template, method } of operations(doc)) {
      const path = template
        .replace('{event_id}', crypto.randomUUID())
        .replace('{subscription_id}', 'sub_000000000000000000000000')
        .replace('{delivery_id}', 'msg_000000000000000000000000');
      const served = await workerFetch(new Request(`${BASE_URL}${path}`, { method: method.toUpperCase() }));
      expect([404, 405], `${method} ${path}`).not.toContain(served.status);
      // A method no path of the API serves.
      const other = 'PUT';
      expect((await workerFetch(new Request(`${BASE_URL}${path}`, { method: other }))).status, path).toBe(
        405,
      );
    }
    expect((await workerFetch(new Request(`${BASE_URL}/not-documented`))).status).toBe(404);
  });

  it('gives every operation its request and response schemas, and every $ref resolves', async () => {
    const doc = await fetchDocument();
    const byKey = Object.fromEntries(operations(doc).map((o) => [o.key, o.op]));
    const body = (key: string) => byKey[key]?.requestBody?.content['application/json'].schema.$ref;
    const ok = (key: string) => byKey[key]?.responses['200']?.content?.['application/json'].schema.$ref;
    expect(body('POST /events')).toBe('#/components/schemas/EventRequest');
    expect(body('POST /events/batch')).toBe('#/components/schemas/BatchRequest');
    expect(ok('POST /events')).toBe('#/components/schemas/EventAccepted');
    expect(ok('POST /events/batch')).toBe('#/components/schemas/BatchAccepted');
    expect(ok('GET /health')).toBe('#/components/schemas/HealthStatus');
    expect(ok('GET /openapi.json')).toBe('#/components/schemas/OpenApiDocument');
    expect(ok('GET /stats')).toBe('#/components/schemas/EventStats');

    for (const key of ['POST /events', 'POST /events/batch']) {
      const op = byKey[key];
      expect(op?.security).toEqual([{ apiKey: [] }]);
      for (const status of ['400', '401', '413', '415', '429', '503']) {
        expect(op?.responses[status]?.content?.['application/json'].schema.$ref, `${key} ${status}`).toBe(
          '#/components/schemas/ErrorEnvelope',
        );
      }
      expect(op?.responses['429']?.headers).toHaveProperty('Retry-After');
      expect(op?.responses['429']?.headers).toHaveProperty('RateLimit-Policy');
    }
    expect(byKey['POST /events']?.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual([
      'header:Idempotency-Key',
      'header:Content-Encoding',
      'query:debug',
      ...['specversion', 'id', 'source', 'type', 'subject', 'time', 'dataschema'].map(
        (name) => `header:ce-${name}`,
      ),
    ]);

    for (const ref of refs(doc)) {
      const name = ref.replace('#/components/schemas/', '');
      expect(ref.startsWith('#/components/schemas/'), ref).toBe(true);
      expect(doc.components.schemas, ref).toHaveProperty(name);
    }
  });

  it('derives its schemas from the valibot ones, limits included', async () => {
    const doc = await fetchDocument();
    const events = component(doc, 'BatchRequest').properties?.events;
    expect(events).toMatchObject({
      type: 'array',
      minItems: 1,
      maxItems: MAX_BATCH_EVENTS,
      items: { $ref: '#/components/schemas/BatchItem' },
    });
    expect(component(doc, 'BatchItem')).toMatchObject({
      additionalProperties: false,
      required: ['payload'],
      properties: { idempotency_key: { $ref: '#/components/schemas/IdempotencyKey' } },
    });
    expect(component(doc, 'IdempotencyKey')).toMatchObject({
      type: 'string',
      maxLength: MAX_IDEMPOTENCY_KEY_LENGTH,
    });
    expect(component(doc, 'JsonObject')).toMatchObject({ type: 'object' });
    const code = component(doc, 'ErrorEnvelope').properties?.error?.properties?.code;
    expect(code?.enum).toEqual(Object.keys(ERROR_STATUS));
    const description = (key: string) =>
      operations(doc).find((o) => o.key === key)?.op as { description?: string };
    expect(description('POST /events').description).toContain(String(MAX_EVENT_BYTES));
    expect(description('POST /events/batch').description).toContain(String(MAX_BATCH_BYTES));
  });
});

describe('GET /openapi.json: the inbox routes', () => {
  it('documents the path parameter, every query parameter GET /inbox reads, the optional replay body and each response', async () => {
    const doc = await fetchDocument();
    const byKey = Object.fromEntries(operations(doc).map((o) => [o.key, o.op]));
    const ok = (key: string) => byKey[key]?.responses['200']?.content?.['application/json'].schema.$ref;
    for (const key of [
      'GET /events/{event_id}',
      'POST /inbox/{event_id}/ack',
      'POST /inbox/{event_id}/retry',
    ]) {
      expect(byKey[key]?.parameters).toEqual([
        expect.objectContaining({
          in: 'path',
          name: 'event_id',
          required: true,
          schema: { type: 'string', format: 'uuid' },
        }),
      ]);
      expect(ok(key)).toBe('#/components/schemas/EventDetails');
      expect(byKey[key]?.responses['404']).toBeDefined();
    }
    expect(byKey['POST /inbox/{event_id}/retry']?.responses['409']?.description).toContain('INVALID_STATE');
    expect(ok('GET /inbox')).toBe('#/components/schemas/InboxPage');
    expect(byKey['GET /inbox']?.parameters?.map((p) => p.name)).toEqual(Object.keys(InboxQuery.entries));
    expect(byKey['GET /inbox']?.parameters?.find((p) => p.name === 'limit')?.schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: MAX_INBOX_LIMIT,
    });
    expect(byKey['GET /inbox']?.parameters?.find((p) => p.name === 'status')?.schema).toMatchObject({
      type: 'array',
      items: { enum: ['pending', 'delivered', 'failed'] },
    });
    expect(byKey['POST /dlq/replay']?.requestBody).toMatchObject({ required: false });
    expect(ok('POST /dlq/replay')).toBe('#/components/schemas/ReplayResult');
  });
});

describe('GET /openapi.json: CloudEvents', () => {
  it('documents the structured, binary and batch bodies and the CloudEvent answer of GET /events/{event_id}', async () => {
    const response = await workerFetch(new Request(`${BASE_URL}/openapi.json`));
    const doc = (await response.json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: object }; responses: Record<string, { content: object }> }>
      >;
      components: { schemas: Record<string, { properties?: Record<string, { format?: string }> }> };
    };
    expect(Object.keys(doc.paths['/events']?.post?.requestBody?.content ?? {})).toEqual([
      'application/json',
      'application/cloudevents+json',
      'application/octet-stream',
    ]);
    expect(Object.keys(doc.paths['/events/batch']?.post?.requestBody?.content ?? {})).toEqual([
      'application/json',
      'application/cloudevents-batch+json',
    ]);
    expect(Object.keys(doc.paths['/events/{event_id}']?.get?.responses['200']?.content ?? {})).toEqual([
      'application/json',
      'application/cloudevents+json',
    ]);
    const cloudEvent = doc.components.schemas.CloudEvent?.properties;
    expect(cloudEvent?.source?.format).toBe('uri-reference');
    expect(cloudEvent?.time?.format).toBe('date-time');
    expect(cloudEvent?.dataschema?.format).toBe('uri');
  });
});
