import { randomBytes } from 'node:crypto';

/** Crockford base32: no I, L, O, U; URL-safe and accepted by Digistore24's cid. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Mints a ULID: 26 characters, 48 bits of millisecond time then 80 random bits. URL-safe,
 * unguessable, and lexicographic order is time order, so click ids double as sort keys.
 */
export function mintId(now: number = Date.now(), random: Buffer = randomBytes(10)): string {
  if (!Number.isInteger(now) || now < 0 || now > 2 ** 48 - 1) throw new RangeError(`time out of ULID range: ${now}`);
  if (random.length !== 10) throw new RangeError('ULID needs exactly 10 random bytes');
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  let bits = 0;
  let value = 0;
  for (const byte of random) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ALPHABET[(value >> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  return time + rand;
}

/** Milliseconds since the epoch encoded in a ULID, or undefined when it is not one. */
export function idTime(id: string): number | undefined {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) return undefined;
  let t = 0;
  for (const ch of id.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(ch);
  return t;
}
