import { PackedEnvelope } from '@triggers/event-schema';
import * as v from 'valibot';

/**
 * Packed messages (`PackedEvents`: the ingest Worker sends a batch request's events several to a
 * message) seen by the handlers as their events: each event of a pack becomes a message of its
 * own, a "part", planned, stored, logged and dead-lettered exactly like an event that came alone.
 * A part's `ack()` and `retry()` only record a verdict; {@link UnpackedBatch.settle} then settles
 * the real message once, since the queue keeps the first call made on it:
 * - acked when every one of its events is (stored, a duplicate, or dead-lettered);
 * - retried whole, with the delay asked, when any needs a retry: its events already stored are
 *   duplicates on the next attempt, and no row is written twice.
 * After the last retry Cloudflare moves the pack as it is to `event-dlq`, whose handler unpacks it
 * the same way: the events not yet final are recorded failed, the stored ones are duplicates, so
 * one bad event is dead-lettered alone.
 * A bare message (not a pack) is passed through untouched.
 */
export interface UnpackedBatch {
  /** The batch with every pack replaced by its parts, in order. */
  batch: MessageBatch<unknown>;
  /** Settles each pack from its parts' verdicts: call once every part is settled. */
  settle(): void;
}

/** What a part's handler asked for. */
type Verdict = { kind: 'ack' } | { kind: 'retry'; options?: QueueRetryOptions };

/** A pack and its parts' verdicts, in the order of its events. */
interface Pack {
  message: Message<unknown>;
  verdicts: (Verdict | undefined)[];
}

/**
 * A part's id: its pack's id and its place in it (`<message id>#<index>`), stable across the
 * pack's attempts, so the records of one event of a pack stay one record (dead-letter.ts).
 */
export const partId = (messageId: string, index: number): string => `${messageId}#${index}`;

function partsOf(pack: Pack, events: readonly unknown[]): Message<unknown>[] {
  const { message } = pack;
  return events.map((body, index) => ({
    id: partId(message.id, index),
    timestamp: message.timestamp,
    attempts: message.attempts,
    body,
    // The first verdict wins, as the queue's first call on a message does.
    ack: () => {
      pack.verdicts[index] ??= { kind: 'ack' };
    },
    retry: (options?: QueueRetryOptions) => {
      pack.verdicts[index] ??= { kind: 'retry', ...(options ? { options } : {}) };
    },
  }));
}

/** The batch's packs unpacked into parts (see {@link UnpackedBatch}). */
export function unpackBatch(batch: MessageBatch<unknown>): UnpackedBatch {
  const packs: Pack[] = [];
  const messages = batch.messages.flatMap((message) => {
    const packed = v.safeParse(PackedEnvelope, message.body);
    if (!packed.success) return [message];
    const pack: Pack = { message, verdicts: packed.output.events.map(() => undefined) };
    packs.push(pack);
    return partsOf(pack, packed.output.events);
  });
  const unpacked: MessageBatch<unknown> = {
    queue: batch.queue,
    metadata: batch.metadata,
    messages,
    ackAll: () => {
      for (const message of messages) message.ack();
    },
    retryAll: (options?: QueueRetryOptions) => {
      for (const message of messages) message.retry(options);
    },
  };
  return {
    batch: unpacked,
    settle() {
      for (const { message, verdicts } of packs) {
        if (verdicts.every((verdict) => verdict?.kind === 'ack')) {
          message.ack();
          continue;
        }
        // Retried with the longest delay a part asked for. A part left unsettled (a handler's
        // bug) is retried rather than lost: a retry is harmless.
        const delays = verdicts.flatMap((verdict) =>
          verdict?.kind === 'retry' && verdict.options?.delaySeconds !== undefined
            ? [verdict.options.delaySeconds]
            : [],
        );
        message.retry(delays.length > 0 ? { delaySeconds: Math.max(...delays) } : undefined);
      }
    },
  };
}

/**
 * Runs `handle` on the batch with its packs unpacked, then settles the packs. Should `handle`
 * throw, no pack is settled and the queue retries them all, as it does every message not acked.
 */
export async function handleUnpacked(
  batch: MessageBatch<unknown>,
  handle: (batch: MessageBatch<unknown>) => Promise<void>,
): Promise<void> {
  const unpacked = unpackBatch(batch);
  await handle(unpacked.batch);
  unpacked.settle();
}
