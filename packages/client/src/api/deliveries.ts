import type { Delivery } from '@triggers/event-schema';
import { DeliveryDetails, DeliveryList } from '@triggers/event-schema';
import { type Call, once, path, type RequestOptions, Resource, safe } from '../transport.ts';

/**
 * `/events/{event_id}/deliveries`: an event's webhook deliveries (one per subscription it
 * matched) with every attempt, and a new round of attempts for a failed one.
 */
export class Deliveries extends Resource {
  /** `GET /events/{event_id}/deliveries`: each webhook delivery of the event with its attempts. */
  async list(eventId: string, options: RequestOptions = {}): Promise<Delivery[]> {
    const call: Call = { method: 'GET', path: path`/events/${eventId}/deliveries`, ...safe(options) };
    return (await this.transport.request(call, DeliveryList)).data.deliveries;
  }

  /**
   * `POST /events/{event_id}/deliveries/{delivery_id}/retry`: a failed delivery gets a new round
   * of attempts. 409 `INVALID_STATE` unless it is failed. Not sent again after a failure in transit.
   */
  async retry(eventId: string, deliveryId: string, options: RequestOptions = {}): Promise<Delivery> {
    const call: Call = {
      method: 'POST',
      path: path`/events/${eventId}/deliveries/${deliveryId}/retry`,
      ...once(options),
    };
    return (await this.transport.request(call, DeliveryDetails)).data;
  }
}
