/**
 * A malformed FAULTS is a configuration mistake of the fault suite: locally it must stop the
 * Workers from starting, with a message saying what is wrong, rather than answer 1101 to every
 * request. (Deployed, FAULTS is never read: packages/faults' own tests cover that.)
 */
import { startSystem } from '@triggers/tooling/system';
import { describe, expect, it } from 'vitest';

describe('startup with a malformed FAULTS', () => {
  it('fails to start, saying which field is wrong and what FAULTS should look like', async () => {
    const started = startSystem({ vars: { FAULTS: '{"queu_send":1}' } });
    await expect(started).rejects.toThrow(/FAULTS is malformed \(queu_send: .*expected an object such as/);
  });
});
