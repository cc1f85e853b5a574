/**
 * The API key of this browser tab. It lives in sessionStorage only: never in a URL, never in
 * localStorage, so it is gone when the tab closes and no other tab sees it.
 */
const STORAGE_KEY = 'triggers.console.apiKey';

export const session = {
  key: (): string | null => sessionStorage.getItem(STORAGE_KEY),
  signIn: (key: string): void => sessionStorage.setItem(STORAGE_KEY, key),
  signOut: (): void => sessionStorage.removeItem(STORAGE_KEY),
};

/** `sk_test_abc1…`: enough of a key to tell which one is in use, never the whole of it. */
export function maskKey(key: string): string {
  const prefix = /^sk_(test|live)_/.exec(key)?.[0] ?? '';
  return `${prefix}${key.slice(prefix.length, prefix.length + 4)}…`;
}
