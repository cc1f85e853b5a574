import { Deliveries } from './api/deliveries.ts';
import { Dlq } from './api/dlq.ts';
import { Events } from './api/events.ts';
import { Inbox } from './api/inbox.ts';
import { Stats } from './api/stats.ts';
import { Subscriptions } from './api/subscriptions.ts';
import { Transport, type TransportOptions } from './transport.ts';

export interface TriggersClientOptions extends TransportOptions {
  /** Makes the idempotency key of an event sent without one. `crypto.randomUUID` by default. */
  newIdempotencyKey?: () => string;
}

/**
 * A typed client for the Triggers ingest API, one property per resource, all over one shared
 * transport (retries, errors, auth, cancellation). Runs wherever `fetch` does.
 */
export class TriggersClient {
  /** `/events`: send one, many, or a CloudEvent; read one back. */
  readonly events: Events;
  /** `/inbox`: page through events, acknowledge one, queue a failed one again. */
  readonly inbox: Inbox;
  /** `/dlq`: queue failed events again in bulk. */
  readonly dlq: Dlq;
  /** `/subscriptions`: webhook URLs and their signing secrets. */
  readonly subscriptions: Subscriptions;
  /** `/events/{event_id}/deliveries`: an event's webhook deliveries and their attempts. */
  readonly deliveries: Deliveries;
  /** `/stats`: counts over the last hour and day. */
  readonly stats: Stats;

  constructor(options: TriggersClientOptions) {
    const transport = new Transport(options);
    this.events = new Events(transport, options.newIdempotencyKey ?? (() => crypto.randomUUID()));
    this.inbox = new Inbox(transport);
    this.dlq = new Dlq(transport);
    this.subscriptions = new Subscriptions(transport);
    this.deliveries = new Deliveries(transport);
    this.stats = new Stats(transport);
  }
}

/** Creates a {@link TriggersClient}. */
export function createClient(options: TriggersClientOptions): TriggersClient {
  return new TriggersClient(options);
}
