/**
 * API keys: their format, how they are stored and how they are created. Runtime-neutral
 * (WebCrypto only), so the ingest Worker and the local key command share one definition.
 *
 * A key looks like `sk_test_…` or `sk_live_…`. It is never stored: the store (the `AUTH_KV`
 * namespace) maps `key:<sha256 hex of the key>` to an {@link ApiKeyRecord}, and
 * `key-id:<id>` to that hash so a key can be revoked by its id.
 */
import * as v from 'valibot';

export const ApiKeyMode = v.picklist(['test', 'live']);
export type ApiKeyMode = v.InferOutput<typeof ApiKeyMode>;

/** What the store holds for a key. */
export const ApiKeyRecord = v.object({
  /** Stable, public identifier: the tenant id events are filed under. */
  id: v.pipe(v.string(), v.minLength(1)),
  name: v.string(),
  mode: ApiKeyMode,
  revoked: v.boolean(),
  created_at: v.pipe(v.string(), v.isoTimestamp()),
});
export type ApiKeyRecord = v.InferOutput<typeof ApiKeyRecord>;

/** `sk_<mode>_<secret>`: the secret is 8 to 128 letters and digits. */
const KEY_PATTERN = /^sk_(test|live)_[A-Za-z0-9]{8,128}$/;

/** The mode a well-formed key declares, or `undefined` for anything else. */
export function parseApiKey(key: string): ApiKeyMode | undefined {
  const match = KEY_PATTERN.exec(key);
  return match ? (match[1] as ApiKeyMode) : undefined;
}

const encoder = new TextEncoder();

/**
 * Each byte's two hex digits, computed once. The ingest Worker hashes the key of every request,
 * and its profile put `hashApiKey`'s own time (this loop; the digest itself runs in the runtime)
 * at 8 % of the Worker's JavaScript time with a `toString(16).padStart()` per byte
 * (docs/performance.md).
 */
const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** Lowercase hex SHA-256 of the key: the only form in which a key is stored. */
export async function hashApiKey(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(key)));
  let hex = '';
  for (const byte of digest) hex += HEX_BYTES[byte];
  return hex;
}

/** Store key under which a key's record lives. */
export const recordKey = (hash: string): string => `key:${hash}`;
/** Store key mapping a key id to its hash, for revocation by id. */
export const idKey = (id: string): string => `key-id:${id}`;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomToken(length: number): string {
  // 62 letters: reject bytes >= 248 so every letter is equally likely.
  let out = '';
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export interface NewApiKey {
  /** The secret: show it once, never store it. */
  key: string;
  hash: string;
  record: ApiKeyRecord;
}

/**
 * What a key id may hold: letters, digits, `_` and `-`. The id names the tenant's store objects,
 * and an era's object adds `@<start>` to it (event-store's eras.ts), so no id can be another's era.
 */
export const API_KEY_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Builds a key and its record. `key` may be given to register a known key (local seeding). */
export async function createApiKey(options: {
  name: string;
  mode: ApiKeyMode;
  key?: string;
  id?: string;
}): Promise<NewApiKey> {
  const key = options.key ?? `sk_${options.mode}_${randomToken(32)}`;
  if (parseApiKey(key) !== options.mode) throw new Error(`not a well-formed sk_${options.mode}_ key`);
  if (options.id !== undefined && !API_KEY_ID.test(options.id)) {
    throw new Error('a key id holds 1 to 128 letters, digits, _ or -');
  }
  const hash = await hashApiKey(key);
  const record: ApiKeyRecord = {
    id: options.id ?? `key_${randomToken(16)}`,
    name: options.name,
    mode: options.mode,
    revoked: false,
    created_at: new Date().toISOString(),
  };
  return { key, hash, record };
}
