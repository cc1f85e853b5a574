/**
 * `pnpm store:migrate`, `pnpm tenant:erase`, `pnpm tenants:list` and `pnpm events:list` against both real Workers under
 * `wrangler dev` (startSystem): the old shared store seeded in the real local D1, moved by the
 * ingest Worker's operator routes into the consumer's TenantStore objects, read back from their
 * SQLite files (tenants.mjs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type System, startSystem } from '../../src/system.mjs';
import { runCommand } from './commands.ts';

let system: System<never>;
const AT = '2026-12-01T12:00:00.000Z';

/** An event row of the old store, as the consumer wrote them before the tenant stores. */
const event = (tenant: string, n: number) =>
  `INSERT INTO events (event_id, api_key_id, payload, status, attempts, received_at, created_at, updated_at, correlation_id)
   VALUES ('evt_${tenant}_${n}', '${tenant}', '{"n":${n}}', 'delivered', 1, '${AT}', '${AT}', '${AT}', 'cor_${n}')`;

beforeAll(async () => {
  system = await startSystem({ keys: {} });
  system.query([
    ...[1, 2, 3].map((n) => event('key_alpha', n)),
    ...[1, 2].map((n) => event('key_beta', n)),
    `INSERT INTO subscriptions (api_key_id, id, url, secret, created_at, updated_at)
     VALUES ('key_alpha', 'sub_1', 'https://example.com/hook', 'whsec_AAAA', '${AT}', '${AT}')`,
    `INSERT INTO deliveries (api_key_id, id, event_id, subscription_id, url, status, attempts, created_at, updated_at)
     VALUES ('key_alpha', 'msg_1', 'evt_key_alpha_1', 'sub_1', 'https://example.com/hook', 'succeeded', 1, '${AT}', '${AT}')`,
    `INSERT INTO delivery_attempts (api_key_id, delivery_id, round, attempt, attempted_at, http_status, latency_ms)
     VALUES ('key_alpha', 'msg_1', 1, 1, '${AT}', 200, 9)`,
  ]);
});

afterAll(async () => {
  await system?.stop();
});

const operator = () => ({ OPERATOR_TOKEN: system.operatorToken });
const count = (tenant: string, table: string) =>
  Number(system.tenantQuery(tenant, `SELECT count(*) AS n FROM ${table}`)[0]?.n ?? 0);

describe('the operator commands against both Workers under wrangler dev', () => {
  it('pnpm store:migrate moves the old D1 store into one store per tenant and verifies the counts', () => {
    const result = runCommand('store-migrate', ['--url', system.url, '--limit', '2'], operator());
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'Written now:   5 events, 1 subscriptions, 1 deliveries, 1 delivery_attempts',
    );
    expect(result.stdout).toContain('Verified 2 tenants.');
    expect(result.stdout).toContain('Every tenant store holds at least what D1 holds.');
    expect([...system.tenantObjects().keys()].sort()).toEqual(['key_alpha', 'key_beta']);
    expect(
      system.tenantQuery('key_alpha', 'SELECT event_id FROM events ORDER BY event_id').map((r) => r.event_id),
    ).toEqual(['evt_key_alpha_1', 'evt_key_alpha_2', 'evt_key_alpha_3']);
    expect(count('key_alpha', 'delivery_attempts')).toBe(1);
    expect(count('key_beta', 'events')).toBe(2);
    expect(count('key_beta', 'subscriptions')).toBe(0);
  });

  it('a second pnpm store:migrate reads everything again and writes nothing', () => {
    const result = runCommand('store-migrate', ['--url', system.url], operator());
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'Read from D1:  5 events, 1 subscriptions, 1 deliveries, 1 delivery_attempts',
    );
    expect(result.stdout).toContain(
      'Written now:   0 events, 0 subscriptions, 0 deliveries, 0 delivery_attempts (nothing left to move)',
    );
  });

  it('pnpm events:list reads the events from the tenant stores', () => {
    const result = runCommand('events', ['--key', 'key_alpha', '--persist-to', system.persistTo]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('Events by status (tenant stores: 2):');
    expect(result.stdout).toContain('Newest 3 events:');
    expect(result.stdout).toContain('evt_key_alpha_3');
    expect(result.stdout).not.toContain('evt_key_beta_1');
  });

  it("pnpm tenants:list lists the tenant register the stores reported to while they were written, each store's state, with the totals", () => {
    const result = runCommand('tenants-list', ['--url', system.url, '--limit', '1'], operator());
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^Tenants: 2; bytes: \d+; events: [1-5] \(as each store last reported\)\.$/m,
    );
    expect(result.stdout).toMatch(
      /^state: warning from 8000000000 bytes, full \(new events refused\) from 9000000000\.$/m,
    );
    expect(result.stdout).toMatch(
      /^api_key_id\s+state\s+bytes\s+events\s+stores\s+counted_at\s+updated_at$/m,
    );
    expect(result.stdout).toMatch(/^key_(alpha|beta)\s+ok\s+\d+\s+\d+\s+1\s+\S+Z\s+\S+Z$/m);
    const next = /--cursor (\S+)$/m.exec(result.stdout)?.[1] ?? '';
    const rest = runCommand('tenants-list', ['--url', system.url, '--cursor', next], operator());
    expect(rest.status, rest.stderr).toBe(0);
    expect(rest.stdout).not.toContain('More:');
    const listed = [result.stdout, rest.stdout].flatMap((out) => out.match(/^key_\w+/gm) ?? []);
    expect(listed.sort()).toEqual(['key_alpha', 'key_beta']);
  });

  it('stops with exit 1 when a tenant store refuses writes (a trigger set by tenantInsertFault), and a rerun moves the rest', () => {
    const endFault = system.tenantInsertFault('key_beta', 'store_fault', {
      message: 'injected fault',
      on: AT,
    });
    system.query([event('key_beta', 3)]);
    const failed = runCommand('store-migrate', ['--url', system.url], operator());
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('POST /operator/migrate: 500');
    expect(count('key_beta', 'events')).toBe(2);
    endFault();
    const rerun = runCommand('store-migrate', ['--url', system.url], operator());
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('Written now:   1 events, 0 subscriptions');
    expect(count('key_beta', 'events')).toBe(3);
  });

  it('pnpm tenant:erase empties that tenant’s store, its old D1 rows and its row of the tenant register, prints what they held, and leaves the others alone', () => {
    const result = runCommand('tenant-erase', ['key_alpha', '--url', system.url], operator());
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'Erased the store of key_alpha; it held 3 events, 1 subscriptions, 1 deliveries.',
    );
    expect(result.stdout).toContain(
      'Deleted its rows from the old D1 tables: 3 events, 1 subscriptions, 1 deliveries, 1 delivery_attempts.',
    );
    expect(result.stdout).toContain('Removed it from the tenant register (pnpm tenants:list).');
    const listed = runCommand('tenants-list', ['--url', system.url], operator());
    expect(listed.stdout).toMatch(/^Tenants: 1;/);
    expect(listed.stdout).not.toContain('key_alpha');
    expect(count('key_alpha', 'events')).toBe(0);
    expect(count('key_alpha', 'subscriptions')).toBe(0);
    expect(count('key_beta', 'events')).toBe(3);
    // Nothing of it is left in D1 to bring back.
    expect(runCommand('store-migrate', ['--url', system.url], operator()).status).toBe(0);
    expect(count('key_alpha', 'events')).toBe(0);
  });

  it('refuses a wrong operator token (exit 1, the 401 said) and a missing id (exit 2)', () => {
    const wrong = runCommand('tenant-erase', ['key_beta', '--url', system.url], {
      OPERATOR_TOKEN: 'op_wrong_0000000000000000000000000000000000',
    });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('401');
    expect(count('key_beta', 'events')).toBe(3);
    const missing = runCommand('tenant-erase', [], operator());
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('usage:');
  });
});
