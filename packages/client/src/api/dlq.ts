import type { ReplayRequest } from '@triggers/event-schema';
import { ReplayResult } from '@triggers/event-schema';
import type * as v from 'valibot';
import { type Call, once, type RequestOptions, Resource } from '../transport.ts';

/** What `dlq.replay` takes: the body of `POST /dlq/replay` (every field optional). */
export type ReplayOptions = v.InferInput<typeof ReplayRequest>;

/** What `dlq.replay` resolves to: how many failed events were queued again, and which. */
export type Replayed = ReplayResult['data'];

/** `/dlq`: this key's dead letters (its failed events) queued again in bulk. */
export class Dlq extends Resource {
  /**
   * `POST /dlq/replay`: queues this key's failed, unacknowledged events again, oldest first,
   * within `from`/`to`, at most `limit` (100 by default). Not sent again after a failure in
   * transit, as a second replay may take other events.
   */
  async replay(replay: ReplayOptions = {}, options: RequestOptions = {}): Promise<Replayed> {
    const call: Call = {
      method: 'POST',
      path: '/dlq/replay',
      body: JSON.stringify(replay),
      ...once(options),
    };
    return (await this.transport.request(call, ReplayResult)).data;
  }
}
