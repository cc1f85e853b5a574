import type {
  Subscription,
  SubscriptionPatch,
  SubscriptionRequest,
  SubscriptionTestRequest,
  SubscriptionTestSample,
  SubscriptionWithSecret,
} from '@triggers/event-schema';
import {
  type RecoverRequest,
  RecoverResult,
  SubscriptionCreated,
  SubscriptionDeleted,
  SubscriptionDetails,
  SubscriptionList,
  SubscriptionTestResult,
} from '@triggers/event-schema';
import type * as v from 'valibot';
import { type Call, once, path, type RequestOptions, Resource, safe } from '../transport.ts';

/** What `subscriptions.test` and `testStored` resolve to: each event tried, and whether it matched. */
export type SubscriptionTested = SubscriptionTestResult['data'];

/** What `subscriptions.recover` takes: the body of `POST /subscriptions/{id}/recover` (`since` required). */
export type RecoverOptions = v.InferInput<typeof RecoverRequest>;

/** What `subscriptions.recover` resolves to: the deliveries started again, and how many failed ones remain. */
export type Recovered = RecoverResult['data'];

/** `/subscriptions`: the webhook URLs this key's events are delivered to, and their secrets. */
export class Subscriptions extends Resource {
  /**
   * `POST /subscriptions`: subscribes a webhook URL to this key's events (`event_types` absent:
   * every event; `filter`: only the events it matches, e.g. `{ 'payload.total': { $gte: 100 } }`;
   * an unknown operator or path is a 400 `VALIDATION_ERROR` at its path; `transform`: a JSONata
   * expression whose result is the body delivered). Resolves to the subscription with its signing `secret` (`whsec_…`), shown only
   * now. Not sent again after a failure in transit (a second call would create a second one).
   */
  async create(
    subscription: SubscriptionRequest,
    options: RequestOptions = {},
  ): Promise<SubscriptionWithSecret> {
    const body = JSON.stringify(subscription);
    const call: Call = { method: 'POST', path: '/subscriptions', body, ...once(options) };
    return (await this.transport.request(call, SubscriptionCreated)).data;
  }

  /** `GET /subscriptions`: this key's subscriptions, oldest first, without their secrets. */
  async list(options: RequestOptions = {}): Promise<Subscription[]> {
    const call: Call = { method: 'GET', path: '/subscriptions', ...safe(options) };
    return (await this.transport.request(call, SubscriptionList)).data.subscriptions;
  }

  /** `GET /subscriptions/{id}`: whether it is enabled, and why not. 404 `NOT_FOUND` for another key's. */
  async get(subscriptionId: string, options: RequestOptions = {}): Promise<Subscription> {
    const call: Call = { method: 'GET', path: path`/subscriptions/${subscriptionId}`, ...safe(options) };
    return (await this.transport.request(call, SubscriptionDetails)).data;
  }

  /**
   * `PATCH /subscriptions/{id}`: a new url, event_types, filter (null: none), transform (null:
   * none) or enabled. The same
   * patch twice changes nothing more.
   */
  async update(
    subscriptionId: string,
    patch: SubscriptionPatch,
    options: RequestOptions = {},
  ): Promise<Subscription> {
    const body = JSON.stringify(patch);
    const call: Call = {
      method: 'PATCH',
      path: path`/subscriptions/${subscriptionId}`,
      body,
      ...safe(options),
    };
    return (await this.transport.request(call, SubscriptionDetails)).data;
  }

  /** `DELETE /subscriptions/{id}`: no more deliveries; its deliveries log stays. */
  async delete(subscriptionId: string, options: RequestOptions = {}): Promise<void> {
    const call: Call = { method: 'DELETE', path: path`/subscriptions/${subscriptionId}`, ...once(options) };
    await this.transport.request(call, SubscriptionDeleted);
  }

  /**
   * `POST /subscriptions/{id}/rotate-secret`: a new signing secret, shown only now; the previous
   * one signs too for the documented overlap (24 h). Not sent again after a failure in transit.
   */
  async rotateSecret(subscriptionId: string, options: RequestOptions = {}): Promise<SubscriptionWithSecret> {
    const call: Call = {
      method: 'POST',
      path: path`/subscriptions/${subscriptionId}/rotate-secret`,
      ...once(options),
    };
    return (await this.transport.request(call, SubscriptionCreated)).data;
  }

  /**
   * `POST /subscriptions/test`: tries `event_types`, `filter` and `transform` (each optional) on
   * `events`, or on this key's latest `limit` stored events (10 by default, at most 50), and
   * resolves to whether each would be delivered and the body it would carry. Nothing is stored
   * or sent, so it is sent again after a failure in transit. A bad filter or transform is a 400
   * `VALIDATION_ERROR` at its path.
   */
  async test(trial: SubscriptionTestRequest, options: RequestOptions = {}): Promise<SubscriptionTested> {
    const call: Call = {
      method: 'POST',
      path: '/subscriptions/test',
      body: JSON.stringify(trial),
      ...safe(options),
    };
    return (await this.transport.request(call, SubscriptionTestResult)).data;
  }

  /** `POST /subscriptions/{id}/test`: {@link test} with the subscription's own rules. */
  async testStored(
    subscriptionId: string,
    sample: SubscriptionTestSample = {},
    options: RequestOptions = {},
  ): Promise<SubscriptionTested> {
    const call: Call = {
      method: 'POST',
      path: path`/subscriptions/${subscriptionId}/test`,
      body: JSON.stringify(sample),
      ...safe(options),
    };
    return (await this.transport.request(call, SubscriptionTestResult)).data;
  }

  /**
   * `POST /subscriptions/{id}/recover`: starts a new round for every failed delivery of the
   * subscription created in `[since, until)`, oldest first, at most `limit` (100 by default);
   * `remaining` says how many are left for another call. 409 `INVALID_STATE` while it is
   * disabled. Not sent again after a failure in transit, as a second call may take others.
   */
  async recover(
    subscriptionId: string,
    recovery: RecoverOptions,
    options: RequestOptions = {},
  ): Promise<Recovered> {
    const call: Call = {
      method: 'POST',
      path: path`/subscriptions/${subscriptionId}/recover`,
      body: JSON.stringify(recovery),
      ...once(options),
    };
    return (await this.transport.request(call, RecoverResult)).data;
  }
}
