import {
  EVENT_QUEUE_BINDINGS,
  EVENT_QUEUES,
  type EventQueueBinding,
  type EventQueueMessage,
} from '@triggers/event-schema';
import type { IngestEnv } from '../env.ts';

/** What the shards are read from: the var, and the bindings as they may be, present or not. */
export type EventQueuesEnv = Pick<IngestEnv, 'EVENT_QUEUE_SHARDS'> &
  Partial<Record<EventQueueBinding, Queue<EventQueueMessage>>>;

/** What is wrong with `EVENT_QUEUE_SHARDS` or the bindings it needs. */
export class EventQueuesError extends Error {
  override name = 'EventQueuesError';
}

/**
 * The queues events are sent to: the first `EVENT_QUEUE_SHARDS` shards of `event-queue`
 * (`EVENT_QUEUE`, `EVENT_QUEUE_1` …; 1 when the var is absent). Throws {@link EventQueuesError}
 * naming the var or the missing binding: read as the module loads (index.ts), a deploy whose
 * setting outruns its bindings fails at startup rather than losing the events of a shard.
 */
export function eventQueues(env: EventQueuesEnv): Queue<EventQueueMessage>[] {
  const value = env.EVENT_QUEUE_SHARDS;
  const shards = value === undefined ? 1 : typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isInteger(shards) || shards < 1 || shards > EVENT_QUEUE_BINDINGS.length) {
    throw new EventQueuesError(
      `EVENT_QUEUE_SHARDS must be a whole number from 1 to ${EVENT_QUEUE_BINDINGS.length} ` +
        `(got ${JSON.stringify(value)})`,
    );
  }
  return EVENT_QUEUE_BINDINGS.slice(0, shards).map((binding, shard) => {
    const queue = env[binding];
    if (typeof queue?.send !== 'function' || typeof queue.sendBatch !== 'function') {
      throw new EventQueuesError(
        `EVENT_QUEUE_SHARDS = ${shards} needs the queue producer binding ${binding} (queue ` +
          `${EVENT_QUEUES[shard]}), which this Worker does not have`,
      );
    }
    return queue;
  });
}

/**
 * The shard of `eventId` among `shards`: FNV-1a (32 bits) of its text, modulo `shards`. Any
 * spread-out id spreads evenly, and the same id always lands on the same shard.
 */
export function shardOf(eventId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < eventId.length; i++) {
    hash ^= eventId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/**
 * The queue a send whose first event is `eventId` goes to: its shard ({@link shardOf}) of
 * {@link eventQueues}. A send is never split over shards: a single event, or one `sendBatch()`
 * call of a batch request or a replay.
 */
export function eventQueueFor(env: EventQueuesEnv, eventId: string): Queue<EventQueueMessage> {
  const queues = eventQueues(env);
  const queue = queues[shardOf(eventId, queues.length)];
  if (queue === undefined) throw new EventQueuesError('no event queue'); // unreachable: 1 or more
  return queue;
}
