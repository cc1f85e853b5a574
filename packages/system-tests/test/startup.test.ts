/**
 * A configuration mistake must stop the Workers from starting, with a message saying what is
 * wrong, rather than answer 1101 to every request or act on it: a malformed FAULTS (the fault
 * suite's; deployed, FAULTS is never read: packages/faults' own tests cover that), or a consumer
 * var out of range (apps/consumer/src/settings.ts).
 */
import { startSystem } from '@triggers/tooling/system';
import { describe, expect, it } from 'vitest';

describe('startup with a malformed FAULTS', () => {
  it('fails to start, saying which field is wrong and what FAULTS should look like', async () => {
    const started = startSystem({ vars: { FAULTS: '{"queu_send":1}' } });
    await expect(started).rejects.toThrow(/FAULTS is malformed \(queu_send: .*expected an object such as/);
  });
});

describe('startup with a retention of 0 days', () => {
  it('fails to start the consumer, naming the var and what it takes, before any retention run could purge everything', async () => {
    const started = startSystem({ vars: { RETENTION_DELIVERED_DAYS: '0' } });
    await expect(started).rejects.toThrow(
      /RETENTION_DELIVERED_DAYS must be a whole number of days from 1 to 3650/,
    );
  });
});
