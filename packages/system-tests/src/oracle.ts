import { EventRequest, MAX_EVENT_BYTES } from '@triggers/event-schema';
import * as v from 'valibot';
import type { HostileRequest, Keys } from './hostile.ts';

const header = (request: HostileRequest, name: string) =>
  request.headers.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];

/** The body as the server reads it (chunked framing removed). */
function payloadBytes(request: HostileRequest): Buffer {
  if (header(request, 'transfer-encoding') !== 'chunked') return request.body;
  const text = request.body;
  const lineEnd = text.indexOf('\r\n');
  const size = Number.parseInt(text.subarray(0, lineEnd).toString('latin1'), 16);
  return size ? text.subarray(lineEnd + 2, lineEnd + 2 + size) : Buffer.alloc(0);
}

/**
 * Whether the API's documented rules accept this request (200), computed independently of the
 * server from the published schema and limits. Only meaningful for requests whose length framing
 * is honest.
 */
export function shouldAccept(request: HostileRequest, keys: Keys): boolean {
  const url = new URL(request.target, 'http://x');
  if (request.method !== 'POST' || url.pathname !== '/events') return false;
  const auth = header(request, 'authorization');
  const match = auth === undefined ? null : /^Bearer +(\S+)$/i.exec(auth.trim());
  const key = match?.[1];
  if (key !== keys.test && key !== keys.live) return false;
  const debug = url.searchParams.getAll('debug');
  if (debug.length > 1) return false;
  if (debug.length === 1) {
    if (key !== keys.test) return false;
    if (!['processing_error', 'dlq_routing', 'queue_delay'].includes(debug[0] as string)) return false;
  }
  const [type = '', ...params] = (header(request, 'content-type') ?? '').split(';');
  if (type.trim().toLowerCase() !== 'application/json') return false;
  const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='));
  if (charset !== undefined && !/^charset="?utf-8"?$/.test(charset)) return false;
  const body = payloadBytes(request);
  if (body.length > MAX_EVENT_BYTES) return false;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return false;
  }
  return v.is(EventRequest, value);
}
