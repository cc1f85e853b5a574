/**
 * A key's whole life against the running system, as a user lives it: `pnpm key:create` into the
 * local state a `wrangler dev` serves, requests with the key, `pnpm key:revoke`, and the Worker
 * refusing the key once its cached lookup expires. `pnpm events:list` then shows what the key sent.
 */
import { type System, startSystem } from '@triggers/tooling/system';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKey, runCommand } from './commands.ts';

/**
 * How long the ingest Worker trusts a cached key lookup: KEY_CACHE_TTL_MS in
 * apps/ingest/src/lib/key-cache.ts. A constant of the Worker, not configuration, so this test waits
 * it out (about 30 s); if it ever grows, the wait below fails at its deadline and says so.
 */
const KEY_CACHE_TTL_MS = 30_000;

let system: System;
beforeAll(async () => {
  system = await startSystem();
}, 180_000);
afterAll(async () => {
  await system?.stop();
});

function post(key: string): Promise<Response> {
  return fetch(`${system.url}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ payload: { type: 'key.lifecycle' } }),
  });
}

describe('an API key from pnpm key:create, against the running Worker', () => {
  it('is accepted (200), and once revoked is refused (401) when its cache entry expires', async () => {
    const { key, id } = createKey(system.persistTo, 'lifecycle');
    const accepted = await post(key);
    expect(accepted.status).toBe(200);
    const { data } = (await accepted.json()) as { data: { event_id: string } };

    const revoked = runCommand('key', ['revoke', '--id', id, '--persist-to', system.persistTo]);
    expect(revoked.status).toBe(0);
    const revokedAt = Date.now();

    let refused: Response | undefined;
    await vi.waitFor(
      async () => {
        const response = await post(key);
        if (response.status === 401) refused = response;
        else await response.arrayBuffer();
        expect(response.status, `still ${response.status} ${Date.now() - revokedAt} ms after revoking`).toBe(
          401,
        );
      },
      { timeout: KEY_CACHE_TTL_MS + 60_000, interval: 1_000 },
    );
    expect(refused?.headers.get('www-authenticate')).toBe('Bearer');
    expect(await refused?.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });

    // What the key sent before its revocation stays in the store, under its id.
    await vi.waitFor(
      () => {
        // Every poll the key's cache entry still accepted added an event: list enough to reach the first.
        const listed = runCommand('events', [
          '--key',
          id,
          '--limit',
          '1000',
          '--persist-to',
          system.persistTo,
        ]);
        expect(listed.status).toBe(0);
        expect(listed.stdout).toContain(data.event_id);
      },
      { timeout: 30_000, interval: 1_000 },
    );
  }, 180_000);
});
