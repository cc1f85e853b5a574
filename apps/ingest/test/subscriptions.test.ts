/**
 * The subscription routes in workerd, through the typed client (`createClient`) and the
 * Worker's own fetch, against the real local tenant stores. Deliveries themselves need a receiver and the
 * consumer: apps/consumer/test/delivery.test.ts, packages/system-tests/test/webhooks.test.ts.
 */
import { createClient, TriggersError } from '@triggers/client';
import { type JsonObject, MAX_SIGNING_SECRETS, MAX_SUBSCRIPTIONS_PER_KEY } from '@triggers/event-schema';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { describe, expect, it } from 'vitest';
import { BASE_URL, expectError, newApiKey, post, send, type TestKey, workerFetch } from './support/ingest.ts';
import { store, storeOf } from './support/store.ts';

const LOCAL_URL = 'http://127.0.0.1:8788/hook';

async function clients() {
  const [a, b] = [await newApiKey(), await newApiKey()];
  return {
    a: createClient({ baseUrl: BASE_URL, apiKey: a.key, fetch: workerFetch }),
    b: createClient({ baseUrl: BASE_URL, apiKey: b.key, fetch: workerFetch }),
    keyA: a,
  };
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: unknown) => {
      if (!(err instanceof TriggersError)) throw err;
      return { status: err.status, code: err.code, issues: err.envelope?.error.details?.issues };
    },
  );

describe('subscriptions', () => {
  it('creates (201, secret once), lists, reads, changes, rotates and deletes a subscription', async () => {
    const { a, keyA } = await clients();
    const created = await a.subscriptions.create({ url: LOCAL_URL, event_types: ['order.*'] });
    expect(created).toMatchObject({
      url: LOCAL_URL,
      event_types: ['order.*'],
      enabled: true,
      disabled_reason: null,
    });
    expect(created.id).toMatch(/^sub_[0-9a-f]{24}$/);
    // whsec_ + base64 of 32 random bytes.
    expect(atob(created.secret.slice('whsec_'.length))).toHaveLength(32);
    const raw = await post('/subscriptions', keyA, { url: LOCAL_URL });
    expect(raw.status).toBe(201);

    const listed = await a.subscriptions.list();
    expect(listed.map((s) => s.id)).toContain(created.id);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    expect((await a.subscriptions.get(created.id)).secret_prefix).toBe(`${created.secret.slice(0, 10)}…`);

    const changed = await a.subscriptions.update(created.id, { event_types: null, enabled: false });
    expect(changed).toMatchObject({
      event_types: null,
      enabled: false,
      disabled_reason: 'disabled through the API',
    });
    expect(await a.subscriptions.update(created.id, { enabled: true })).toMatchObject({
      enabled: true,
      disabled_reason: null,
    });

    const rotated = await a.subscriptions.rotateSecret(created.id);
    expect(rotated.secret).not.toBe(created.secret);
    expect(Date.parse(rotated.previous_secret_expires_at ?? '') - Date.now()).toBeGreaterThan(
      23 * 3600 * 1000,
    );

    await a.subscriptions.delete(created.id);
    expect(await refusal(a.subscriptions.get(created.id))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('refuses SSRF and non-https targets with 400 at url, and bad event types at their index', async () => {
    const { a } = await clients();
    for (const url of ['http://169.254.169.254/', 'https://10.0.0.1/', 'http://example.com/', 'not a url']) {
      expect(await refusal(a.subscriptions.create({ url })), url).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
        issues: [expect.objectContaining({ path: 'url' })],
      });
    }
    expect(await refusal(a.subscriptions.create({ url: LOCAL_URL, event_types: ['order*'] }))).toMatchObject({
      status: 400,
      issues: [expect.objectContaining({ path: 'event_types.0' })],
    });
  });

  it('stores a filter and shows it back; PATCH replaces it, and null removes it', async () => {
    const { a } = await clients();
    const filter = { payload: { order: { total: { $gte: 100 } } }, 'metadata.channel': { $in: ['web'] } };
    const created = await a.subscriptions.create({ url: LOCAL_URL, filter });
    expect(created.filter).toEqual(filter);
    expect((await a.subscriptions.get(created.id)).filter).toEqual(filter);
    const replaced = await a.subscriptions.update(created.id, { filter: { type: { $regex: '^order\\.' } } });
    expect(replaced.filter).toEqual({ type: { $regex: '^order\\.' } });
    expect((await a.subscriptions.update(created.id, { enabled: true })).filter).toEqual(replaced.filter);
    expect((await a.subscriptions.update(created.id, { filter: null })).filter).toBeNull();
    expect((await a.subscriptions.create({ url: LOCAL_URL })).filter).toBeNull();
  });

  it('refuses a filter with an unknown operator, one that runs code, or a path outside the event: 400 at its path', async () => {
    const { a } = await clients();
    const { id } = await a.subscriptions.create({ url: LOCAL_URL });
    const refused: [JsonObject, string][] = [
      [{ $where: 'this.payload.x == 1' }, 'filter.$where'],
      [{ $expr: { $eq: ['$payload.a', 1] } }, 'filter.$expr'],
      [{ payload: { total: { $function: {} } } }, 'filter.payload.total.$function'],
      [{ 'payload.total': { $gtx: 1 } }, 'filter.payload.total.$gtx'],
      [{ 'body.total': 1 }, 'filter.body.total'],
      [{ 'payload.n': { $regex: '(' } }, 'filter.payload.n.$regex'],
    ];
    for (const [filter, path] of refused) {
      for (const call of [
        () => a.subscriptions.create({ url: LOCAL_URL, filter }),
        () => a.subscriptions.update(id, { filter }),
      ]) {
        expect(await refusal(call()), JSON.stringify(filter)).toMatchObject({
          status: 400,
          code: 'VALIDATION_ERROR',
          issues: [expect.objectContaining({ path })],
        });
      }
    }
    // Not an object at all: the schema's own message.
    expect(
      await refusal(
        a.subscriptions.create({ url: LOCAL_URL, filter: [] as unknown as Record<string, never> }),
      ),
    ).toMatchObject({ status: 400, issues: [expect.objectContaining({ path: 'filter' })] });
    expect((await a.subscriptions.get(id)).filter).toBeNull();
  });

  it('stores a transform and shows it back; refuses one that is not JSONata with 400 at transform', async () => {
    const { a } = await clients();
    const transform = '{"order": payload.order.id, "kind": type}';
    const created = await a.subscriptions.create({ url: LOCAL_URL, transform });
    expect(created.transform).toBe(transform);
    expect((await a.subscriptions.get(created.id)).transform).toBe(transform);
    for (const call of [
      () => a.subscriptions.create({ url: LOCAL_URL, transform: '{"order": payload.order.id' }),
      () => a.subscriptions.update(created.id, { transform: 'payload.(' }),
      () => a.subscriptions.update(created.id, { transform: '' }),
    ]) {
      expect(await refusal(call())).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
        issues: [expect.objectContaining({ path: 'transform' })],
      });
    }
    expect((await a.subscriptions.get(created.id)).transform).toBe(transform);
    expect((await a.subscriptions.update(created.id, { transform: null })).transform).toBeNull();
  });

  it('refuses a filter $regex or a transform regular expression that could backtrack catastrophically, and a $pad past the output bound, saying why; accepts common ones', async () => {
    const { a } = await clients();
    const safe = await a.subscriptions.create({
      url: LOCAL_URL,
      filter: {
        type: { $regex: '^order\\.(created|paid)$' },
        'payload.phone': { $regex: '[0-9]{3}-[0-9]{4}' },
      },
      transform: '{"kind": $match(type, /^order\\.(created|paid)$/).groups[0]}',
    });
    expect(safe.filter).toEqual({
      type: { $regex: '^order\\.(created|paid)$' },
      'payload.phone': { $regex: '[0-9]{3}-[0-9]{4}' },
    });
    for (const call of [
      () => a.subscriptions.create({ url: LOCAL_URL, filter: { 'payload.name': { $regex: '(a+)+$' } } }),
      () => a.subscriptions.update(safe.id, { filter: { 'payload.name': { $regex: '(a|aa)+$' } } }),
    ]) {
      expect(await refusal(call())).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
        issues: [
          {
            path: 'filter.payload.name.$regex',
            message: expect.stringMatching(/^could backtrack catastrophically: .*nested quantifiers/),
          },
        ],
      });
    }
    expect(
      await refusal(a.subscriptions.update(safe.id, { transform: '$replace(subject, /(\\w|\\d)+$/, "")' })),
    ).toMatchObject({
      status: 400,
      issues: [
        {
          path: 'transform',
          message: expect.stringMatching(
            /^has a regular expression that could backtrack catastrophically: .*: \/\(\\w\|\\d\)\+\$\/$/s,
          ),
        },
      ],
    });
    expect(
      await refusal(a.subscriptions.update(safe.id, { transform: '$pad("", 100000000)' })),
    ).toMatchObject({
      status: 400,
      issues: [
        { path: 'transform', message: expect.stringMatching(/^pads to a width over 256000 characters/) },
      ],
    });
    expect(await a.subscriptions.get(safe.id)).toMatchObject({
      filter: safe.filter,
      transform: safe.transform,
    });
  });

  it('answers another key 404 on every subscription and delivery route', async () => {
    const { a, b } = await clients();
    const { id } = await a.subscriptions.create({ url: LOCAL_URL });
    expect(await b.subscriptions.list()).toEqual([]);
    for (const call of [
      () => b.subscriptions.get(id),
      () => b.subscriptions.update(id, { enabled: false }),
      () => b.subscriptions.rotateSecret(id),
      () => b.subscriptions.delete(id),
      () => b.deliveries.list(crypto.randomUUID()),
      () => b.deliveries.retry(crypto.randomUUID(), 'msg_000000000000000000000000'),
    ]) {
      expect(await refusal(call())).toMatchObject({ status: 404 });
    }
    expect((await a.subscriptions.get(id)).enabled).toBe(true);
  });
});

describe('webhook URL rules over HTTP', () => {
  it('refuses every non-public destination on create and on change, the trailing-dot and IPv4-in-IPv6 forms included', async () => {
    const key = await newApiKey();
    const created = (await (await post('/subscriptions', key, { url: LOCAL_URL })).json()) as {
      data: { id: string };
    };
    const { id } = created.data;
    // Local development (this runtime) allows loopback; packages/webhooks tests the deployed rules too.
    for (const url of [
      'https://intranet./',
      'https://metadata.google.internal./',
      'https://[::a9fe:a9fe]/',
      'https://[::7f00:1]/',
      'https://[64:ff9b::a9fe:a9fe]/',
      'https://[2002:a9fe:a9fe::]/',
      'https://[fec0::1]/',
      'https://[ff02::1]/',
      'https://192.0.0.1/',
      'https://169.254.169.254/',
      'https://[::ffff:169.254.169.254]/',
    ]) {
      const created = await expectError(await post('/subscriptions', key, { url }), 400, 'VALIDATION_ERROR');
      expect(created.error.details?.issues?.[0]?.path, url).toBe('url');
      const changed = await workerFetch(
        new Request(`${BASE_URL}/subscriptions/${id}`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url }),
        }),
      );
      await expectError(changed, 400, 'VALIDATION_ERROR');
    }
  });
});

describe('limits', () => {
  /** Gives `key` `n` subscriptions straight in the store (the API's rate limit would slow 100 POSTs). */
  async function seedSubscriptions(key: TestKey, n: number) {
    for (let i = 0; i < n; i++) {
      await storeOf(key.id).createSubscription(
        {
          apiKeyId: key.id,
          id: `sub_${String(i).padStart(24, '0')}`,
          url: LOCAL_URL,
          eventTypes: null,
          secret: 'whsec_eA==',
        },
        new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
        MAX_SUBSCRIPTIONS_PER_KEY,
      );
    }
  }

  it(`answers 409 LIMIT_REACHED naming the limit past ${MAX_SUBSCRIPTIONS_PER_KEY} subscriptions, and creates again once one is deleted`, async () => {
    const key = await newApiKey();
    await seedSubscriptions(key, MAX_SUBSCRIPTIONS_PER_KEY);
    const refused = await expectError(
      await post('/subscriptions', key, { url: LOCAL_URL }),
      409,
      'LIMIT_REACHED',
    );
    expect(refused.error.details?.limit).toBe(MAX_SUBSCRIPTIONS_PER_KEY);
    expect(refused.error.message).toContain(String(MAX_SUBSCRIPTIONS_PER_KEY));
    // Another key is not affected.
    expect((await post('/subscriptions', await newApiKey(), { url: LOCAL_URL })).status).toBe(201);
    const deleted = await workerFetch(
      new Request(`${BASE_URL}/subscriptions/sub_${'0'.repeat(24)}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${key.key}` },
      }),
    );
    expect(deleted.status).toBe(200);
    expect((await post('/subscriptions', key, { url: LOCAL_URL })).status).toBe(201);
  });

  it('pages GET /subscriptions oldest first with limit and cursor, and refuses a cursor it did not issue', async () => {
    const key = await newApiKey();
    await seedSubscriptions(key, 5);
    const page = async (query: string) =>
      (await (await send('GET', `/subscriptions${query}`, key)).json()) as {
        data: { subscriptions: { id: string }[]; next_cursor: string | null };
      };
    const all = await page('');
    expect(all.data.subscriptions).toHaveLength(5);
    expect(all.data.next_cursor).toBeNull();
    const first = await page('?limit=2');
    const second = await page(`?limit=2&cursor=${first.data.next_cursor}`);
    const third = await page(`?limit=2&cursor=${second.data.next_cursor}`);
    expect([first, second, third].flatMap((p) => p.data.subscriptions.map((s) => s.id))).toEqual(
      all.data.subscriptions.map((s) => s.id),
    );
    expect(third.data.next_cursor).toBeNull();
    const bad = await expectError(
      await send('GET', '/subscriptions?cursor=abc', key),
      400,
      'VALIDATION_ERROR',
    );
    expect(bad.error.details?.issues?.[0]?.path).toBe('query.cursor');
    await expectError(
      await send('GET', `/subscriptions?limit=${MAX_SUBSCRIPTIONS_PER_KEY + 1}`, key),
      400,
      'VALIDATION_ERROR',
    );
  });

  it(`keeps every replaced secret signing for its own 24 h after a second rotation, and refuses a rotation past ${MAX_SIGNING_SECRETS} secrets`, async () => {
    const key = await newApiKey();
    const created = (await (await post('/subscriptions', key, { url: LOCAL_URL })).json()) as {
      data: { id: string; secret: string };
    };
    const { id, secret: original } = created.data;
    const rotate = () => send('POST', `/subscriptions/${id}/rotate-secret`, key);
    const first = (await (await rotate()).json()) as { data: { secret: string } };
    const second = (await (await rotate()).json()) as { data: { secret: string } };
    const row = await storeOf(key.id).getSubscription({ apiKeyId: key.id, id });
    expect(row?.secret).toBe(second.data.secret);
    const previous = JSON.parse(row?.previous_secrets ?? '[]') as { secret: string; expires_at: string }[];
    expect(previous.map((p) => p.secret)).toEqual([original, first.data.secret]);
    for (const p of previous) expect(Date.parse(p.expires_at) - Date.now()).toBeGreaterThan(23 * 3_600_000);

    for (let i = 3; i < MAX_SIGNING_SECRETS; i++) expect((await rotate()).status).toBe(200);
    const refused = await expectError(await rotate(), 409, 'LIMIT_REACHED');
    expect(refused.error.details?.limit).toBe(MAX_SIGNING_SECRETS);
  });
});

describe('deliveries of another key', () => {
  it('refuses over HTTP to retry another key’s real failed delivery, which stays failed, and retries its own', async () => {
    const owner = await newApiKey();
    const other = await newApiKey();
    const { id } = (
      (await (await post('/subscriptions', owner, { url: LOCAL_URL })).json()) as { data: { id: string } }
    ).data;
    const [e] = await store('delivered', [queuedEvent({ api_key_id: owner.id })]);
    if (e === undefined) throw new Error('not stored');
    const [attempt] = await storeOf(owner.id).fanOut(owner.id, [e.event_id], new Date());
    if (attempt === undefined) throw new Error('no delivery');
    await storeOf(owner.id).recordAttempt(
      {
        apiKeyId: owner.id,
        deliveryId: attempt.delivery_id,
        subscriptionId: id,
        round: 1,
        attempt: 1,
        attemptedAt: new Date(),
        httpStatus: 500,
        error: null,
        latencyMs: 3,
        responseExcerpt: null,
        status: 'failed',
        nextAttemptAt: null,
        disableAfter: 5,
      },
      new Date(),
    );
    const path = `/events/${e.event_id}/deliveries/${attempt.delivery_id}/retry`;
    await expectError(await send('POST', path, other), 404, 'NOT_FOUND');
    await expectError(await send('GET', `/events/${e.event_id}/deliveries`, other), 404, 'NOT_FOUND');
    const [still] = await storeOf(owner.id).listDeliveries({ apiKeyId: owner.id, eventId: e.event_id });
    expect(still).toMatchObject({ status: 'failed', round: 1 });

    const own = await send('POST', path, owner);
    expect(own.status).toBe(200);
    expect(((await own.json()) as { data: { status: string; round: number } }).data).toMatchObject({
      status: 'pending',
      round: 2,
    });
  });
});
