import { commit, type StoreWrite } from '@triggers/event-store';
import { describeError } from '@triggers/log';

/**
 * What committing a batch's store writes came to: for each write, the keys it inserted or changed
 * (see event-store's `commit`), or, when D1 failed, the reason every message that needed the
 * write is retried with.
 */
export type Committed<T extends readonly StoreWrite[]> =
  | { ok: true; keys: { -readonly [K in keyof T]: Set<string> } }
  | { ok: false; reason: string };

/**
 * Runs a batch's store writes in one D1 round trip. Never throws: a failure of the store is an
 * outcome that both queues' handlers answer the same way, by retrying the messages concerned.
 */
export async function tryCommit<const T extends readonly StoreWrite[]>(
  db: D1Database,
  writes: T,
): Promise<Committed<T>> {
  try {
    return { ok: true, keys: await commit(db, writes) };
  } catch (err) {
    return { ok: false, reason: `event store unavailable: ${describeError(err)}` };
  }
}
