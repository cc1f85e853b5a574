/** `pnpm retention:run`: the consumer's real scheduled handler on a local D1 state of its own. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateLocalD1, queryLocalD1 } from '../../src/local.mjs';
import { runCommand } from './commands.ts';

const scratch = mkdtempSync(join(tmpdir(), 'triggers-retention-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const row = (id: string, status: string, receivedAt: string) =>
  `INSERT INTO events (event_id, api_key_id, payload, status, attempts, received_at, created_at, updated_at, correlation_id)
   VALUES ('${id}', 'key_local', '{}', '${status}', 1, '${receivedAt}', '${receivedAt}', '${receivedAt}', 'c')`;

describe('pnpm retention:run', () => {
  it('runs the scheduled retention on the local store: purges expired events, keeps the rest, prints the run', () => {
    const persistTo = join(scratch, 'state');
    migrateLocalD1({ persistTo });
    const now = new Date().toISOString();
    queryLocalD1(
      [
        row('00000000-0000-4000-8000-000000000001', 'delivered', '2020-01-01T00:00:00.000Z'),
        row('00000000-0000-4000-8000-000000000002', 'failed', '2020-01-01T00:00:00.000Z'),
        row('00000000-0000-4000-8000-000000000003', 'pending', '2020-01-01T00:00:00.000Z'),
        row('00000000-0000-4000-8000-000000000004', 'delivered', now),
      ],
      { persistTo },
    );
    const result = runCommand('retention', ['--persist-to', persistTo]);
    expect(result.status, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout.split('\n').find((l) => l.includes('"retention"')) ?? '{}');
    expect(line).toMatchObject({ message: 'retention', delivered: 1, failed: 1, complete: true });
    const [left = []] = queryLocalD1(['SELECT event_id FROM events ORDER BY event_id'], { persistTo });
    expect(left.map((r) => r.event_id)).toEqual([
      '00000000-0000-4000-8000-000000000003',
      '00000000-0000-4000-8000-000000000004',
    ]);
  });

  it('on a state pnpm dev never created, applies the migrations and purges nothing', () => {
    const result = runCommand('retention', ['--persist-to', join(scratch, 'fresh')]);
    expect(result.status, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout.split('\n').find((l) => l.includes('"retention"')) ?? '{}');
    expect(line).toMatchObject({ message: 'retention', delivered: 0, failed: 0, complete: true });
  });
});
