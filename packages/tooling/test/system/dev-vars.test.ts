/**
 * The local operator token: `pnpm dev` makes one in apps/ingest/.dev.vars when there is none
 * (ensureOperatorToken), and the ingest Worker under wrangler dev, reading that file, answers
 * GET /health with the store's size to it and to nobody else.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureOperatorToken, ingestConfig } from '../src/local.mjs';
import { startWorkers } from '../src/system.mjs';

const scratch = mkdtempSync(join(tmpdir(), 'triggers-operator-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('ensureOperatorToken', () => {
  it('creates the file with a long random token, then keeps answering that token', () => {
    const file = join(scratch, 'new.dev.vars');
    const made = ensureOperatorToken(file);
    expect(made.created).toBe(true);
    expect(made.token).toMatch(/^op_local_[0-9a-f]{48}$/);
    expect(ensureOperatorToken(file)).toEqual({ token: made.token, created: false });
    expect(ensureOperatorToken(join(scratch, 'other.dev.vars')).token).not.toBe(made.token);
  });

  it('adds the line to an existing file without touching the other lines, and reads a quoted one', () => {
    const file = join(scratch, 'existing.dev.vars');
    writeFileSync(file, 'OTHER=1');
    const made = ensureOperatorToken(file);
    expect(readFileSync(file, 'utf8')).toMatch(
      new RegExp(`^OTHER=1\\n#.*\\nOPERATOR_TOKEN=${made.token}\\n$`),
    );
    const quoted = join(scratch, 'quoted.dev.vars');
    writeFileSync(quoted, `OPERATOR_TOKEN="${'q'.repeat(40)}"\n`);
    expect(ensureOperatorToken(quoted)).toEqual({ token: 'q'.repeat(40), created: false });
  });
});

describe('the local operator token under wrangler dev', () => {
  it('unlocks the store size in GET /health of the ingest Worker, which reads apps/ingest/.dev.vars', async () => {
    const { token } = ensureOperatorToken();
    const workers = await startWorkers({
      configs: [ingestConfig],
      persistTo: join(scratch, 'state'),
      env: { WRANGLER_REGISTRY_PATH: join(scratch, 'registry') },
    });
    try {
      const health = async (headers: Record<string, string>) =>
        (
          (await (await fetch(`${workers.url}/health`, { headers })).json()) as {
            data: Record<string, unknown>;
          }
        ).data;
      expect(await health({ authorization: `Bearer ${token}` })).toMatchObject({
        status: 'ok',
        store: { size_bytes: expect.any(Number), warn_bytes: 8_000_000_000, past_warning: false },
      });
      expect(await health({})).not.toHaveProperty('store');
    } finally {
      await workers.stop();
    }
  });
});
