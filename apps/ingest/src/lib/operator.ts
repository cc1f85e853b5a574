import type { IngestEnv } from '../env.ts';
import { bearerToken } from './bearer.ts';

/**
 * An `OPERATOR_TOKEN` shorter than this is ignored, as if unset: a token an attacker could guess
 * must not unlock anything.
 */
export const MIN_OPERATOR_TOKEN_LENGTH = 32;

const sha256 = async (text: string) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));

/**
 * Whether `request` carries the operator token (`Authorization: Bearer <OPERATOR_TOKEN>`, a
 * secret: `.dev.vars` locally, `wrangler secret put OPERATOR_TOKEN` deployed). Compared in
 * constant time over both tokens' SHA-256, so neither the content nor the length of the secret
 * shows in the time taken. False when the secret is unset or too short.
 *
 * @example
 * if (await isOperator(request, env)) body.store = await storeHealth(env);
 */
export async function isOperator(request: Request, env: IngestEnv): Promise<boolean> {
  const expected = env.OPERATOR_TOKEN;
  if (expected === undefined || expected.length < MIN_OPERATOR_TOKEN_LENGTH) return false;
  const given = bearerToken(request.headers.get('authorization'));
  if (given === undefined) return false;
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}
