import { ApiError } from './errors.ts';

/** Media types accepted for JSON bodies. */
const JSON_MEDIA_TYPE = 'application/json';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

const tooLarge = (limit: number) =>
  new ApiError('PAYLOAD_TOO_LARGE', `The request body exceeds the limit of ${limit} bytes.`, {
    details: { limit_bytes: limit },
  });

function assertJsonContentType(header: string | null): void {
  const [type = '', ...params] = (header ?? '').split(';');
  const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='));
  const isUtf8 = charset === undefined || /^charset="?utf-8"?$/.test(charset);
  if (type.trim().toLowerCase() !== JSON_MEDIA_TYPE || !isUtf8) {
    throw new ApiError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the body as JSON with "Content-Type: application/json".',
      {
        details: { allowed: [JSON_MEDIA_TYPE] },
      },
    );
  }
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
 * Reads and parses a JSON request body of at most `limit` bytes. The limit is enforced while
 * reading, so a body without `Content-Length` (chunked) cannot grow past it, and a declared
 * `Content-Length` over the limit is refused before a byte is read.
 *
 * @returns the body's size in bytes and its parsed value.
 */
export async function readJsonBody(
  request: Request,
  limit: number,
): Promise<{ size: number; value: unknown }> {
  assertJsonContentType(request.headers.get('content-type'));
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);

  let bytes: Uint8Array;
  try {
    bytes = request.body === null ? new Uint8Array() : await readLimited(request.body, limit);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError('INVALID_JSON', 'The request body could not be read completely.', { cause: err });
  }

  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ApiError('INVALID_JSON', 'The request body is not valid UTF-8.');
  }
  try {
    return { size: bytes.byteLength, value: JSON.parse(text) };
  } catch {
    throw new ApiError('INVALID_JSON', 'The request body is not valid JSON.');
  }
}
