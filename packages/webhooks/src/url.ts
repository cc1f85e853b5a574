import ipaddr from 'ipaddr.js';

/**
 * Which URLs may receive webhooks (SSRF). The ingest Worker applies these rules when a
 * subscription is created or its URL changed, the dispatcher again before every attempt (a rule
 * tightened since, or a subscription stored before it, is caught there).
 *
 * Addresses are classified by ipaddr.js, whose ranges follow the IANA special-purpose registries,
 * rather than by hand: only `unicast` IPv4 and global unicast IPv6 (`2000::/3`, outside every
 * special range) pass. That refuses, besides the private and link-local blocks, every IPv6 form
 * that carries an IPv4 address inside it (mapped, IPv4-compatible, NAT64, 6to4, Teredo), the
 * deprecated site-local block and multicast, however the URL spells them.
 */

/** The IPv6 block IANA allocates for global unicast: everything outside it is special or unassigned. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** Where a URL may point, beside the public internet. */
export interface UrlRules {
  /**
   * Local development (`ENVIRONMENT=development`): `http://127.0.0.1:<port>`, `http://localhost`
   * and `http://[::1]` are allowed too, so that a developer receives on their own machine.
   */
  local: boolean;
}

/** Readers' names for ipaddr.js's address classes (its own names where they read well: `multicast`, `reserved`, `6to4`…). */
const CLASS_NAMES: Record<string, string> = {
  linkLocal: 'link-local (where cloud metadata services answer)',
  carrierGradeNat: 'shared (carrier-grade NAT)',
  uniqueLocal: 'unique-local',
  deprecatedSiteLocal: 'site-local',
  ipv4Mapped: 'IPv4-mapped',
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64',
};

/** The address class of `host` when it is an IP literal (URL hostname form), or undefined for a name. */
function addressClass(host: string): string | undefined {
  const literal = host.startsWith('[') ? host.slice(1, -1) : host;
  // The URL parser has already turned every IPv4 spelling (2130706433, 0x7f.1) into dotted quad,
  // so a host that is not a valid address here is a name.
  if (!ipaddr.isValid(literal)) return undefined;
  const address = ipaddr.parse(literal);
  const range = address.range();
  if (address.kind() === 'ipv6' && range === 'unicast' && !address.match(GLOBAL_UNICAST_V6)) {
    return 'reserved IPv6 (outside 2000::/3)';
  }
  return range;
}

/** Host names that only mean something inside a network (cloud metadata services among them). */
function isInternalName(host: string): boolean {
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.internal') ||
    host.endsWith('.local') ||
    host.endsWith('.home.arpa') ||
    !host.includes('.')
  );
}

const isLoopback = (host: string) => host === 'localhost' || addressClass(host) === 'loopback';

/**
 * Why `text` cannot receive webhooks under `rules`, or undefined when it can. Everywhere: an
 * absolute `https` URL without credentials whose host is a public name or a public unicast
 * address. A host name's trailing dot (`localhost.`, the absolute form of a DNS name) is dropped
 * before it is judged. Under `local` rules, loopback over `http` or `https` too.
 */
export function webhookUrlProblem(text: string, rules: UrlRules): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (host === '' || host.split('.').includes('')) return 'must name a host';
  if (rules.local && isLoopback(host)) return undefined;
  if (url.protocol !== 'https:') {
    return rules.local
      ? 'must use https (http is allowed for 127.0.0.1 and localhost in local development)'
      : 'must use https';
  }
  const range = addressClass(host);
  if (range !== undefined) {
    return range === 'unicast'
      ? undefined
      : `must target a public address, not a ${CLASS_NAMES[range] ?? range} one`;
  }
  if (isInternalName(host)) {
    return 'must name a public host (not localhost, a single label or an internal domain)';
  }
  return undefined;
}
