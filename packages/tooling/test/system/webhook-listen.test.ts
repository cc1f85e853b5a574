/**
 * `pnpm webhook:listen` as a developer runs it: through the workspace's bin shim (the route that
 * once ran nothing at all), on a port of its own, with real signed requests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { root } from '../../src/local.mjs';

const SECRET = `whsec_${Buffer.from('a'.repeat(32)).toString('base64')}`;
let child: ChildProcess | undefined;
afterAll(() => child?.kill());

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function signed(body: string, secret = SECRET) {
  const id = `msg_${crypto.randomUUID()}`;
  const at = new Date();
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

describe('pnpm webhook:listen', () => {
  it('listens, checks each signature with --secret, and answers 500 to the first --fail requests', async () => {
    const port = await freePort();
    child = spawn(
      join(root, 'node_modules', '.bin', 'triggers-webhook'),
      ['--port', String(port), '--fail', '1', '--secret', SECRET],
      {
        cwd: root,
      },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    await vi.waitFor(() => expect(output).toContain(`Listening on http://127.0.0.1:${port}/`), {
      timeout: 20_000,
    });

    const body = JSON.stringify({ event_id: 'e1', type: 'order.created', payload: { n: 1 } });
    const post = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${port}/hook`, { method: 'POST', headers, body }).then((r) => r.status);
    expect(await post(signed(body))).toBe(500);
    expect(await post(signed(body))).toBe(204);
    expect(await post(signed(body, `whsec_${Buffer.from('b'.repeat(32)).toString('base64')}`))).toBe(204);
    await vi.waitFor(() => expect(output.match(/POST \/hook/g)).toHaveLength(3));
    expect(output).toContain('signature valid; answering 500');
    expect(output).toContain('signature valid; answering 204');
    expect(output).toContain('SIGNATURE INVALID');
  });
});
