import { MAX_EVENT_BYTES } from '@triggers/event-schema';
import fc from 'fast-check';

/** A request as the fuzzer sends it: bytes and headers exactly as they go on the wire. */
export interface HostileRequest {
  kind: string;
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body: Buffer;
  /**
   * Whether the message framing is honest: Content-Length absent (chunked) or equal to the body.
   * A body that ends before its Content-Length is an incomplete HTTP message; a Content-Length
   * that is not a number is not HTTP at all.
   */
  honestLength: boolean;
}

export interface Keys {
  test: string;
  live: string;
  revoked: string;
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** Header-safe text: visible ASCII, as HTTP allows in a field value. */
const headerText = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

const jsonObject = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });

/** Bodies, from valid events to every kind of broken one. */
const bodies: fc.Arbitrary<[string, Buffer]> = fc.oneof(
  jsonObject.map((payload) => ['valid', utf8(JSON.stringify({ payload }))] as [string, Buffer]),
  fc
    .tuple(jsonObject, jsonObject)
    .map(
      ([payload, metadata]) =>
        ['valid-metadata', utf8(JSON.stringify({ payload, metadata }))] as [string, Buffer],
    ),
  // Wrong types at every field.
  fc
    .record({
      payload: fc.oneof(
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.jsonValue({ maxDepth: 2 })),
      ),
    })
    .map((body) => ['wrong-payload-type', utf8(JSON.stringify(body))] as [string, Buffer]),
  fc
    .record({
      payload: jsonObject,
      metadata: fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer()), fc.constant(null)),
    })
    .map((body) => ['wrong-metadata-type', utf8(JSON.stringify(body))] as [string, Buffer]),
  fc.jsonValue().map((value) => ['any-json', utf8(JSON.stringify(value) ?? 'null')] as [string, Buffer]),
  fc
    .tuple(jsonObject, fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }))
    .map(
      ([payload, key, value]) =>
        ['extra-field', utf8(JSON.stringify({ payload, [`x${key}`]: value }))] as [string, Buffer],
    ),
  // Malformed and truncated JSON.
  fc.tuple(jsonObject, fc.nat()).map(([payload, cut]) => {
    const text = JSON.stringify({ payload });
    return ['truncated', utf8(text.slice(0, cut % text.length))] as [string, Buffer];
  }),
  fc.string({ maxLength: 200 }).map((text) => ['text', utf8(text)] as [string, Buffer]),
  // Invalid UTF-8 inside otherwise plausible JSON.
  fc
    .uint8Array({ minLength: 1, maxLength: 64 })
    .map(
      (bytes) =>
        ['bytes', Buffer.concat([utf8('{"payload":{"b":"'), Buffer.from(bytes), utf8('"}}')])] as [
          string,
          Buffer,
        ],
    ),
  // Huge strings around the size limit.
  fc.integer({ min: -64, max: 64 }).map((delta) => {
    const frame = '{"payload":{"s":""}}';
    return [
      'huge-string',
      utf8(`{"payload":{"s":"${'x'.repeat(MAX_EVENT_BYTES - frame.length + delta)}"}}`),
    ] as [string, Buffer];
  }),
  // Deep nesting, up to what the size limit lets through.
  fc
    .integer({ min: 50, max: 60_000 })
    .map(
      (depth) =>
        ['deep', utf8(`{"payload":{"d":${'['.repeat(depth)}${']'.repeat(depth)}}}`)] as [string, Buffer],
    ),
  // Prototype keys and duplicate keys.
  fc
    .constantFrom(
      '{"payload":{"__proto__":{"admin":true}}}',
      '{"__proto__":{"payload":{}}}',
      '{"payload":{"constructor":{"prototype":{"polluted":1}}}}',
      '{"payload":{},"payload":[]}',
      '{"payload":[],"payload":{}}',
      '{"payload":{"a":1,"a":2},"metadata":{},"metadata":{}}',
    )
    .map((text) => ['proto-or-duplicate', utf8(text)] as [string, Buffer]),
  fc.constant(['empty', Buffer.alloc(0)] as [string, Buffer]),
);

const authorization = (keys: Keys) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(`Bearer ${keys.test}`) },
    fc.constant(`Bearer ${keys.live}`),
    fc.constant(`Bearer ${keys.revoked}`),
    fc.constant(undefined),
    fc.constant('Bearer'),
    fc.constant(`bearer    ${keys.test}`),
    fc.constant(`Basic ${Buffer.from('user:pass').toString('base64')}`),
    headerText(80).map((text) => `Bearer ${text}`),
    headerText(40).map((text) => `Bearer sk_test_${text}`),
    headerText(300),
  );

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  fc.constant(undefined),
  fc.constant('text/plain'),
  fc.constant('application/json; charset=utf-16'),
  fc.constant('APPLICATION/JSON; charset="UTF-8"'),
  fc.constant('multipart/form-data; boundary=x'),
  headerText(40),
);

const query = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  fc
    .constantFrom('validation_error', 'processing_error', 'dlq_routing', 'queue_delay')
    .map((flag) => `?debug=${flag}`),
  headerText(30).map((text) => `?debug=${encodeURIComponent(text)}`),
  fc.constant('?debug=dlq_routing&debug=queue_delay'),
  fc.constant('?debug'),
  fc.constant('?%zz=%zz&debug=%'),
  fc
    .tuple(headerText(40), headerText(2000))
    .map(([name, value]) => `?${encodeURIComponent(name)}=${encodeURIComponent(value)}`),
);

const lengthMode = fc.oneof(
  { weight: 8, arbitrary: fc.constant('true' as const) },
  fc.constantFrom(
    'absent' as const,
    'smaller' as const,
    'larger' as const,
    'garbage' as const,
    'huge' as const,
  ),
);

/** Requests to `POST /events` with hostile bodies, headers and query strings. */
export function hostileEvent(keys: Keys): fc.Arbitrary<HostileRequest> {
  return fc
    .record({
      body: bodies,
      auth: authorization(keys),
      type: contentType,
      query,
      length: lengthMode,
      correlation: fc.option(headerText(200), { nil: undefined }),
    })
    .map(({ body: [kind, body], auth, type, query, length, correlation }) => {
      const headers: Array<[string, string]> = [];
      if (auth !== undefined) headers.push(['Authorization', auth]);
      if (type !== undefined) headers.push(['Content-Type', type]);
      if (correlation !== undefined) headers.push(['X-Correlation-ID', correlation]);
      let sent = body;
      if (length === 'true') headers.push(['Content-Length', String(body.length)]);
      if (length === 'smaller') headers.push(['Content-Length', String(Math.floor(body.length / 2))]);
      if (length === 'larger') headers.push(['Content-Length', String(body.length + 10)]);
      if (length === 'garbage') headers.push(['Content-Length', 'abc']);
      if (length === 'huge') headers.push(['Content-Length', '99999999999']);
      if (length === 'absent') {
        headers.push(['Transfer-Encoding', 'chunked']);
        sent = Buffer.concat([
          Buffer.from(`${body.length.toString(16)}\r\n`),
          body,
          Buffer.from('\r\n0\r\n\r\n'),
        ]);
        if (body.length === 0) sent = Buffer.from('0\r\n\r\n');
      }
      return {
        kind: `${kind}/${length}`,
        method: 'POST',
        target: `/events${query}`,
        headers,
        body: sent,
        honestLength: length === 'true' || length === 'absent',
      };
    });
}

/** Requests with the wrong method or path. */
export const strayRequest: fc.Arbitrary<HostileRequest> = fc
  .record({
    method: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST'),
    path: fc.oneof(
      fc.constantFrom(
        '/events',
        '/health',
        '/',
        '/events/',
        '/EVENTS',
        '/events/x',
        '/../events',
        '/%2e%2e/events',
      ),
      headerText(60).map((text) => `/${encodeURIComponent(text)}`),
    ),
  })
  .filter(
    ({ method, path }) =>
      !(method === 'POST' && path === '/events') && !(method === 'GET' && path === '/health'),
  )
  .map(({ method, path }) => ({
    kind: 'stray',
    method,
    target: path,
    headers: [['Content-Length', '0']] as Array<[string, string]>,
    body: Buffer.alloc(0),
    honestLength: true,
  }));
