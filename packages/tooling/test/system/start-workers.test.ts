/**
 * The system harness's start (src/system.mjs, startWorkers) against a port taken between the
 * moment it was found free and the moment wrangler dev binds it: what another process's ephemeral
 * port can do on a busy machine. The port is taken here by a real listening socket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestConfig } from '../../src/local.mjs';
import { freePort, startWorkers } from '../../src/system.mjs';

const scratch = mkdtempSync(join(tmpdir(), 'triggers-start-workers-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('starting the Workers under wrangler dev', () => {
  it('starts on other ports when the port it picked is taken before wrangler binds it', async () => {
    // A listener that hangs up at once, as another process's socket on that port would answer.
    const taken = createServer((socket) => socket.destroy());
    const port = await new Promise<number>((done) =>
      taken.listen(0, '127.0.0.1', () => {
        const address = taken.address();
        done(typeof address === 'object' && address !== null ? address.port : 0);
      }),
    );
    let tries = 0;
    try {
      const workers = await startWorkers({
        configs: [ingestConfig],
        persistTo: join(scratch, 'state'),
        env: { WRANGLER_REGISTRY_PATH: join(scratch, 'registry') },
        ports: async () => [tries++ === 0 ? port : await freePort(), await freePort()],
      });
      try {
        expect(tries).toBe(2);
        expect(workers.port).not.toBe(port);
        expect((await fetch(`${workers.url}/health`)).status).toBe(200);
      } finally {
        await workers.stop();
      }
    } finally {
      taken.close();
    }
  });
});
