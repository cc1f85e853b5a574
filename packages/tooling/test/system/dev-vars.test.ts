/**
 * The local-only values `pnpm dev` keeps in each app's .dev.vars: development values
 * (ensureDevVars: wrangler.toml's top level is production) and the ingest Worker's operator token
 * (ensureOperatorToken). The ingest Worker under wrangler dev, reading apps/ingest/.dev.vars, runs
 * as development and answers GET /health with the store's size to the token and to nobody else;
 * the same config without a .dev.vars beside it runs as production.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  consumerDevVars,
  ensureDevVars,
  ensureOperatorToken,
  ingestConfig,
  ingestDevVars,
  migrateLocalD1,
  seedApiKeys,
} from '../../src/local.mjs';
import { configVariant, startWorkers } from '../../src/system.mjs';

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
    const [fresh, token, own] = ['fresh', 'token', 'own'].map((name) => join(scratch, `${name}.dev.vars`));
    writeFileSync(token, 'OPERATOR_TOKEN=abc\n');
    writeFileSync(own, 'ENVIRONMENT=production\n');
    expect(ensureDevVars([fresh as string, token as string, own as string])).toEqual([
      { ENVIRONMENT: 'development' },
      { ENVIRONMENT: 'development' },
      { ENVIRONMENT: 'production' },
    ]);
    expect(readFileSync(token as string, 'utf8')).toMatch(
      /^OPERATOR_TOKEN=abc\n#.*\nENVIRONMENT=development\n$/,
    );
    expect(readFileSync(own as string, 'utf8')).toBe('ENVIRONMENT=production\n');
    // Twice is once.
    ensureDevVars([fresh as string]);
    expect(readFileSync(fresh as string, 'utf8').match(/^ENVIRONMENT=/gm)).toHaveLength(1);
  });
});

describe('the ingest Worker under wrangler dev', () => {
  const persistTo = join(scratch, 'state');
  const hook = { url: 'http://127.0.0.1:9/hook' };
  beforeAll(() => migrateLocalD1({ persistTo }));

  /** Runs the ingest Worker of `config` alone and hands `use` its URL and a key it accepts. */
  async function withIngest(config: string, use: (url: string, key: string) => Promise<void>) {
    const [{ key }] = (await seedApiKeys([{ name: 'dev vars test' }], { persistTo })) as [{ key: string }];
    const workers = await startWorkers({
      configs: [config],
      persistTo,
      env: { WRANGLER_REGISTRY_PATH: join(scratch, 'registry') },
    });
    try {
      await use(workers.url, key);
    } finally {
      await workers.stop();
    }
  }

  const subscribe = (url: string, key: string) =>
    fetch(`${url}/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(hook),
    });

  it('with pnpm dev’s apps/ingest/.dev.vars: development (a local webhook URL accepted), and the operator token unlocks the store size', async () => {
    const { token } = ensureOperatorToken();
    const environments = ensureDevVars();
    expect(environments.map(({ ENVIRONMENT }) => ENVIRONMENT)).toEqual(['development', 'development']);
    expect(readFileSync(consumerDevVars, 'utf8')).toMatch(/^ENVIRONMENT=development$/m);
    expect(readFileSync(ingestDevVars, 'utf8')).toMatch(/^ENVIRONMENT=development$/m);
    await withIngest(ingestConfig, async (url, key) => {
      expect((await subscribe(url, key)).status).toBe(201);
      const health = async (headers: Record<string, string>) =>
        ((await (await fetch(`${url}/health`, { headers })).json()) as { data: Record<string, unknown> })
          .data;
      expect(await health({ authorization: `Bearer ${token}` })).toMatchObject({
        status: 'ok',
        store: { size_bytes: expect.any(Number), warn_bytes: 8_000_000_000, past_warning: false },
      });
      expect(await health({})).not.toHaveProperty('store');
    });
  });

  it('with no .dev.vars beside its wrangler.toml: production, which refuses a local webhook URL', async () => {
    const bare = mkdtempSync(join(scratch, 'bare-'));
    const config = configVariant(ingestConfig, bare, () => {});
    await withIngest(config, async (url, key) => {
      const refused = await subscribe(url, key);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({
        error: { code: 'VALIDATION_ERROR', details: { issues: [expect.objectContaining({ path: 'url' })] } },
      });
    });
  });
});
