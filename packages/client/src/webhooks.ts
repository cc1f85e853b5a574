import {
  DeliveryDetails,
  DeliveryList,
  ErrorEnvelope,
  SubscriptionCreated,
  SubscriptionDeleted,
  SubscriptionDetails,
  SubscriptionList,
  type SubscriptionPatch,
  type SubscriptionRequest,
} from '@triggers/event-schema';
import * as v from 'valibot';
import type { TriggersClientOptions } from './client.ts';
import { TriggersError } from './errors.ts';

/**
 * The subscription and delivery routes (docs/webhooks.md), typed: a separate client so that it
 * stays out of the sending path's retry logic. Answers are checked against the API's schemas;
 * a refusal throws a {@link TriggersError} with the API's error code.
 *
 * @example
 *   const hooks = createWebhooksClient({ baseUrl, apiKey });
 *   const { id, secret } = await hooks.createSubscription({ url: 'https://example.com/hook', event_types: ['order.*'] });
 *   const deliveries = await hooks.listDeliveries(eventId);
 */
export class WebhooksClient {
  readonly #base: string;
  readonly #apiKey: string;
  readonly #fetch: (request: Request) => Promise<Response>;

  constructor(options: Pick<TriggersClientOptions, 'baseUrl' | 'apiKey' | 'fetch'>) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? ((request) => fetch(request));
  }

  /** `POST /subscriptions`: the subscription with its signing secret, shown only now. */
  async createSubscription(input: SubscriptionRequest) {
    return (await this.#call('POST', '/subscriptions', SubscriptionCreated, input)).data;
  }

  async listSubscriptions() {
    return (await this.#call('GET', '/subscriptions', SubscriptionList)).data.subscriptions;
  }

  async getSubscription(id: string) {
    return (await this.#call('GET', `/subscriptions/${encodeURIComponent(id)}`, SubscriptionDetails)).data;
  }

  async updateSubscription(id: string, patch: SubscriptionPatch) {
    return (await this.#call('PATCH', `/subscriptions/${encodeURIComponent(id)}`, SubscriptionDetails, patch))
      .data;
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.#call('DELETE', `/subscriptions/${encodeURIComponent(id)}`, SubscriptionDeleted);
  }

  /** A new secret; the previous one keeps signing for the documented overlap (24 h). */
  async rotateSecret(id: string) {
    const path = `/subscriptions/${encodeURIComponent(id)}/rotate-secret`;
    return (await this.#call('POST', path, SubscriptionCreated)).data;
  }

  /** `GET /events/{event_id}/deliveries`: each delivery with its attempts. */
  async listDeliveries(eventId: string) {
    const path = `/events/${encodeURIComponent(eventId)}/deliveries`;
    return (await this.#call('GET', path, DeliveryList)).data.deliveries;
  }

  /** Retries a failed delivery by hand (a new round of attempts). */
  async retryDelivery(eventId: string, deliveryId: string) {
    const path = `/events/${encodeURIComponent(eventId)}/deliveries/${encodeURIComponent(deliveryId)}/retry`;
    return (await this.#call('POST', path, DeliveryDetails)).data;
  }

  async #call<TSchema extends v.GenericSchema>(
    method: string,
    path: string,
    schema: TSchema,
    body?: unknown,
  ): Promise<v.InferOutput<TSchema>> {
    let response: Response;
    try {
      response = await this.#fetch(
        new Request(`${this.#base}${path}`, {
          method,
          headers: { authorization: `Bearer ${this.#apiKey}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      );
    } catch (err) {
      throw new TriggersError(0, 'NETWORK_ERROR', `${method} ${path} failed: ${String(err)}`, undefined, {
        cause: err,
      });
    }
    const json = await response.json().catch(() => undefined);
    if (!response.ok) {
      const envelope = v.safeParse(ErrorEnvelope, json);
      if (!envelope.success) {
        throw new TriggersError(
          response.status,
          'UNEXPECTED_RESPONSE',
          `The API answered ${response.status}.`,
        );
      }
      const { code, message } = envelope.output.error;
      throw new TriggersError(response.status, code, message, envelope.output);
    }
    const parsed = v.safeParse(schema, json);
    if (parsed.success) return parsed.output;
    throw new TriggersError(
      response.status,
      'UNEXPECTED_RESPONSE',
      `The API answered ${response.status} with an unexpected body: ${v.summarize(parsed.issues)}`,
    );
  }
}

/** Creates a {@link WebhooksClient}. */
export function createWebhooksClient(options: Pick<TriggersClientOptions, 'baseUrl' | 'apiKey' | 'fetch'>) {
  return new WebhooksClient(options);
}
