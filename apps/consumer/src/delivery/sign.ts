/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), in one place: a secret is
 * `whsec_` and the base64 of its key bytes; a signature is `v1,` and the base64 HMAC-SHA256 of
 * `<webhook-id>.<webhook-timestamp>.<body>`. During a rotation every secret that still signs
 * adds an entry, space-separated, so a receiver holding any one of them verifies. Callers get
 * the finished headers from {@link webhookHeaders}; they never assemble a signature.
 */

const PREFIX = 'whsec_';
const encoder = new TextEncoder();

/** The key bytes of a `whsec_…` secret (the prefix is optional, as in the reference libraries). */
export function parseSecret(secret: string): Uint8Array<ArrayBuffer> {
  const text = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new Error('a webhook secret must be whsec_ followed by base64');
  }
  if (binary.length === 0) throw new Error('a webhook secret must not be empty');
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

const toBase64 = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes)));

/**
 * The `webhook-signature` value of one message: `v1,<signature>` for each of `secrets`,
 * space-separated. `timestamp` is in seconds since the epoch.
 */
export async function sign(
  secrets: readonly string[],
  msgId: string,
  timestamp: number,
  payload: string,
): Promise<string> {
  const content = encoder.encode(`${msgId}.${timestamp}.${payload}`);
  const entries = await Promise.all(
    secrets.map(async (secret) => {
      const key = await crypto.subtle.importKey(
        'raw',
        parseSecret(secret),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign'],
      );
      return `v1,${toBase64(await crypto.subtle.sign('HMAC', key, content))}`;
    }),
  );
  return entries.join(' ');
}

/** Who is calling, on every webhook. */
export const USER_AGENT = 'Triggers-Webhooks/1.0';

/** Every header of one attempt: the content type, who sends it, and the Standard Webhooks three. */
export async function webhookHeaders(
  secrets: readonly string[],
  msgId: string,
  at: Date,
  payload: string,
): Promise<Record<string, string>> {
  const timestamp = Math.floor(at.getTime() / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': msgId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': await sign(secrets, msgId, timestamp, payload),
  };
}
