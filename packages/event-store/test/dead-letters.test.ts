/**
 * Dead letters whose body is not an event: kept in D1 (they belong to no tenant), so this suite
 * runs against the local D1 (project `d1`).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { commit, encodeBody, getDeadLetter, recordUnreadable, type StoreWrite } from '../src/index.ts';

const db = env.DB;
const T1 = new Date('2026-11-29T10:00:01.000Z');
const T2 = new Date('2026-11-29T10:00:02.000Z');
const T3 = new Date('2026-11-29T10:00:03.000Z');
const one = async (write: StoreWrite) => (await commit(db, [write]))[0];

describe('recordUnreadable', () => {
  it('keeps a malformed body as JSON text and a binary one as base64, once per message id', async () => {
    const jsonId = crypto.randomUUID();
    const bytesId = crypto.randomUUID();
    const messages = [
      {
        messageId: jsonId,
        queue: 'event-queue',
        reason: 'malformed',
        attempts: 1,
        ...encodeBody({ nope: [1, 'two'] }),
        enqueuedAt: T1,
      },
      {
        messageId: bytesId,
        queue: 'event-dlq',
        reason: 'malformed',
        attempts: 4,
        ...encodeBody(new Uint8Array([0, 255, 7])),
        enqueuedAt: T1,
      },
    ];
    expect(await one(recordUnreadable(db, messages, T2))).toEqual(new Set([jsonId, bytesId]));
    expect((await one(recordUnreadable(db, messages, T3))).size).toBe(0);
    expect(await getDeadLetter(db, jsonId)).toEqual({
      message_id: jsonId,
      queue: 'event-queue',
      reason: 'malformed',
      attempts: 1,
      body: '{"nope":[1,"two"]}',
      body_encoding: 'json',
      enqueued_at: T1.toISOString(),
      created_at: T2.toISOString(),
    });
    expect(await getDeadLetter(db, bytesId)).toMatchObject({
      body: 'AP8H',
      body_encoding: 'base64',
      attempts: 4,
    });
  });
});
