/**
 * The published packages as a service outside this repository gets them: both are packed with
 * `pnpm pack` (built by their prepack, publishConfig applied), installed with npm into a fresh
 * folder outside the workspace with an empty npm cache, and used there: a plain Node ESM script
 * talks to the running local system, a TypeScript file type-checks under node16 and bundler
 * resolution, and a minimal Worker builds with `wrangler deploy --dry-run`.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, wranglerBin } from '@triggers/tooling';
import { PUBLISHED_PACKAGES, packPackage, run } from '@triggers/tooling/packages';
import type { System } from '@triggers/tooling/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suiteSystem } from '../src/shared-system.ts';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'outside-service');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
// tsc checks the published .d.ts too (skipLibCheck off in the fixture): the CloudEvent schema's
// type once stopped it at TS2589. Over a minute on a busy two-core machine.
const TSC_TIMEOUT_MS = 300_000;
let project: string;
let system: System<'test'>;

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'triggers-outside-'));
  cpSync(fixture, project, { recursive: true });
  const tarballs = join(project, 'tarballs');
  const packed = PUBLISHED_PACKAGES.map((dir) => {
    const destination = join(tarballs, dir.split('/').pop() ?? '');
    mkdirSync(destination, { recursive: true });
    return packPackage(dir, destination);
  });
  // An empty npm cache, as on a fresh machine: the tarballs' dependencies come from the registry,
  // through whatever proxy and certificate authority this machine needs. A warm cache once hid
  // that turbo stripped NODE_EXTRA_CA_CERTS from the tasks (SELF_SIGNED_CERT_IN_CHAIN on a fresh
  // clone only); now this install fails wherever a fresh clone's would.
  run(['npm', 'install', '--no-audit', '--no-fund', ...packed], project, {
    npm_config_cache: join(project, 'npm-cache'),
  });
  system = await suiteSystem({ test: { mode: 'test', name: 'outside service' } });
}, 600_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed packages, installed with npm outside the workspace', () => {
  it('install from the tarballs with an empty npm cache: built JavaScript, types and JSON Schemas, no TypeScript source', () => {
    const installed = join(project, 'node_modules', '@triggers');
    for (const name of ['client', 'event-schema']) {
      expect(existsSync(join(installed, name, 'dist', 'index.js'))).toBe(true);
      expect(existsSync(join(installed, name, 'dist', 'index.d.ts'))).toBe(true);
      expect(existsSync(join(installed, name, 'src'))).toBe(false);
    }
    expect(existsSync(join(installed, 'event-schema', 'json-schema', 'queued-event.json'))).toBe(true);
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
    expect(lock.packages['node_modules/@triggers/event-schema'].resolved).toMatch(/^file:tarballs\//);
    // Their dependency came from the registry over TLS, into the empty cache (the lock omits
    // registry URLs: pnpm hands npm omit-lockfile-registry-resolved).
    expect(lock.packages['node_modules/valibot']).toMatchObject({
      integrity: expect.stringMatching(/^sha512-/),
    });
    expect(readdirSync(join(project, 'npm-cache', '_cacache', 'index-v5'))).not.toEqual([]);
  });

  it('a plain Node ESM script validates a QueuedEvent, sends an event, finds it in the inbox and acks it', () => {
    const output = run([process.execPath, 'send-and-ack.mjs'], project, {
      TRIGGERS_URL: system.url,
      TRIGGERS_API_KEY: system.keys.test,
    });
    // The script prints one JSON line; Node may print warnings around it.
    const result = JSON.parse(output.split('\n').find((line) => line.startsWith('{')) ?? '{}');
    expect(result).toEqual({
      event_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      found: result.event_id,
      acked_at: expect.any(String),
      valid: true,
      schema: 'A message on event-queue and event-dlq',
      invalid: false,
    });
    const rows = system.tenantQuery(
      system.keyIds.test,
      'SELECT status, acked_at FROM events WHERE event_id = ?',
      [result.event_id],
    );
    expect(rows).toEqual([{ status: 'delivered', acked_at: expect.any(String) }]);
  });

  it.each(['node16', 'bundler'])(
    'a TypeScript file using the types compiles under moduleResolution %s',
    (mode) => {
      run([process.execPath, tsc, '-p', `tsconfig.${mode}.json`], project);
    },
    TSC_TIMEOUT_MS,
  );

  it('a minimal Worker importing both builds with wrangler deploy --dry-run', () => {
    const output = run([process.execPath, wranglerBin, 'deploy', '--dry-run', '--outdir', 'dist'], project);
    expect(output).toMatch(/--dry-run: exiting now/);
    expect(readFileSync(join(project, 'dist', 'worker.js'), 'utf8')).toContain('TriggersError');
  });
});
