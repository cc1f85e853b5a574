import { eventTypeMatch, MAX_SUBSCRIPTIONS_PER_KEY, matchesEventType } from '@triggers/event-schema';
import { queuedEvent } from '@triggers/test-support/queued-event';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commit, createSubscription, fanOut, listEvents, storeDelivered } from '../src/index.ts';
import { storeDb } from './backends.ts';

/**
 * The store's two SQL readings of an event type pattern (the inbox's range on the type index,
 * the fan-out's join on a subscription's `event_types`) against `matchesEventType`, the one
 * definition, on generated types and patterns: LIKE wildcards, dots, stars, non-ASCII and
 * characters outside the BMP included.
 */

const db = storeDb();
const NOW = new Date('2026-12-01T10:00:00.000Z');
const tenant = () => `key_${crypto.randomUUID()}`;

const char = fc.constantFrom('a', 'b', '.', '_', '%', 'é', '😀', 'z');
const text = (min: number) => fc.array(char, { minLength: min, maxLength: 5 }).map((cs) => cs.join(''));
/** Types, a few sharing prefixes with the patterns. */
const types = fc.uniqueArray(text(1), { minLength: 1, maxLength: 8 });
/** Patterns as subscriptions take them: exact, or `prefix.*`. */
const subscriptionPattern = fc.oneof(
  text(1),
  text(0).map((prefix) => `${prefix}.*`),
);
/** What the inbox takes besides: the deprecated `prefix*`. */
const inboxPattern = fc.oneof(
  subscriptionPattern,
  text(1).map((prefix) => `${prefix}*`),
);

async function storeTypes(apiKeyId: string, eventTypes: string[]) {
  const events = eventTypes.map((type) => queuedEvent({ api_key_id: apiKeyId, type }));
  await commit(db, [
    storeDelivered(
      db,
      events.map((event) => ({ event, attempts: 1 })),
      NOW,
    ),
  ]);
  return events;
}

describe('event type patterns in SQL', () => {
  it('the inbox selects exactly the events whose type the pattern matches', async () => {
    await fc.assert(
      fc.asyncProperty(types, inboxPattern, async (eventTypes, pattern) => {
        const key = tenant();
        await storeTypes(key, eventTypes);
        const page = await listEvents(db, {
          apiKeyId: key,
          type: eventTypeMatch(pattern),
          order: 'asc',
          limit: 100,
        });
        expect(page.events.map((e) => e.type).sort()).toEqual(
          eventTypes.filter((type) => matchesEventType(pattern, type)).sort(),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('fan-out creates deliveries for exactly the events whose type one of the subscription’s patterns matches', async () => {
    await fc.assert(
      fc.asyncProperty(
        types,
        fc.array(subscriptionPattern, { minLength: 1, maxLength: 3 }),
        async (eventTypes, patterns) => {
          const key = tenant();
          await createSubscription(
            db,
            {
              apiKeyId: key,
              id: 'sub_000000000000000000000001',
              url: 'https://h.example.com/',
              eventTypes: patterns,
              secret: 'whsec_eA==',
            },
            NOW,
            MAX_SUBSCRIPTIONS_PER_KEY,
          );
          const events = await storeTypes(key, eventTypes);
          const attempts = await fanOut(
            db,
            key,
            events.map((e) => e.event_id),
            NOW,
          );
          const delivered = await db
            .prepare(
              'SELECT e.type FROM deliveries AS d JOIN events AS e ON e.event_id = d.event_id WHERE d.api_key_id = ?1',
            )
            .bind(key)
            .all<{ type: string }>();
          const expected = eventTypes
            .filter((type) => patterns.some((p) => matchesEventType(p, type)))
            .sort();
          expect(delivered.results.map((r) => r.type).sort()).toEqual(expected);
          expect(attempts).toHaveLength(expected.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});
