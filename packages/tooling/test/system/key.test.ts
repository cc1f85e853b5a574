/**
 * `pnpm key:create` and `pnpm key:revoke` against a local AUTH_KV state of their own (the real
 * wrangler, a temporary `--persist-to`), read back the way the ingest Worker reads it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyRecord, hashApiKey, recordKey } from '@triggers/api-keys';
import * as v from 'valibot';
import { afterAll, describe, expect, it } from 'vitest';
import { kvGet, root } from '../../src/local.mjs';
import { createKey, runCommand } from './commands.ts';

const persistTo = mkdtempSync(join(tmpdir(), 'triggers-key-test-'));
afterAll(() => rmSync(persistTo, { recursive: true, force: true }));

/** The stored record of `key`, as the ingest Worker finds it (by the key's hash). */
async function storedRecord(key: string): Promise<ApiKeyRecord> {
  const raw = kvGet(recordKey(await hashApiKey(key)), { persistTo });
  if (raw === null) throw new Error('no record stored for the key');
  return v.parse(ApiKeyRecord, JSON.parse(raw));
}

describe('pnpm key:create and key:revoke', () => {
  it('create stores the key by hash and id; revoke marks that record revoked in the same state', async () => {
    const { key, id } = createKey(persistTo, 'billing service');
    // Revoking by id finds the record through the id -> hash entry that create wrote.
    const revoked = runCommand('key', ['revoke', '--id', id, '--persist-to', persistTo]);
    expect(revoked.stderr).toBe('');
    expect(revoked.stdout).toContain(`Revoked ${id}`);
    expect(revoked.status).toBe(0);
    expect(await storedRecord(key)).toMatchObject({
      id,
      name: 'billing service',
      mode: 'test',
      revoked: true,
    });
    // The old bug wrote wrangler's state to a folder named after `undefined` in the repo root.
    expect(existsSync(join(root, 'undefined'))).toBe(false);
  });

  it('revoke of an id that does not exist says so and exits 1', () => {
    const result = runCommand('key', ['revoke', '--id', 'key_doesnotexist', '--persist-to', persistTo]);
    expect(result.stderr).toContain('No key with id key_doesnotexist');
    expect(result.status).toBe(1);
  });

  it.each([
    [['create'], 'create needs --name.'],
    [['create', '--name', 'x', '--mode', 'prod'], '--mode must be test or live'],
    [['create', '--nam', 'x'], "Unknown option '--nam'"],
    [['revoke'], 'revoke needs --id.'],
    [[], 'Which command?'],
  ])('%j prints the usage and exits 2', (args, message) => {
    const result = runCommand('key', args);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('usage:');
    expect(result.status).toBe(2);
  });
});
