/**
 * The subscription routes in workerd, through the typed client (`createClient`) and the
 * Worker's own fetch, against the real local D1. Deliveries themselves need a receiver and the
 * consumer: packages/system-tests/test/webhooks.test.ts.
 */
import { createClient, TriggersError } from '@triggers/client';
import { describe, expect, it } from 'vitest';
import { BASE_URL, newApiKey, post, workerFetch } from './support/ingest.ts';

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
