import { API_KEY_ID } from '@triggers/api-keys';
import {
  deleteOldTenantRows,
  deleteTenantSize,
  type ImportedCounts,
  type ImportRow,
  type ImportRows,
  listTenantSizes,
  type OldStoreCounts,
  oldStoreTenants,
  readOldEventPage,
  readOldSubscriptionPage,
  tenantStore,
} from '@triggers/event-store';
import { Router } from 'itty-router';
import * as v from 'valibot';
import type { HandlerArgs, IngestRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { readOptionalJsonBody } from '../lib/body.ts';
import { decodeCursorFields, encodeCursorFields } from '../lib/cursor.ts';
import { ApiError } from '../lib/errors.ts';
import { isOperator } from '../lib/operator.ts';
import { limitParameter, once, queryOf, unknownParameter } from '../lib/query.ts';
import { ok } from '../lib/responses.ts';
import { validate } from '../lib/validate.ts';
import { methodNotAllowed } from './fallback.ts';

/**
 * The operator's routes: moving the old shared D1 store into the tenant stores
 * (`pnpm store:migrate`) and erasing a tenant's store (`pnpm tenant:erase`). They need the
 * operator token (`Authorization: Bearer <OPERATOR_TOKEN>`, checked as GET /health checks it) and
 * answer 401 to anyone else, a tenant's API key included. They are not part of the public API:
 * not in ROUTES, so neither in GET /openapi.json nor rate limited per key; docs/deploying.md and
 * docs/operations.md describe them.
 *
 * - `POST /operator/migrate` `{cursor?, limit?}`: one page of the old store into the tenant
 *   stores; answers `{next_cursor, read, moved}` (`next_cursor` null once all is moved). Events go
 *   in (api_key_id, event_id) order with their deliveries and attempts, then subscriptions in
 *   (api_key_id, id) order. Rows are imported with INSERT OR IGNORE: a page moved twice writes
 *   nothing the second time, so the migration resumes from any cursor and can be run again.
 * - `GET /operator/migrate/verify?after=&limit=`: per tenant of the old store, its counts there and
 *   in its tenant store; a tenant whose store holds fewer rows of a table is listed in
 *   `mismatches`. Pages through the tenants (`next_after`).
 * - `GET /operator/tenants?limit=&cursor=`: the tenant register (D1's `tenant_stores`, as the
 *   stores last reported), largest store first, a page at a time, with the totals of all tenants
 *   and each store's state against STORE_WARN_BYTES and STORE_FULL_BYTES.
 * - `POST /operator/tenants/{id}/erase`: erases the tenant's store whole, its rows still in the
 *   old D1 tables and its row of the register; answers what each held.
 */

/** Rows of events read per page unless the request says: a page is one D1 read and one import per tenant. */
export const MIGRATE_PAGE = 500;
/** At most this many events per page, and at most {@link MIGRATE_PAGE_BYTES} of their bodies. */
export const MAX_MIGRATE_PAGE = 1000;
/** Payload, metadata and CloudEvent text per page: keeps one page's reads and RPCs well below their limits. */
export const MIGRATE_PAGE_BYTES = 4_000_000;
/** Tenants verified per `verify` call: each is one call to its store. */
const VERIFY_PAGE = 200;

const MigrateRequest = v.strictObject({
  cursor: v.optional(v.string()),
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_MIGRATE_PAGE))),
});

/** Where a migration stands: the table it is reading and the last key it moved (null: none yet). */
const Position = v.object({
  table: v.picklist(['events', 'subscriptions']),
  after: v.nullable(v.tuple([v.string(), v.string()])),
});
type Position = v.InferOutput<typeof Position>;

function decodeCursor(cursor: string | undefined): Position {
  if (cursor === undefined) return { table: 'events', after: null };
  return decodeCursorFields(cursor, Position, 'cursor');
}

/** Tenants per page of `GET /operator/tenants` unless `limit` says, and at most. */
export const TENANTS_PAGE = 100;
export const MAX_TENANTS_PAGE = 1000;

const TenantsQuery = v.strictObject(
  { limit: v.optional(limitParameter(MAX_TENANTS_PAGE)), cursor: v.optional(once(v.string())) },
  unknownParameter,
);
/** A page's position: the (bytes, api_key_id) of the last tenant listed. */
const TenantsCursor = v.tuple([v.pipe(v.number(), v.integer(), v.minValue(0)), v.string()]);

const TenantId = v.pipe(v.string(), v.regex(API_KEY_ID, 'must be an API key id'));

const noCounts = (): ImportedCounts => ({ events: 0, subscriptions: 0, deliveries: 0, delivery_attempts: 0 });

function add(into: ImportedCounts, counts: ImportedCounts): void {
  for (const table of Object.keys(into) as (keyof ImportedCounts)[]) into[table] += counts[table];
}

/** Groups each table's rows by tenant (their `api_key_id`). */
function byTenant(rows: ImportRows): Map<string, ImportRows> {
  const tenants = new Map<string, ImportRows>();
  for (const [table, list] of Object.entries(rows) as [keyof ImportRows, ImportRow[]][]) {
    for (const row of list) {
      const tenant = String(row.api_key_id);
      const group = tenants.get(tenant) ?? {};
      group[table] = [...(group[table] ?? []), row];
      tenants.set(tenant, group);
    }
  }
  return tenants;
}

/** Reads one page of the old store and imports it into the tenant stores. */
async function migrate(request: IngestRequest, env: IngestEnv): Promise<Response> {
  const input = validate(MigrateRequest, await readOptionalJsonBody(request, 4_096));
  const limit = input.limit ?? MIGRATE_PAGE;
  const position = decodeCursor(input.cursor);
  let rows: ImportRows;
  let next: Position | null;
  if (position.table === 'events') {
    const page = await readOldEventPage(env.DB, position.after ?? ['', ''], limit, MIGRATE_PAGE_BYTES);
    rows = page.rows;
    next = page.done
      ? { table: 'subscriptions', after: null }
      : { table: 'events', after: page.last ?? position.after };
  } else {
    const results = await readOldSubscriptionPage(env.DB, position.after ?? ['', ''], limit);
    rows = { subscriptions: results };
    const last = results.at(-1);
    next =
      results.length < limit || last === undefined
        ? null
        : { table: 'subscriptions', after: [String(last.api_key_id), String(last.id)] };
  }
  const read = noCounts();
  for (const [table, list] of Object.entries(rows) as [keyof ImportRows, ImportRow[]][])
    read[table] += list.length;
  const moved = noCounts();
  const tenants = byTenant(rows);
  for (const [tenant, group] of tenants) add(moved, await tenantStore(env.TENANTS, tenant).importRows(group));
  request.log.log('info', 'store migrated a page', { tenants: tenants.size, ...moved });
  return ok({ next_cursor: next === null ? null : encodeCursorFields(next), read, moved });
}

/** Per tenant of the old store, its counts there and in its tenant store. */
async function verify(request: IngestRequest, env: IngestEnv): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const after = query.get('after') ?? '';
  const d1 = await oldStoreTenants(env.DB, after, VERIFY_PAGE);
  const totals = {
    d1: { events: 0, subscriptions: 0, deliveries: 0 },
    store: { events: 0, subscriptions: 0, deliveries: 0 },
  };
  const mismatches: { tenant: string; d1: OldStoreCounts; store: OldStoreCounts }[] = [];
  for (const [tenant, old] of d1) {
    const store = await tenantStore(env.TENANTS, tenant).storeCounts();
    const kinds = Object.keys(old) as (keyof OldStoreCounts)[];
    for (const kind of kinds) {
      totals.d1[kind] += old[kind];
      totals.store[kind] += store[kind];
    }
    if (kinds.some((kind) => store[kind] < old[kind])) mismatches.push({ tenant, d1: old, store });
  }
  const last = [...d1.keys()].at(-1);
  return ok({
    tenants: d1.size,
    ...totals,
    mismatches,
    next_after: d1.size === VERIFY_PAGE && last ? last : null,
  });
}

/** A page of the tenant register, largest stores first, with the register's totals. */
async function tenants(request: IngestRequest, env: IngestEnv): Promise<Response> {
  const query = validate(TenantsQuery, queryOf(request), 'query');
  const after =
    query.cursor === undefined ? undefined : decodeCursorFields(query.cursor, TenantsCursor, 'cursor');
  const page = await listTenantSizes(env.DB, { after, limit: query.limit ?? TENANTS_PAGE });
  const warn = Number(env.STORE_WARN_BYTES);
  const full = Number(env.STORE_FULL_BYTES);
  return ok({
    // Each tenant's stores added up, as they last reported; the store receiving its events decides:
    // `full` is refused new events (STORE_FULL), `warning` past STORE_WARN_BYTES. The ingest
    // Worker decides from that store's size now, not from this row.
    tenants: page.tenants.map((t) => ({
      ...t,
      state: t.receiving_bytes >= full ? 'full' : t.receiving_bytes >= warn ? 'warning' : 'ok',
    })),
    thresholds: { warn_bytes: warn, full_bytes: full },
    totals: page.totals,
    next_cursor: page.next === null ? null : encodeCursorFields(page.next),
  });
}

/**
 * Erases one tenant's store whole, the tenant's rows still in the old D1 tables, which a later
 * migration would otherwise bring back, and its row of the tenant register. A store written again
 * afterwards (a key not revoked) reports anew.
 */
async function erase(request: IngestRequest, env: IngestEnv): Promise<Response> {
  const tenant = validate(TenantId, request.params.id, 'id');
  const erased = await tenantStore(env.TENANTS, tenant).erase();
  const fromD1 = await deleteOldTenantRows(env.DB, tenant);
  const registered = await deleteTenantSize(env.DB, tenant);
  request.log.log('warn', 'tenant store erased', { tenant, ...erased });
  return ok({ tenant, erased, erased_from_d1: fromD1, erased_from_register: registered });
}

/** 401 for anyone without the operator token, before anything else is read. */
async function withOperator(request: IngestRequest, env: IngestEnv): Promise<void> {
  if (!(await isOperator(request, env)))
    throw new ApiError(
      'UNAUTHORIZED',
      'This route needs the operator token (Authorization: Bearer <OPERATOR_TOKEN>).',
    );
}

const OPERATOR_ROUTES = [
  ['POST', '/operator/migrate', migrate],
  ['GET', '/operator/migrate/verify', verify],
  ['GET', '/operator/tenants', tenants],
  ['POST', '/operator/tenants/:id/erase', erase],
] as const;

/**
 * The operator routes, mounted by the API's router under `/operator/*` (src/router.ts); paths it
 * does not have fall through to the API's 404.
 */
export const operatorRouter = Router<IngestRequest, HandlerArgs>({ base: '' });
for (const [method, path, handler] of OPERATOR_ROUTES) {
  operatorRouter[method === 'GET' ? 'get' : 'post'](path, withOperator, handler);
  operatorRouter.all(path, methodNotAllowed(method));
}
