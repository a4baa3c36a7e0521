/**
 * Postback protection: a per-source secret key (the `key` query parameter or the path
 * `/postback/<key>`), compared in constant time, and an optional IP allowlist per source.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { IpStorage } from '../../config/schema';
import { storableIp } from './ip';

export interface ProtectedSource {
  id: string;
  /** The source's accepted keys (several while a key is being rotated); undefined = unreadable/unset. */
  keys: () => Promise<(string | undefined)[]>;
  /** Address ranges allowed to use this source's keys; undefined = any. */
  allowedIps?: readonly string[];
}

export interface Protection {
  required: boolean;
  sources: ProtectedSource[];
}

export type AuthResult =
  /** `source` and `keyIndex` (position in its keys) when a key matched; neither when none was needed. */
  | { ok: true; source?: string; keyIndex?: number }
  | { ok: false; reason: 'missing_key' | 'bad_key' | 'ip_not_allowed' | 'keys_unavailable'; message: string };

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time equality: both sides hashed to 32 bytes, so length leaks nothing. */
export function secretEquals(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export function blockListOf(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [address = '', bits] = range.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

export function ipAllowed(ip: string | undefined, list: BlockList): boolean {
  if (!ip) return false;
  if (isIPv4(ip)) return list.check(ip, 'ipv4');
  if (isIPv6(ip)) return list.check(ip, 'ipv6');
  return false;
}

/**
 * The check every postback passes. `ipStorage` is the config's policy: the refusal of an address
 * quotes it only as far as the policy lets it be stored (the answer is kept in the inbound log).
 */
export function createProtection(protection: Protection, ipStorage: IpStorage = 'truncated'): (key: string | undefined, ip: string | undefined) => Promise<AuthResult> {
  const lists = new Map(protection.sources.map((s) => [s.id, s.allowedIps ? blockListOf(s.allowedIps) : undefined]));
  return async (key, ip) => {
    if (key === undefined || key === '') {
      return protection.required
        ? { ok: false, reason: 'missing_key', message: 'Forbidden: this tracker requires the postback key (add &key=... or use /postback/<key>). Nothing was recorded.' }
        : { ok: true };
    }
    let matched: ProtectedSource | undefined;
    let matchedIndex = -1;
    let readable = false;
    for (const source of protection.sources) {
      let keys: (string | undefined)[];
      try {
        keys = await source.keys();
      } catch {
        continue;
      }
      keys.forEach((expected, index) => {
        if (expected === undefined) return;
        readable = true;
        // No early exit: every configured key is compared.
        if (secretEquals(key, expected) && !matched) {
          matched = source;
          matchedIndex = index;
        }
      });
    }
    if (!matched) {
      if (!readable) return { ok: false, reason: 'keys_unavailable', message: 'Unavailable: the postback keys could not be read. Please retry.' };
      return { ok: false, reason: 'bad_key', message: 'Forbidden: the postback key is not valid. Nothing was recorded.' };
    }
    const list = lists.get(matched.id);
    if (list && !ipAllowed(ip, list)) {
      const stored = storableIp(ip, ipStorage);
      const who = stored === undefined ? 'this address' : ipStorage === 'full' ? stored : `an address in ${stored}/${stored.includes(':') ? 48 : 24}`;
      return { ok: false, reason: 'ip_not_allowed', message: `Forbidden: ${who} may not send postbacks for source ${matched.id}. Nothing was recorded.` };
    }
    return { ok: true, source: matched.id, keyIndex: matchedIndex };
  };
}
