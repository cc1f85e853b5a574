/** `pnpm events:list` against local states of its own (the real wrangler, `--persist-to`); with tenant stores in operator-commands.test.ts. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateLocalD1 } from '../../src/local.mjs';
import { runCommand } from './commands.ts';

const scratch = mkdtempSync(join(tmpdir(), 'triggers-events-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('pnpm events:list', () => {
  it('on a state that was never migrated, says to start pnpm dev and exits 1', () => {
    const result = runCommand('events', ['--persist-to', join(scratch, 'empty')]);
    expect(result.stderr).toContain('has no event store yet: `pnpm dev` creates it');
    expect(result.status).toBe(1);
  });

  it('on a migrated state, prints the counts by status and the newest events', () => {
    const persistTo = join(scratch, 'migrated');
    migrateLocalD1({ persistTo });
    const result = runCommand('events', ['--status', 'failed', '--limit', '5', '--persist-to', persistTo]);
    expect(result.stdout).toContain('Events by status (tenant stores: 0):');
    expect(result.stdout).toContain('Newest 0 events:');
    expect(result.status).toBe(0);
  });

  it.each([
    [['--limit', 'many'], 'Expected number'],
    [['--status', 'lost'], 'must be one of pending, delivered, failed'],
  ])('%j prints the usage and exits 2', (args, message) => {
    const result = runCommand('events', args);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('usage:');
    expect(result.status).toBe(2);
  });
});
