// Where a business's upstream API may live (seed 003 replays requests there): public addresses by
// default; loopback, private and reserved networks only where the operator's allow-list
// (SYNCLINE_UPSTREAM_ALLOW) opens them; link-local, metadata, multicast, broadcast and unspecified
// addresses never. Pure: the replayer in src/jobs resolves names and asks refuseAddress about the
// very address it is about to connect to.
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** public: anyone may name it; private: only an allow-list entry opens it; never: refused always. */
export type AddressClass = 'public' | 'private' | 'never';

export interface AddressVerdict {
  class: AddressClass;
  /** What the address is, for messages: loopback, private, linkLocal, metadata, … */
  range: string;
  /** For an IPv6 form of an IPv4 address (mapped, NAT64, 6to4, Teredo): which, and what it carries. */
  via?: string;
}

/**
 * Cloud metadata services (instance credentials): AWS IPv6, Alibaba, Azure's wire server, Oracle.
 * The link-local ones (169.254.169.254 on AWS, GCP, Azure, DigitalOcean…) are never allowed anyway.
 */
const metadataAddresses: readonly Address[] = [
  'fd00:ec2::254',
  '100.100.100.200',
  '168.63.129.16',
  '192.0.0.192',
].map((a) => ipaddr.parse(a));

const metadataNames = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

const neverRanges = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal']);

const order: Record<AddressClass, number> = { public: 0, private: 1, never: 2 };
/** The strictest verdict; on a tie the later one (the embedded address) names the range. */
const worst = (...verdicts: AddressVerdict[]): AddressVerdict =>
  verdicts.reduce((a, b) => (order[b.class] >= order[a.class] ? b : a));

const v4FromParts = (high: number, low: number): ipaddr.IPv4 =>
  new ipaddr.IPv4([high >> 8, high & 255, low >> 8, low & 255]);

function classifyV4(address: ipaddr.IPv4): AddressVerdict {
  if (metadataAddresses.some((m) => m.kind() === 'ipv4' && m.toString() === address.toString())) {
    return { class: 'never', range: 'metadata' };
  }
  const range = address.range();
  if (range === 'unicast') return { class: 'public', range };
  return { class: neverRanges.has(range) ? 'never' : 'private', range };
}

/** An IPv6 address that carries an IPv4 address is judged as that address too. */
function carried(form: string, ipv4: ipaddr.IPv4): AddressVerdict {
  const verdict = classifyV4(ipv4);
  return verdict.class === 'public'
    ? verdict
    : { ...verdict, via: `${form} form of ${ipv4.toString()}` };
}

function classifyV6(address: ipaddr.IPv6): AddressVerdict {
  const p = address.parts as [number, number, number, number, number, number, number, number];
  if (metadataAddresses.some((m) => m.kind() === 'ipv6' && m.toString() === address.toString())) {
    return { class: 'never', range: 'metadata' };
  }
  const range = address.range();
  // Addresses that carry an IPv4 address reach (or stand for) that address: judge it too.
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
      return carried('IPv4-mapped', v4FromParts(p[6], p[7]));
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return carried('IPv4-translated', v4FromParts(p[6], p[7]));
    case 'rfc6052': // NAT64 64:ff9b::a.b.c.d (the local-use 64:ff9b:1::/48 is private)
      return p[2] === 0 ? carried('NAT64', v4FromParts(p[6], p[7])) : { class: 'private', range };
    case '6to4': // 2002:AABB:CCDD::
      return worst({ class: 'private', range }, carried('6to4', v4FromParts(p[1], p[2])));
    case 'teredo': // 2001:0:server:…:~client
      return worst(
        { class: 'private', range },
        carried('Teredo', v4FromParts(p[2], p[3])),
        carried('Teredo', v4FromParts(~p[6] & 0xffff, ~p[7] & 0xffff)),
      );
    case 'unicast':
      // IPv4-compatible (::a.b.c.d, deprecated) and the rest of ::/8 are reserved.
      if (p[0] <= 0xff) {
        const embedded = p.slice(0, 6).every((n) => n === 0)
          ? carried('IPv4-compatible', v4FromParts(p[6], p[7]))
          : { class: 'public' as const, range };
        return worst({ class: 'private', range: 'reserved' }, embedded);
      }
      return { class: 'public', range };
    default:
      return { class: neverRanges.has(range) ? 'never' : 'private', range };
  }
}

/** An IP address literal (any form ipaddr.js parses, zone ids included), or undefined. */
export function parseAddress(text: string): Address | undefined {
  const bare = text.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare)) return undefined;
  try {
    return ipaddr.parse(bare);
  } catch {
    return undefined;
  }
}

/** What kind of address this is; anything that does not parse as an address is never allowed. */
export function classifyAddress(text: string | Address): AddressVerdict {
  const address = typeof text === 'string' ? parseAddress(text) : text;
  if (!address) return { class: 'never', range: 'not an IP address' };
  return address.kind() === 'ipv4'
    ? classifyV4(address as ipaddr.IPv4)
    : classifyV6(address as ipaddr.IPv6);
}

/** A host name, lower-cased, without the trailing dots DNS allows. */
const normalName = (host: string) => host.toLowerCase().replace(/\.+$/, '');

function classifyName(name: string): AddressVerdict | undefined {
  if (metadataNames.has(name)) return { class: 'never', range: 'metadata' };
  if (name === 'localhost' || name.endsWith('.localhost')) {
    return { class: 'private', range: 'loopback' };
  }
  return undefined;
}

type HostRule = { kind: 'name'; name: string; port?: number } | { kind: 'suffix'; suffix: string };
type NetworkRule = { network: [Address, number]; port?: number };

/** SYNCLINE_UPSTREAM_ALLOW, compiled: hosts that may be named and networks that may be reached. */
export interface UpstreamAllowList {
  readonly entries: readonly string[];
  readonly hosts: readonly HostRule[];
  readonly networks: readonly NetworkRule[];
}

/**
 * Compiles allow-list entries: `api.example`, `api.example:8443`, `*.shops.example`, an address
 * (`10.0.0.5`, `10.0.0.5:8080`, `[fd00::5]:8080`, any IPv4 spelling) or a CIDR (`10.0.0.0/8`,
 * `fd00::/8`). Names only say which hosts a URL may name; addresses and CIDRs also open the
 * private networks they cover. Throws on an entry that is none of these.
 */
export function compileAllowList(entries: readonly string[]): UpstreamAllowList {
  const hosts: HostRule[] = [];
  const networks: NetworkRule[] = [];
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const bad = () => new TypeError(`"${raw}" is not a host, host:port, *.domain, address or CIDR`);
    if (entry.includes('/')) {
      const cidr = entry.replace(/^\[([^\]]+)\](\/\d+)$/, '$1$2');
      if (!ipaddr.isValidCIDR(cidr)) throw bad();
      networks.push({ network: ipaddr.parseCIDR(cidr) });
      continue;
    }
    if (entry.startsWith('*.')) {
      if (!/^(?:[a-z0-9-]+\.)*[a-z0-9-]+$/.test(entry.slice(2))) throw bad();
      hosts.push({ kind: 'suffix', suffix: normalName(entry.slice(1)) });
      continue;
    }
    const bareV6 = parseAddress(entry);
    if (bareV6?.kind() === 'ipv6' && !entry.startsWith('[')) {
      networks.push({ network: [bareV6, 128] });
      continue;
    }
    let url: URL;
    try {
      url = new URL(`http://${entry}`);
    } catch {
      throw bad();
    }
    if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) throw bad();
    const explicitPort = /:(\d{1,5})$/.exec(entry);
    const port = explicitPort ? Number(explicitPort[1]) : undefined;
    const address = parseAddress(url.hostname);
    if (address) {
      const bits = address.kind() === 'ipv4' ? 32 : 128;
      networks.push({ network: [address, bits], ...(port !== undefined ? { port } : {}) });
    } else {
      hosts.push({ kind: 'name', name: normalName(url.hostname), ...(port ? { port } : {}) });
    }
  }
  return { entries: [...entries], hosts, networks };
}

/** The port a URL connects to. */
export const portOf = (url: URL): number =>
  url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;

const sameFamily = (a: Address, b: Address) => a.kind() === b.kind();

function inNetworks(allow: UpstreamAllowList, address: Address, port: number): boolean {
  // An IPv4-mapped address is matched as the IPv4 address it is.
  const plain =
    address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
      ? (address as ipaddr.IPv6).toIPv4Address()
      : address;
  return allow.networks.some(
    (rule) =>
      sameFamily(plain, rule.network[0]) &&
      plain.match(rule.network) &&
      (rule.port === undefined || rule.port === port),
  );
}

function hostListed(allow: UpstreamAllowList, url: URL, name: string): boolean {
  const port = portOf(url);
  return allow.hosts.some((rule) =>
    rule.kind === 'suffix'
      ? name.endsWith(rule.suffix)
      : rule.name === name && (rule.port === undefined || rule.port === port),
  );
}

const labels: Record<string, string> = {
  linkLocal: 'link-local',
  carrierGradeNat: 'carrier-grade NAT',
  uniqueLocal: 'unique local',
  rfc6052: 'NAT64',
  deprecatedSiteLocal: 'site-local',
};

const refusal = (shown: string, verdict: AddressVerdict) => {
  const label = labels[verdict.range] ?? verdict.range;
  const article = /^(?:[aeio]|un(?!i))/.test(label) ? 'an' : 'a';
  const what = `${shown} is ${article} ${label} address${verdict.via ? ` (${verdict.via})` : ''}`;
  return verdict.class === 'never'
    ? `${what}, which is never allowed`
    : `${what}; loopback, private and reserved addresses are refused unless SYNCLINE_UPSTREAM_ALLOW lists them`;
};

/** The operator's rules for upstream hosts and the addresses they may be reached at. */
export interface UpstreamPolicy {
  readonly allow: UpstreamAllowList | undefined;
  /** Why this URL's host may not be named (literal addresses judged as they are), or undefined. */
  refuseHost(url: URL): string | undefined;
  /** Why `host` may not be reached at `address` on `port` (a DNS answer, or the literal). */
  refuseAddress(host: string, address: string, port: number): string | undefined;
}

export function createUpstreamPolicy(allowEntries?: readonly string[]): UpstreamPolicy {
  const compiled =
    allowEntries && allowEntries.length > 0 ? compileAllowList(allowEntries) : undefined;
  const allow =
    compiled && compiled.hosts.length + compiled.networks.length > 0 ? compiled : undefined;

  const refuseAddress = (host: string, text: string, port: number): string | undefined => {
    const address = parseAddress(text);
    const verdict = classifyAddress(address ?? text);
    const shown =
      host.replace(/^\[|\]$/g, '') === text ? text : `${host} resolves to ${text}, which`;
    if (!address) return `${shown} is not an IP address`;
    if (verdict.class === 'never') return refusal(shown, verdict);
    if (verdict.class === 'private' && !(allow && inNetworks(allow, address, port))) {
      return refusal(shown, verdict);
    }
    return undefined;
  };

  return {
    allow,
    refuseAddress,
    refuseHost(url) {
      const name = normalName(url.hostname.replace(/^\[|\]$/g, ''));
      const port = portOf(url);
      const literal = parseAddress(name);
      if (literal) {
        if (allow && !inNetworks(allow, literal, port) && !hostListed(allow, url, name)) {
          return `host ${url.host} is not in SYNCLINE_UPSTREAM_ALLOW`;
        }
        return refuseAddress(name, name, port);
      }
      const verdict = classifyName(name);
      if (verdict?.class === 'never') return refusal(url.hostname, verdict);
      if (allow && !hostListed(allow, url, name)) {
        return `host ${url.host} is not in SYNCLINE_UPSTREAM_ALLOW`;
      }
      // localhost resolves to loopback: only an allow-listed loopback address opens it.
      if (verdict && !allow) return refusal(url.hostname, verdict);
      return undefined;
    },
  };
}
