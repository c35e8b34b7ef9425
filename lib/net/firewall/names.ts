/**
 * Validation of everything that ends up on a firewall command line, and the
 * comment stored with each kernel entry so a restart can read back why and
 * since when an address is blocked.
 */
import { parseIp, formatIp, normalizeIp, type IpFamily } from '../../base/cidr';

/** iptables chain names: at most 28 characters; the built-in names are refused. (Sources for the settings schema, blocker.ts.) */
export const CHAIN_NAME = '[A-Za-z][A-Za-z0-9_-]{0,27}';
const CHAIN = new RegExp(`^${CHAIN_NAME}$`);
const BUILTIN_CHAINS = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING', 'ACCEPT', 'DROP', 'REJECT', 'RETURN', 'QUEUE', 'LOG']);
/** ipset names are limited to 31 characters; the backend appends '-v4'/'-v6'. */
export const SET_BASE_NAME = '[A-Za-z][A-Za-z0-9_-]{0,27}';
const SET_BASE = new RegExp(`^${SET_BASE_NAME}$`);
/** nft identifiers kept to a conservative subset. */
export const NFT_TABLE_NAME = '[A-Za-z][A-Za-z0-9_]{0,31}';
const NFT_NAME = new RegExp(`^${NFT_TABLE_NAME}$`);

export function validateChainName(name: string): string {
  if (typeof name !== 'string' || !CHAIN.test(name)) {
    throw new Error(`invalid chain name '${String(name)}': 1-28 characters, letters, digits, '_' or '-', starting with a letter`);
  }
  if (BUILTIN_CHAINS.has(name.toUpperCase())) throw new Error(`invalid chain name '${name}': that is a built-in chain or target; the node needs its own chain`);
  return name;
}

export function validateSetName(name: string): string {
  if (typeof name !== 'string' || !SET_BASE.test(name)) {
    throw new Error(`invalid set name '${String(name)}': 1-28 characters, letters, digits, '_' or '-', starting with a letter`);
  }
  return name;
}

export function validateNftName(name: string): string {
  if (typeof name !== 'string' || !NFT_NAME.test(name)) {
    throw new Error(`invalid nftables table name '${String(name)}': 1-32 characters, letters, digits or '_', starting with a letter`);
  }
  return name;
}

/** A whole number in [min, max], or throws naming the setting. */
export function validateInt(what: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`invalid ${what} '${String(value)}': a whole number from ${min} to ${max}`);
  }
  return n;
}

/**
 * A single host address in canonical text, or throws with the reason.
 * Networks, unspecified, broadcast and multicast addresses are refused: a
 * block names one offender.
 */
export function validateHostIp(input: unknown): { ip: string; family: IpFamily } {
  if (typeof input !== 'string' || input.trim() === '') throw new Error(`invalid IP address '${String(input)}': expected an IPv4 or IPv6 address`);
  const text = input.trim();
  if (text.includes('/')) {
    const [addr, prefix] = text.split('/');
    const p = parseIp(addr);
    const host = p && ((p.family === 4 && prefix === '32') || (p.family === 6 && prefix === '128'));
    if (!host) throw new Error(`invalid IP address '${text}': blocks take single addresses, not networks`);
    return validateHostIp(addr);
  }
  if (text.includes('%')) throw new Error(`invalid IP address '${text}': zone indexes are not allowed`);
  const p = parseIp(text);
  if (!p) throw new Error(`invalid IP address '${text}': expected an IPv4 or IPv6 address`);
  const b = p.bytes;
  if (p.family === 4) {
    if (b.every((x) => x === 0)) throw new Error(`invalid IP address '${text}': the unspecified address cannot be blocked`);
    if (b.every((x) => x === 255)) throw new Error(`invalid IP address '${text}': the broadcast address cannot be blocked`);
    if (b[0] >= 224 && b[0] <= 239) throw new Error(`invalid IP address '${text}': multicast addresses cannot be blocked`);
    return { ip: formatIp(b), family: 4 };
  }
  if (b.every((x) => x === 0)) throw new Error(`invalid IP address '${text}': the unspecified address cannot be blocked`);
  if (b[0] === 0xff) throw new Error(`invalid IP address '${text}': multicast addresses cannot be blocked`);
  // An IPv4-mapped address is the IPv4 host; the kernel sees it as IPv4.
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return validateHostIp(formatIp(b.slice(12)));
  return { ip: formatIp(b), family: 6 };
}

/** What a block names: an IPv4 or IPv6 host, or a link-layer sender (MAC). */
export type BlockFamily = IpFamily | 'mac';

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

/** True when `text` is written as a MAC (six colon-separated hex pairs), which no IP address is. */
export function looksLikeMac(text: string): boolean {
  return MAC.test(text.trim());
}

/**
 * One unicast MAC in canonical text (lowercase aa:bb:cc:dd:ee:ff), or throws
 * with the reason. Broadcast, multicast (group bit set) and the zero address
 * name no single device, so they are refused; other spellings (dashes, dots,
 * no separators) are refused rather than guessed.
 */
export function validateMac(input: unknown): string {
  const text = typeof input === 'string' ? input.trim() : '';
  if (!MAC.test(text)) throw new Error(`invalid MAC address '${String(input)}': expected six colon-separated hex pairs, like aa:bb:cc:dd:ee:ff`);
  const mac = text.toLowerCase();
  if (mac === '00:00:00:00:00:00') throw new Error(`invalid MAC address '${text}': the zero address cannot be blocked`);
  if (mac === 'ff:ff:ff:ff:ff:ff') throw new Error(`invalid MAC address '${text}': the broadcast address cannot be blocked`);
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new Error(`invalid MAC address '${text}': multicast addresses cannot be blocked`);
  return mac;
}

/** What a block or unblock names, validated: a host IP (validateHostIp) or a MAC (validateMac). */
export function validateBlockTarget(input: unknown): { ip: string; family: BlockFamily } {
  if (typeof input === 'string' && looksLikeMac(input)) return { ip: validateMac(input), family: 'mac' };
  try {
    return validateHostIp(input);
  } catch (err) {
    const m = (err as Error).message;
    throw new Error(m.endsWith('expected an IPv4 or IPv6 address') ? `${m} or a MAC address (aa:bb:cc:dd:ee:ff)` : m);
  }
}

/** An address as a tool printed it, in canonical text for its family (MACs lowercase); throws when it is not one. */
export function canonicalAddress(text: string, family: BlockFamily): string {
  if (family !== 'mac') return normalizeIp(text);
  if (!looksLikeMac(text)) throw new Error(`not a MAC address: '${text}'`);
  return text.trim().toLowerCase();
}

/** Rule ids as stored in the kernel comment: short, no spaces. */
const RULE = /^[A-Za-z0-9_.:-]{1,48}$/;

/** What the kernel keeps beside each address so a restart can read it back. */
export interface EntryNote {
  /** ms since epoch (stored with one-second resolution). */
  since: number;
  /** ms since epoch, 0 = never. Only the plain-rules backend needs it: sets keep their own timeout. */
  expires?: number;
  rule: string;
  reason: string;
}

/** Longest comment written: nft keeps 128 bytes of element comment, ipset 255, xt_comment 255. */
export const MAX_COMMENT = 120;

/** Printable ASCII without quotes or backslashes: safe inside nft's double-quoted strings and iptables -S output. */
function cleanText(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, ' ').replace(/["'`\\]/g, '').replace(/\s+/g, ' ').trim();
}

export function encodeNote(n: EntryNote): string {
  const rule = RULE.test(n.rule) ? n.rule : 'manual';
  const head = `ips s=${Math.floor(n.since / 1000)}${n.expires !== undefined ? ` e=${Math.floor(n.expires / 1000)}` : ''} r=${rule}`;
  const reason = cleanText(n.reason);
  const text = reason ? `${head} ${reason}` : head;
  return text.length > MAX_COMMENT ? text.slice(0, MAX_COMMENT) : text;
}

/** Read a comment written by `encodeNote`; null when it is not ours. */
export function decodeNote(comment: string | undefined): EntryNote | null {
  if (!comment) return null;
  const m = /^ips s=(\d+)(?: e=(\d+))? r=(\S+) ?(.*)$/.exec(comment);
  if (!m) return null;
  return {
    since: Number(m[1]) * 1000,
    ...(m[2] !== undefined ? { expires: Number(m[2]) * 1000 } : {}),
    rule: m[3],
    reason: m[4],
  };
}
