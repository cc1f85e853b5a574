/**
 * `pnpm retention:run`: the consumer's real scheduled handler (its cron: D1's dead letters) on a
 * local D1 state of its own. Tenant stores purge on their own alarm (apps/consumer's tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateLocalD1, queryLocalD1 } from '../../src/local.mjs';
import { runCommand } from './commands.ts';

const scratch = mkdtempSync(join(tmpdir(), 'triggers-retention-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A dead letter of the local D1, unreadable and of no tenant, created at `createdAt`. */
const deadLetter = (id: string, createdAt: string) =>
  `INSERT INTO dead_letters (message_id, queue, reason, attempts, body, body_encoding, enqueued_at, created_at)
   VALUES ('${id}', 'event-queue', 'not a QueuedEvent', 4, '"x"', 'json', '${createdAt}', '${createdAt}')`;

describe('pnpm retention:run', () => {
  it("runs the consumer's cron on the local D1: purges expired dead letters, keeps the rest, prints the run", () => {
    const persistTo = join(scratch, 'state');
    migrateLocalD1({ persistTo });
    const now = new Date().toISOString();
    queryLocalD1([deadLetter('msg_old', '2020-01-01T00:00:00.000Z'), deadLetter('msg_new', now)], {
      persistTo,
    });
    const result = runCommand('retention', ['--persist-to', persistTo]);
    expect(result.status, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout.split('\n').find((l) => l.includes('"retention"')) ?? '{}');
    expect(line).toMatchObject({ message: 'retention', dead_letters: 1 });
    const [left = []] = queryLocalD1(['SELECT message_id FROM dead_letters ORDER BY message_id'], {
      persistTo,
    });
    expect(left.map((r) => r.message_id)).toEqual(['msg_new']);
  });

  it('--help says that tenant stores purge themselves on their own alarm', () => {
    const result = runCommand('retention', ['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Tenant stores (events, subscriptions, deliveries) purge themselves');
  });

  it('on a state pnpm dev never created, applies the migrations and purges nothing', () => {
    const result = runCommand('retention', ['--persist-to', join(scratch, 'fresh')]);
    expect(result.status, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout.split('\n').find((l) => l.includes('"retention"')) ?? '{}');
    expect(line).toMatchObject({ message: 'retention', dead_letters: 0 });
  });
});
