/**
 * The local-only values `pnpm dev` keeps in each app's .dev.vars: development values
 * (ensureDevVars: wrangler.toml's top level is production) and the ingest Worker's operator token
 * (ensureOperatorToken). The ingest Worker under wrangler dev, reading apps/ingest/.dev.vars, runs
 * as development and answers GET /health with the store's size to the token and to nobody else.
 * (Without them it is production: the top level of wrangler.toml, which deployed-config.test.ts
 * reads from a dry run.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  consumerConfig,
  consumerDevVars,
  ensureDevVars,
  ensureOperatorToken,
  ingestConfig,
  ingestDevVars,
  migrateLocalD1,
  seedApiKeys,
} from '../../src/local.mjs';
import { startWorkers } from '../../src/system.mjs';

const scratch = mkdtempSync(join(tmpdir(), 'triggers-dev-vars-test-'));
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

describe('ensureDevVars', () => {
  it('writes ENVIRONMENT=development to each file that does not set it, and keeps a value set by hand', () => {
    const file = (name: string) => join(scratch, `${name}.dev.vars`);
    const [fresh, token, own] = [file('fresh'), file('token'), file('own')];
    writeFileSync(token, 'OPERATOR_TOKEN=abc\n');
    writeFileSync(own, 'ENVIRONMENT=production\n');
    expect(ensureDevVars([fresh, token, own])).toEqual([
      { ENVIRONMENT: 'development' },
      { ENVIRONMENT: 'development' },
      { ENVIRONMENT: 'production' },
    ]);
    expect(readFileSync(token, 'utf8')).toMatch(/^OPERATOR_TOKEN=abc\n#.*\nENVIRONMENT=development\n$/);
    expect(readFileSync(own, 'utf8')).toBe('ENVIRONMENT=production\n');
    // Twice is once.
    ensureDevVars([fresh]);
    expect(readFileSync(fresh, 'utf8').match(/^ENVIRONMENT=/gm)).toHaveLength(1);
  });
});

describe('the ingest Worker under wrangler dev', () => {
  it('with pnpm dev’s apps/ingest/.dev.vars: development (a local webhook URL accepted), and the operator token unlocks the store size', async () => {
    const { token } = ensureOperatorToken();
    expect(ensureDevVars().map(({ ENVIRONMENT }) => ENVIRONMENT)).toEqual(['development', 'development']);
    expect(readFileSync(consumerDevVars, 'utf8')).toMatch(/^ENVIRONMENT=development$/m);
    expect(readFileSync(ingestDevVars, 'utf8')).toMatch(/^ENVIRONMENT=development$/m);

    const persistTo = join(scratch, 'state');
    let key = '';
    const workers = await startWorkers({
      // With the consumer: it hosts the tenant stores the ingest Worker's subscription calls reach.
      configs: [ingestConfig, consumerConfig],
      persistTo,
      env: { WRANGLER_REGISTRY_PATH: join(scratch, 'registry') },
      whileStarting: async () => {
        migrateLocalD1({ persistTo });
        const [made] = await seedApiKeys([{ name: 'dev vars test' }], { persistTo });
        key = made?.key ?? '';
      },
    });
    try {
      const subscribed = await fetch(`${workers.url}/subscriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'http://127.0.0.1:9/hook' }),
      });
      expect(subscribed.status).toBe(201);
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
