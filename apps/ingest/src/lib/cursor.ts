import type { EventCursor, SubscriptionCursor } from '@triggers/event-store';
import * as v from 'valibot';
import { ApiError } from './errors.ts';

/**
 * The `next_cursor` of a paged list: the sort key of the last item of a page, as base64url JSON.
 * Opaque to clients; tampering with one can only move within the key's own items, since every
 * query is scoped to the key. `GET /inbox` pages by `(received_at, event_id)`, `GET
 * /subscriptions` by `(created_at, id)`.
 */

const Stamp = v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/));
const EventCursorFields = v.tuple([Stamp, v.pipe(v.string(), v.uuid())]);
const SubscriptionCursorFields = v.tuple([Stamp, v.pipe(v.string(), v.regex(/^sub_[0-9a-f]{24}$/))]);

/** `fields` as an opaque cursor (base64url JSON). Every field is ASCII, so btoa applies to the JSON text as it is. */
export const encodeCursorFields = (fields: unknown) =>
  btoa(JSON.stringify(fields)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

/** The fields `cursor` carries, or 400 at `path` when this API did not issue it. */
export function decodeCursorFields<T>(cursor: string, fields: v.GenericSchema<unknown, T>, path: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(atob(cursor.replaceAll('-', '+').replaceAll('_', '/')));
  } catch {
    parsed = undefined;
  }
  const result = v.safeParse(fields, parsed);
  if (result.success) return result.output;
  throw new ApiError(
    'VALIDATION_ERROR',
    'The cursor is not one this API issued: pass next_cursor as it came.',
    {
      details: { issues: [{ path, message: 'is not a cursor this API issued' }] },
    },
  );
}

export const encodeCursor = ({ received_at, event_id }: EventCursor): string =>
  encodeCursorFields([received_at, event_id]);

/** The inbox position `cursor` stands for, or 400 at `path`. */
export function decodeCursor(cursor: string, path: string): EventCursor {
  const [received_at, event_id] = decodeCursorFields(cursor, EventCursorFields, path);
  return { received_at, event_id };
}

export const encodeSubscriptionCursor = ({ created_at, id }: SubscriptionCursor): string =>
  encodeCursorFields([created_at, id]);

/** The subscriptions position `cursor` stands for, or 400 at `path`. */
export function decodeSubscriptionCursor(cursor: string, path: string): SubscriptionCursor {
  const [created_at, id] = decodeCursorFields(cursor, SubscriptionCursorFields, path);
  return { created_at, id };
}
