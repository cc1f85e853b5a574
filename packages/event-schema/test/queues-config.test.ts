import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import {
  EVENT_DLQ,
  EVENT_DLQ_BINDING,
  EVENT_DLQ_CONSUMER,
  EVENT_QUEUE,
  EVENT_QUEUE_BINDING,
  EVENT_QUEUE_CONSUMER,
} from '../src/index.ts';

/** The parts of a wrangler.toml this test reads. */
interface WranglerQueues {
  d1_databases?: { binding: string; database_name: string; database_id: string; migrations_dir?: string }[];
  queues?: {
    producers?: { binding: string; queue: string }[];
    consumers?: {
      queue: string;
      max_batch_size?: number;
      max_batch_timeout?: number;
      max_retries?: number;
      dead_letter_queue?: string;
    }[];
  };
}

const config = (app: string) =>
  parse(
    readFileSync(new URL(`../../../apps/${app}/wrangler.toml`, import.meta.url), 'utf8'),
  ) as WranglerQueues;

const consumerOf = (queue: string) => config('consumer').queues?.consumers?.find((c) => c.queue === queue);

/** A consumer's settings from queues.ts, spelled as in wrangler.toml. */
function asToml(settings: {
  queue: string;
  maxBatchSize: number;
  maxBatchTimeout: number;
  maxRetries: number;
  deadLetterQueue?: string;
}) {
  return {
    queue: settings.queue,
    max_batch_size: settings.maxBatchSize,
    max_batch_timeout: settings.maxBatchTimeout,
    max_retries: settings.maxRetries,
    ...(settings.deadLetterQueue === undefined ? {} : { dead_letter_queue: settings.deadLetterQueue }),
  };
}

describe('the apps’ wrangler.toml files agree with queues.ts', () => {
  it('ingest produces to event-queue through EVENT_QUEUE and consumes nothing', () => {
    const { queues } = config('ingest');
    expect(queues?.producers).toEqual([{ binding: EVENT_QUEUE_BINDING, queue: EVENT_QUEUE }]);
    expect(queues?.consumers).toBeUndefined();
  });

  it('consumer reads event-queue with the batch size, timeout, retries and DLQ of EVENT_QUEUE_CONSUMER', () => {
    expect(consumerOf(EVENT_QUEUE)).toEqual(asToml(EVENT_QUEUE_CONSUMER));
  });

  it('consumer reads event-dlq as EVENT_DLQ_CONSUMER says, with no queue behind it', () => {
    expect(consumerOf(EVENT_DLQ)).toEqual(asToml(EVENT_DLQ_CONSUMER));
  });

  it('consumer consumes exactly the two queues and produces only to event-dlq through EVENT_DLQ', () => {
    const { queues } = config('consumer');
    expect(queues?.consumers?.map((c) => c.queue).sort()).toEqual([EVENT_DLQ, EVENT_QUEUE].sort());
    expect(queues?.producers).toEqual([{ binding: EVENT_DLQ_BINDING, queue: EVENT_DLQ }]);
  });
});

describe('the apps’ wrangler.toml files share one event store', () => {
  it('ingest and consumer bind the same D1 database as DB, migrated from the event store’s migrations', () => {
    const ingest = config('ingest').d1_databases;
    const consumer = config('consumer').d1_databases;
    expect(consumer).toEqual([
      expect.objectContaining({ binding: 'DB', migrations_dir: '../../packages/event-store/migrations' }),
    ]);
    expect(ingest).toEqual(consumer);
  });
});
