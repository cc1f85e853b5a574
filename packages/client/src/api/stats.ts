import { EventStats } from '@triggers/event-schema';
import { type Call, type RequestOptions, Resource, safe } from '../transport.ts';

/** What `stats.get` resolves to: the key's counts over the last hour and the last day. */
export type EventStatsData = EventStats['data'];

/** `/stats`: how many of this key's events arrived lately, by the status each is in now. */
export class Stats extends Resource {
  /** `GET /stats`: 60 one-minute and 24 one-hour buckets, and when the latest event was stored. */
  async get(options: RequestOptions = {}): Promise<EventStatsData> {
    const call: Call = { method: 'GET', path: '/stats', ...safe(options) };
    return (await this.transport.request(call, EventStats)).data;
  }
}
