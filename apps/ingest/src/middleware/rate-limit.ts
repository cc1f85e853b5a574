import type { AuthedRequest, IngestRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { charge, chargeRequest, type RouteBudget } from '../lib/rate-limits.ts';

/**
 * The limits as middleware, run before a handler (the limits themselves and their charging:
 * lib/rate-limits.ts). The request's budget comes first, before the body is read, so malformed
 * requests count and a refused body is never examined.
 */
export const withRateLimit = (request: AuthedRequest, env: IngestEnv): Promise<void> =>
  chargeRequest(request, env);

/** The route's own, lower budget per key (`GET /inbox` pages, replays and retries), after the request budget. */
export const withBudget =
  (budget: RouteBudget) =>
  (request: AuthedRequest, env: IngestEnv): Promise<void> =>
    charge(env, request.log, budget, request.apiKey.id);

/**
 * The client's address as Cloudflare reports it (`CF-Connecting-IP`, set on every request at the
 * edge); locally, where nothing sets it, every request shares one counter.
 */
export const clientAddress = (request: IngestRequest): string =>
  request.headers.get('cf-connecting-ip') ?? 'unknown';

/**
 * Charges a key lookup that would reach AUTH_KV to the client's address, so requests with made-up
 * keys cannot drive the key store at will: one address gets `lookups_per_address` (LIMITS) per
 * period, while a tenant whose key the isolate has cached never pays it.
 */
export const chargeLookup = (request: IngestRequest, env: IngestEnv): Promise<void> =>
  charge(env, request.log, 'lookups_per_address', clientAddress(request));
