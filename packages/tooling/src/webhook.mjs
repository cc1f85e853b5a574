#!/usr/bin/env node
// @ts-check
// A tiny webhook receiver: what `pnpm webhook:listen` (src/webhook-listen.mjs) runs to see
// deliveries arrive on a laptop, and what the system tests start to receive real deliveries. Each request is recorded with its
// headers, body and arrival time; the answer is chosen per request by `respond`. With a secret
// (`--secret whsec_…` or WEBHOOK_SECRET) the CLI verifies signatures with the `standardwebhooks`
// package, an implementation independent of ours.
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

/**
 * One request the receiver got.
 * @typedef {{ at: number, method: string, path: string, headers: Record<string, string>, body: string }} Received
 */

/**
 * What to answer one request: a status, optional headers and body, or `hang: true` to never answer.
 * @typedef {{ status?: number, headers?: Record<string, string>, body?: string, hang?: boolean }} Reply
 */

/**
 * A receiver listening on 127.0.0.1.
 * @typedef {{
 *   url: string,
 *   port: number,
 *   received: Received[],
 *   waitFor(count: number, timeoutMs: number): Promise<Received[]>,
 *   stop(): Promise<void>,
 * }} Receiver
 */

/**
 * Starts a receiver on `port` (0: any free port). `respond(request, index)` picks the reply to
 * the `index`-th request (0-based); the default answers 204.
 * @param {{ port?: number, respond?: (request: Received, index: number) => Reply }} [options]
 * @returns {Promise<Receiver>}
 */
export function startReceiver({ port = 0, respond = () => ({ status: 204 }) } = {}) {
  /** @type {Received[]} */
  const received = [];
  /** @type {Set<() => void>} */
  const waiters = new Set();
  /** @type {Set<import('node:http').ServerResponse>} */
  const hanging = new Set();
  const server = createServer((req, res) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      /** @type {Received} */
      const request = {
        at: Date.now(),
        method: req.method ?? '',
        path: req.url ?? '',
        headers: /** @type {Record<string, string>} */ (req.headers),
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const index = received.push(request) - 1;
      for (const wake of waiters) wake();
      const reply = respond(request, index);
      if (reply.hang) {
        hanging.add(res);
        return;
      }
      res.writeHead(reply.status ?? 204, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  return new Promise((done, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      done({
        url: `http://127.0.0.1:${address.port}`,
        port: address.port,
        received,
        waitFor(count, timeoutMs) {
          return new Promise((resolve, fail) => {
            const check = () => {
              if (received.length < count) return;
              clearTimeout(timer);
              waiters.delete(check);
              resolve(received);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(
                new Error(`the receiver got ${received.length} of ${count} requests within ${timeoutMs} ms`),
              );
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        stop() {
          for (const res of hanging) res.destroy();
          server.closeAllConnections();
          return new Promise((resolve) => server.close(() => resolve()));
        },
      });
    });
  });
}

/**
 * Verifies a received webhook with `standardwebhooks`; answers the parsed body, or throws.
 * @param {string} secret a `whsec_…` secret
 * @param {Received} request
 * @returns {unknown}
 */
export function verifyWebhook(secret, request) {
  return new Webhook(secret).verify(request.body, request.headers);
}
