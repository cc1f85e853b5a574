/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 of
 * `<webhook-id>.<webhook-timestamp>.<body>` with the secret's bytes (the base64 after `whsec_`),
 * written `v1,<base64>`; one entry per valid secret, space-separated, so that a receiver holding
 * either secret verifies during a rotation.
 */

const encoder = new TextEncoder();

function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function bytesToBase64(bytes: ArrayBuffer): string {
  let binary = '';
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The `webhook-signature` header value for one message, signed with every secret in `secrets`. */
export async function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const content = encoder.encode(`${id}.${timestamp}.${body}`);
  const entries = await Promise.all(
    secrets.map(async (secret) => {
      const key = await crypto.subtle.importKey(
        'raw',
        base64ToBytes(secret.replace(/^whsec_/, '')),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign'],
      );
      return `v1,${bytesToBase64(await crypto.subtle.sign('HMAC', key, content))}`;
    }),
  );
  return entries.join(' ');
}
