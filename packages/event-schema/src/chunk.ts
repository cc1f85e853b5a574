import type { PackedEvents, QueuedEvent } from './event.ts';
import {
  MAX_BATCH_EVENTS,
  MAX_PACKED_MESSAGE_BYTES,
  QUEUE_PLATFORM_OVERHEAD_BYTES,
  SEND_BATCH_LIMIT_BYTES,
  SEND_BATCH_MAX_MESSAGES,
} from './limits.ts';

/**
 * Cutting a list into runs that each fit one call, by count and by bytes. Every list the pipeline
 * sends in pieces is cut here: queue messages into `sendBatch()` calls (both Workers), event-store
 * rows into JSON parameters of one D1 statement, a client's events into `POST /events/batch`
 * bodies, and a request's events into `event-queue` messages. Sizes are UTF-8 bytes of JSON text, which is what each of those limits counts.
 */

const encoder = new TextEncoder();

/** Where {@link utf8Bytes} encodes a text of up to 16,384 UTF-16 units: 3 bytes each at most. */
const SCRATCH = new Uint8Array(3 * 16_384);

/**
 * The size of `text` in UTF-8 bytes. A text that fits {@link SCRATCH} is encoded into it rather
 * than into a new array: measured in workerd on texts of 1 KB, 0.2 µs instead of 1.2 to 3.
 */
export function utf8Bytes(text: string): number {
  if (text.length * 3 > SCRATCH.length) return encoder.encode(text).byteLength;
  return encoder.encodeInto(text, SCRATCH).written;
}

/** The size of `value` serialized with `JSON.stringify`, in UTF-8 bytes. */
export function jsonBytes(value: unknown): number {
  return utf8Bytes(JSON.stringify(value));
}

/** What one run may hold. A run's size is `overheadBytes` + its items + `separatorBytes` between them. */
export interface ChunkLimits {
  /** Most items in one run; any number when absent. */
  maxItems?: number;
  maxBytes: number;
  /** Bytes every run carries whatever it holds (the brackets around a JSON array). */
  overheadBytes?: number;
  /** Bytes between two items of a run (the comma of a JSON array). */
  separatorBytes?: number;
}

/**
 * Splits `items`, in order, into consecutive runs within `limits`, `sizeOf` giving one item's
 * bytes. A run ends when the next item would pass a limit, never earlier. An item too large for
 * any run gets a run of its own rather than being dropped: refusing it is the caller's job.
 */
export function chunkBySize<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  { maxItems = Number.POSITIVE_INFINITY, maxBytes, overheadBytes = 0, separatorBytes = 0 }: ChunkLimits,
): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = overheadBytes;
  for (const item of items) {
    const size = sizeOf(item);
    if (run.length > 0 && (run.length >= maxItems || bytes + separatorBytes + size > maxBytes)) {
      runs.push(run);
      run = [];
      bytes = overheadBytes;
    }
    bytes += (run.length > 0 ? separatorBytes : 0) + size;
    run.push(item);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Splits queue messages, in order, into runs that each fit one `Queue.sendBatch()` call: at most
 * {@link SEND_BATCH_MAX_MESSAGES} messages and {@link SEND_BATCH_LIMIT_BYTES} bytes, counted as
 * the queue counts them (each body plus the platform's metadata). `bodyBytesOf` gives a body's
 * serialized size ({@link jsonBytes}), measured by the caller so that it is measured once.
 */
export function sendBatchChunks<T>(messages: readonly T[], bodyBytesOf: (message: T) => number): T[][] {
  return chunkBySize(messages, (message) => bodyBytesOf(message) + QUEUE_PLATFORM_OVERHEAD_BYTES, {
    maxItems: SEND_BATCH_MAX_MESSAGES,
    maxBytes: SEND_BATCH_LIMIT_BYTES,
  });
}

/** An event for `event-queue` with the size of its serialized form ({@link jsonBytes}), measured once. */
export interface SizedEvent {
  event: QueuedEvent;
  bytes: number;
}

/** One `event-queue` message built by {@link packEvents}. */
export interface EventMessage<T extends SizedEvent> {
  /** The bare event when the message carries one, else the events packed. */
  body: QueuedEvent | PackedEvents;
  /** UTF-8 size of `JSON.stringify(body)`: what the queue counts. */
  bytes: number;
  /** The events it carries, in order. */
  events: T[];
}

/** What a pack adds around its events: `{"events":[` and `]}` (13 bytes). */
const PACK_OPEN = '{"events":[';
const PACK_CLOSE = ']}';
const PACK_OVERHEAD_BYTES = utf8Bytes(PACK_OPEN) + utf8Bytes(PACK_CLOSE);

/**
 * Packs events, in order, into as few `event-queue` messages as fit: at most
 * {@link MAX_BATCH_EVENTS} events and {@link MAX_PACKED_MESSAGE_BYTES} bytes per message, the
 * pack's own brackets and commas counted. A message of one event carries it bare, as
 * `POST /events` does, so an event too large to share a message (up to the queue's limit, which
 * the caller has checked) still travels. Send the result with {@link sendBatchChunks}.
 */
export function packEvents<T extends SizedEvent>(events: readonly T[]): EventMessage<T>[] {
  const runs = chunkBySize(events, (item) => item.bytes, {
    maxItems: MAX_BATCH_EVENTS,
    maxBytes: MAX_PACKED_MESSAGE_BYTES,
    overheadBytes: PACK_OVERHEAD_BYTES,
    separatorBytes: 1,
  });
  return runs.map((run) => {
    const [only] = run;
    if (run.length === 1 && only !== undefined) return { body: only.event, bytes: only.bytes, events: run };
    return {
      body: { events: run.map((item) => item.event) },
      bytes: PACK_OVERHEAD_BYTES + run.reduce((sum, item) => sum + item.bytes, 0) + run.length - 1,
      events: run,
    };
  });
}

/** A run of items serialized as one JSON text. */
export interface JsonChunk {
  /** Index of the run's first item in the whole list. */
  offset: number;
  count: number;
  /** `open`, the items' JSON separated by commas, then `close`. */
  text: string;
  /** UTF-8 size of `text`: more than `maxBytes` only for a lone item too large for any run. */
  bytes: number;
}

/** {@link ChunkLimits} of a JSON text: what wraps the items (a JSON array by default). */
export interface JsonChunkLimits {
  maxItems?: number;
  maxBytes: number;
  /** Written before the items: `[` by default, `{"events":[` for a batch request body. */
  open?: string;
  /** Written after them: `]` by default. */
  close?: string;
}

/**
 * `open`, the items' JSON separated by commas, then `close`. Appended one by one rather than with
 * `Array.prototype.join`: measured in V8 on arrays of 1 MB, the join took about twenty times as
 * long as appending and reading the result once.
 */
function joined(run: readonly { json: string }[], open: string, close: string): string {
  let text = open;
  for (let i = 0; i < run.length; i++) text += (i === 0 ? '' : ',') + (run[i]?.json ?? '');
  return text + close;
}

/**
 * Serializes each item once and joins them into as few JSON texts (`open`, items, `close`) as
 * fit `limits`, keeping their order. An item too large for any text still gets one of its own,
 * whose `bytes` say so.
 */
export function jsonChunks(
  items: readonly unknown[],
  { maxItems, maxBytes, open = '[', close = ']' }: JsonChunkLimits,
): JsonChunk[] {
  const serialized = items.map((item, index) => {
    const json = JSON.stringify(item);
    return { index, json, bytes: utf8Bytes(json) };
  });
  const overheadBytes = utf8Bytes(open) + utf8Bytes(close);
  const runs = chunkBySize(serialized, (item) => item.bytes, {
    maxItems,
    maxBytes,
    overheadBytes,
    separatorBytes: 1,
  });
  return runs.map((run) => ({
    offset: run[0]?.index ?? 0,
    count: run.length,
    text: joined(run, open, close),
    bytes: overheadBytes + run.reduce((sum, item) => sum + item.bytes, 0) + run.length - 1,
  }));
}
