import { createHash, randomBytes } from 'node:crypto';

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

/** 4 characters (20 bits) naming a campaign inside its click ids. */
export function campaignCode(campaignId: string): string {
  const hash = createHash('sha256').update(campaignId, 'utf8').digest();
  const bits = ((hash[0] ?? 0) << 12) | ((hash[1] ?? 0) << 4) | ((hash[2] ?? 0) >> 4);
  let code = '';
  for (let shift = 15; shift >= 0; shift -= 5) code += ALPHABET[(bits >> shift) & 31];
  return code;
}

/**
 * A click id: a ULID (26 characters, time first) followed by the campaign's 4-character code —
 * 30 URL-safe characters, 80 random bits, sortable by time. The code lets the clicks table be
 * keyed by campaign without a secondary index (see clickPartition).
 */
export function mintClickId(campaignId: string, now: number = Date.now(), random?: Buffer): string {
  return mintId(now, random) + campaignCode(campaignId);
}

const CLICK_ID = /^[0-9A-HJKMNP-TV-Z]{30}$/;
/** Any click id this tracker minted: today's 30 characters, or the bare 26-character ULID of the first release. */
const MINTED_CLICK_ID = /^[0-9A-HJKMNP-TV-Z]{26}(?:[0-9A-HJKMNP-TV-Z]{4})?$/;

/**
 * Whether a value can be a click id of this tracker. Fields other tools also fill (the IPN's
 * `custom`, `trackingkey`) are read as a click id only when it is one.
 */
export function isClickId(value: string): boolean {
  return MINTED_CLICK_ID.test(value);
}

/**
 * The clicks-table partition of a click id: its campaign code and one of 32 shards (the
 * ULID's last random character), so one campaign spreads over 32 partitions and a report
 * reads a campaign's clicks for a time range with 32 key-range queries. Ids not minted here
 * get a partition of their own (they are looked up, never found).
 */
export function clickPartition(clickId: string): string {
  return CLICK_ID.test(clickId) ? `${clickId.slice(26)}#${clickId.charAt(25)}` : `~${clickId}`;
}

/** Every partition a campaign's clicks can be in. */
export function campaignPartitions(campaignId: string): string[] {
  const code = campaignCode(campaignId);
  return [...ALPHABET].map((shard) => `${code}#${shard}`);
}
