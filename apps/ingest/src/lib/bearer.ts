/**
 * The token of an `Authorization: Bearer <token>` header, or undefined: how both the API key
 * (middleware/auth.ts) and the operator token (operator.ts) are sent.
 */
export function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^Bearer +(\S+)$/i.exec(header.trim());
  return match?.[1];
}
