/**
 * Which webhook targets are allowed (server-side request forgery guard).
 *
 * A webhook URL is chosen by the client, and our workers POST to it from inside the cluster's
 * network. So: http/https only, no credentials in the URL, and — unless WEBHOOK_ALLOW_PRIVATE —
 * never an address that is loopback, private, link-local, unique-local, CGNAT, multicast or
 * otherwise not on the public internet.
 *
 * Two checks, because a name's addresses can change between submission and delivery:
 * - at submission (`webhookUrlProblem`): the URL, and the address when the host is an IP
 *   literal or `localhost`; names are not resolved there (DNS can change anyway);
 * - at each delivery attempt (`resolveTarget`): the name is resolved and every candidate
 *   checked; the caller then connects to the returned address itself (not to the name again),
 *   so a DNS answer that changes between check and connect (rebinding) cannot get through.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

interface Range {
  net: string;
  prefix: number;
  why: string;
}

// IPv4 ranges also catch IPv4-mapped IPv6 (::ffff:a.b.c.d): node's BlockList matches those.
const V4: Range[] = [
  { net: '0.0.0.0', prefix: 8, why: '"this network"' },
  { net: '10.0.0.0', prefix: 8, why: 'private' },
  { net: '100.64.0.0', prefix: 10, why: 'carrier-grade NAT' },
  { net: '127.0.0.0', prefix: 8, why: 'loopback' },
  { net: '169.254.0.0', prefix: 16, why: 'link-local' },
  { net: '172.16.0.0', prefix: 12, why: 'private' },
  { net: '192.0.0.0', prefix: 24, why: 'IETF protocol assignments' },
  { net: '192.0.2.0', prefix: 24, why: 'documentation' },
  { net: '192.88.99.0', prefix: 24, why: '6to4 relay anycast' },
  { net: '192.168.0.0', prefix: 16, why: 'private' },
  { net: '198.18.0.0', prefix: 15, why: 'benchmarking' },
  { net: '198.51.100.0', prefix: 24, why: 'documentation' },
  { net: '203.0.113.0', prefix: 24, why: 'documentation' },
  { net: '224.0.0.0', prefix: 4, why: 'multicast' },
  { net: '240.0.0.0', prefix: 4, why: 'reserved' },
];

const V6: Range[] = [
  { net: '::', prefix: 96, why: 'unspecified, loopback or IPv4-compatible' },
  { net: '::ffff:0:0:0', prefix: 96, why: 'IPv4-translated (SIIT, RFC 2765)' },
  { net: '64:ff9b:1::', prefix: 48, why: 'local-use NAT64' },
  { net: '100::', prefix: 64, why: 'discard-only' },
  { net: '2001::', prefix: 32, why: 'Teredo tunnel' },
  { net: '2001:2::', prefix: 48, why: 'benchmarking' },
  { net: '2001:db8::', prefix: 32, why: 'documentation' },
  { net: '3fff::', prefix: 20, why: 'documentation' },
  { net: 'fc00::', prefix: 7, why: 'unique-local' },
  { net: 'fe80::', prefix: 10, why: 'link-local' },
  { net: 'fec0::', prefix: 10, why: 'site-local' },
  { net: 'ff00::', prefix: 8, why: 'multicast' },
];

const RANGES = [...V4.map((r) => ({ ...r, family: 'ipv4' as const })), ...V6.map((r) => ({ ...r, family: 'ipv6' as const }))].map(
  (r) => {
    const list = new BlockList();
    list.addSubnet(r.net, r.prefix, r.family);
    return { list, why: r.why };
  },
);

/** An IPv6 address → its eight 16-bit groups (the address must be valid, see `isIP`). */
function ipv6Groups(ip: string): number[] {
  let text = ip.split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  const t = parse(tail);
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** The IPv4 address carried inside NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses. */
function embeddedIPv4(ip: string): string | null {
  const g = ipv6Groups(ip);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4(g[6]!, g[7]!);
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!);
  return null;
}

/** Why `ip` is not a public internet address (e.g. "loopback"), or null when it is. */
export function addressProblem(ip: string): string | null {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const r of RANGES) if (r.list.check(ip, type)) return r.why;
  if (family === 6) {
    const inner = embeddedIPv4(ip);
    if (inner) {
      const why = addressProblem(inner);
      if (why) return `${why} (embedded IPv4 ${inner})`;
    }
  }
  return null;
}

export interface TargetPolicy {
  /** WEBHOOK_ALLOW_PRIVATE: loopback/private targets are fine (local setups, tests) */
  allowPrivate: boolean;
}

/** `[::1]` → `::1`: URL keeps the brackets of IPv6 literals. */
export const bareHost = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

const isLocalhostName = (host: string) => /^localhost\.?$/i.test(host) || /\.localhost\.?$/i.test(host);

const hasSpaceOrControl = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
};

/**
 * Why `url` may not be a webhook target, or null. Checks what can be checked without DNS:
 * no spaces or control characters, absolute http(s) URL, no user:password, and — unless private targets are allowed — no
 * private IP literal and no `localhost`. Names are checked when delivering (`resolveTarget`).
 */
export function webhookUrlProblem(url: string, policy: TargetPolicy): string | null {
  // The URL parser drops spaces and control characters at the ends and tabs and newlines inside,
  // so such a URL would be delivered to, yet stored and shown as sent: refused instead.
  if (hasSpaceOrControl(url)) return 'webhook URL must not contain spaces or control characters (percent-encode them)';
  if (!URL.canParse(url)) return 'webhook must be an absolute http(s) URL';
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'webhook must be an http or https URL';
  if (u.username || u.password) return 'webhook URL must not contain credentials';
  if (!u.hostname) return 'webhook URL needs a host';
  // Port 0 is no port: nothing could ever be delivered there.
  if (u.port === '0') return 'webhook URL port must be 1 to 65535';
  if (policy.allowPrivate) return null;
  const host = bareHost(u);
  if (isLocalhostName(host)) return 'webhook targets localhost, which is refused (WEBHOOK_ALLOW_PRIVATE=true allows it)';
  if (isIP(host)) {
    const why = addressProblem(host);
    if (why) return `webhook targets ${/^(unspecified|IETF|IPv4)/.test(why) ? 'an' : 'a'} ${why} address, which is refused (WEBHOOK_ALLOW_PRIVATE=true allows it)`;
  }
  return null;
}

export interface ResolvedTarget {
  address: string;
  family: 4 | 6;
}

export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Thrown when a target is refused by the policy (the attempt records the message). */
export class TargetRefusedError extends Error {
  override readonly name = 'TargetRefusedError';
}

/**
 * The address to connect to for `url`: the literal itself, or the first resolved address the
 * policy allows. Throws TargetRefusedError when none is allowed (DNS errors propagate).
 */
export async function resolveTarget(url: URL, policy: TargetPolicy, lookup: Lookup = systemLookup): Promise<ResolvedTarget> {
  const problem = webhookUrlProblem(url.href, policy);
  if (problem) throw new TargetRefusedError(problem);
  const host = bareHost(url);
  const family = isIP(host);
  const candidates = family ? [{ address: host, family }] : await lookup(host);
  const refused: string[] = [];
  for (const c of candidates) {
    const why = policy.allowPrivate ? null : addressProblem(c.address);
    if (!why) return { address: c.address, family: c.family === 6 ? 6 : 4 };
    refused.push(why);
  }
  // The kinds of address, not the addresses: the message is the tenant's to read (its delivery
  // history), and an internal name's private address is not theirs to learn.
  throw new TargetRefusedError(
    refused.length ? `refused: ${host} resolves only to non-public addresses (${[...new Set(refused)].join('; ')})` : `${host} has no address`,
  );
}
