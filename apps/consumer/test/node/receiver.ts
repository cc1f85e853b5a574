/**
 * A webhook receiver for the dispatcher's tests: a real HTTP server on 127.0.0.1, started by
 * vitest's global setup (Node) before the tests run in workerd, which reach it over the network
 * like any subscriber. What it answers is chosen by the URL path after a token of the test's own:
 *
 *   /<token>/status/<code>[?retry-after=<value>]   that status (and header), a 5,000-character body
 *   /<token>/endless                               200, then body chunks that never end
 *   /<token>/stall                                 200 and one chunk, then nothing more
 *   /<token>/hang                                  no answer at all
 *
 * `GET /__received/<token>` answers what arrived for the token: method, path, headers, body.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { TestProject } from 'vitest/node';

interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export default async function startReceiver(project: TestProject): Promise<() => Promise<void>> {
  const received = new Map<string, Received[]>();
  const open = new Set<ServerResponse>();
  const timers = new Set<ReturnType<typeof setInterval>>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const [, token = '', behaviour = '', code = ''] = url.pathname.split('/');
    if (req.method === 'GET' && token === '__received') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(received.get(behaviour) ?? []));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const list = received.get(token) ?? [];
      list.push({
        method: req.method ?? '',
        path: url.pathname,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      received.set(token, list);
      open.add(res);
      res.on('close', () => open.delete(res));
      switch (behaviour) {
        case 'status': {
          const retryAfter = url.searchParams.get('retry-after');
          res.writeHead(Number(code), retryAfter === null ? {} : { 'retry-after': retryAfter });
          res.end('x'.repeat(5_000));
          return;
        }
        case 'endless': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const timer = setInterval(() => res.write('y'.repeat(64)), 5);
          timers.add(timer);
          res.on('close', () => clearInterval(timer));
          return;
        }
        case 'stall':
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('z'.repeat(10));
          return;
        default:
          return; // hang: never answered
      }
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the receiver has no port');
  project.provide('receiverUrl', `http://127.0.0.1:${address.port}`);
  return async () => {
    for (const timer of timers) clearInterval(timer);
    for (const res of open) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((closed) => server.close(() => closed()));
  };
}
