import type { ErrorCode } from '@triggers/event-schema';
import { echo } from './echo.ts';
import { ApiError } from './errors.ts';

/** The media type of JSON bodies. */
export const JSON_MEDIA_TYPE = 'application/json';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** A `Content-Length` value as HTTP defines it: decimal digits only. */
const DECIMAL = /^\d+$/;

const tooLarge = (limit: number) =>
  new ApiError('PAYLOAD_TOO_LARGE', `The request body exceeds the limit of ${limit} bytes.`, {
    details: { limit_bytes: limit },
  });

type CompressionFormat = ConstructorParameters<typeof DecompressionStream>[0];

/** `Content-Encoding` values accepted, and the `DecompressionStream` format each needs. */
const CODINGS = new Map<string, CompressionFormat | null>([
  ['identity', null],
  ['gzip', 'gzip'],
  ['x-gzip', 'gzip'],
  ['deflate', 'deflate'],
]);
export const ACCEPTED_CODINGS = ['gzip', 'deflate', 'identity'] as const;

/** What reading a JSON body ({@link readJsonBody}, {@link readOptionalJsonBody}) can answer. */
export const JSON_BODY_ERRORS = [
  'INVALID_JSON',
  'INVALID_ENCODING',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
] as const satisfies readonly ErrorCode[];

/**
 * The decompression a body needs, from its `Content-Encoding`: `null` for none. One coding (and
 * any number of `identity`) is accepted; anything else answers 415 listing what is.
 */
function contentCoding(header: string | null): CompressionFormat | null {
  const codings = (header ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  const format = codings.length <= 1 ? CODINGS.get(codings[0] ?? 'identity') : undefined;
  if (format === undefined) {
    throw new ApiError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Unsupported Content-Encoding "${echo(header ?? '')}": send the body uncompressed, gzip or deflate.`,
      { details: { allowed: [...ACCEPTED_CODINGS] }, headers: { 'accept-encoding': 'gzip, deflate' } },
    );
  }
  return format;
}

/** The media type of a `Content-Type` header, lower case, without parameters (`''` when absent). */
export function mediaTypeOf(header: string | null): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** 415 for a body whose type is not one of `allowed`. */
export function unsupportedMediaType(allowed: readonly string[]): ApiError {
  return new ApiError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Send the body as JSON with "Content-Type: ${allowed.join('" or "')}".`,
    { details: { allowed: [...allowed] } },
  );
}

function assertJsonContentType(header: string | null, allowed: readonly string[]): void {
  const [, ...params] = (header ?? '').split(';');
  const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='));
  const isUtf8 = charset === undefined || /^charset="?utf-8"?$/.test(charset);
  if (!allowed.includes(mediaTypeOf(header)) || !isUtf8) throw unsupportedMediaType(allowed);
}

/** Reads a stream to its end, failing with 413 as soon as more than `limit` bytes have arrived. */
async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * Decompresses `body` as it is read. The decompressed bytes are limited by `readLimited`; the
 * compressed ones are capped here at the same limit (no useful body compresses to more than it
 * decompresses to), so a stream that keeps arriving without producing output cannot run forever.
 */
function decompress(body: ReadableStream<Uint8Array>, format: CompressionFormat, limit: number) {
  let compressed = 0;
  const cap = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      compressed += chunk.byteLength;
      if (compressed > limit) controller.error(tooLarge(limit));
      else controller.enqueue(chunk);
    },
  });
  return {
    stream: body.pipeThrough(cap).pipeThrough(new DecompressionStream(format)),
    overLimit: () => compressed > limit,
  };
}

/**
 * Reads a request body of at most `limit` bytes, whatever its type. The limit is enforced while
 * reading, so a body without `Content-Length` (chunked) cannot grow past it, and a declared
 * `Content-Length` over the limit is refused before a byte is read. A `Content-Encoding: gzip` or
 * `deflate` body is decompressed while it streams in and the limit applies to the decompressed
 * bytes, so a small compressed bomb gets 413 after `limit` bytes, never more in memory.
 */
export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array> {
  const format = contentCoding(request.headers.get('content-encoding'));
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);

  const decoded = format && request.body ? decompress(request.body, format, limit) : undefined;
  try {
    const body = decoded?.stream ?? request.body;
    if (body === null) return new Uint8Array();
    // Performance (docs/performance.md): an uncompressed body with a valid declared length, already
    // checked against the limit, arrives as exactly that many bytes (HTTP framing), so one native
    // read replaces the chunk loop and its promise per chunk.
    if (decoded === undefined && declared !== null && DECIMAL.test(declared)) {
      return new Uint8Array(await request.arrayBuffer());
    }
    return await readLimited(body, limit);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (decoded?.overLimit()) throw tooLarge(limit);
    if (decoded) {
      throw new ApiError('INVALID_ENCODING', `The request body is not valid ${format} data.`, { cause: err });
    }
    throw new ApiError('INVALID_JSON', 'The request body could not be read completely.', { cause: err });
  }
}

/** `bytes` as UTF-8 text, or `null` when they are not valid UTF-8. */
export function utf8Text(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Parses a JSON body already read: 400 INVALID_JSON when it is not UTF-8 JSON. */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  const text = utf8Text(bytes);
  if (text === null) throw new ApiError('INVALID_JSON', 'The request body is not valid UTF-8.');
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('INVALID_JSON', 'The request body is not valid JSON.');
  }
}

/**
 * Reads and parses a JSON request body of at most `limit` bytes ({@link readBodyBytes}), sent
 * with one of the `mediaTypes` (`application/json` unless said) in UTF-8.
 *
 * @returns the body's size in bytes and its parsed value.
 */
export async function readJsonBody(
  request: Request,
  limit: number,
  mediaTypes: readonly string[] = [JSON_MEDIA_TYPE],
): Promise<{ size: number; value: unknown }> {
  assertJsonContentType(request.headers.get('content-type'), mediaTypes);
  const bytes = await readBodyBytes(request, limit);
  return { size: bytes.byteLength, value: parseJsonBytes(bytes) };
}

/**
 * {@link readJsonBody} for a route whose body may be left out (every field optional): no body,
 * or an empty one (by its length, or once read: sent chunked, or compressed from nothing),
 * reads as `{}`.
 */
export async function readOptionalJsonBody(request: Request, limit: number): Promise<unknown> {
  if (request.body === null || request.headers.get('content-length') === '0') return {};
  // A media type given is checked first; none is needed for a body that turns out empty.
  const type = request.headers.get('content-type');
  if (type !== null) assertJsonContentType(type, [JSON_MEDIA_TYPE]);
  const bytes = await readBodyBytes(request, limit);
  if (bytes.byteLength === 0) return {};
  assertJsonContentType(type, [JSON_MEDIA_TYPE]);
  return parseJsonBytes(bytes);
}
