import type { EventCursor } from '@triggers/event-store';
import * as v from 'valibot';
import { ApiError } from './errors.ts';

/**
 * `next_cursor` of `GET /inbox`: the `(received_at, event_id)` of the last event of a page, as
 * base64url JSON. Opaque to clients; tampering with one can only move within the key's own
 * events, since every query is scoped to the key.
 */
const CursorFields = v.tuple([
  v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)),
  v.pipe(v.string(), v.uuid()),
]);

// Both fields are ASCII, so btoa and atob apply to the JSON text as it is.
export function encodeCursor({ received_at, event_id }: EventCursor): string {
  return btoa(JSON.stringify([received_at, event_id]))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

/** The position `cursor` stands for, or 400 at `path` when this API did not issue it. */
export function decodeCursor(cursor: string, path: string): EventCursor {
  let fields: unknown;
  try {
    fields = JSON.parse(atob(cursor.replaceAll('-', '+').replaceAll('_', '/')));
  } catch {
    fields = undefined;
  }
  const parsed = v.safeParse(CursorFields, fields);
  if (!parsed.success) {
    throw new ApiError(
      'VALIDATION_ERROR',
      'The cursor is not one this API issued: pass next_cursor as it came.',
      {
        details: { issues: [{ path, message: 'is not a cursor this API issued' }] },
      },
    );
  }
  const [received_at, event_id] = parsed.output;
  return { received_at, event_id };
}
