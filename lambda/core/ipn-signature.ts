/**
 * Digistore24 IPN signatures (`sha_sign`, also sent as `SHASIGN`): SHA-512 over the fields
 * sorted by key (byte order), empty values skipped, each as `key=value` followed by the
 * passphrase; upper-case hex. Some accounts sign with upper-cased keys; both are accepted.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type IpnFields = ReadonlyMap<string, string>;

const SIGNATURE_FIELDS = new Set(['sha_sign', 'SHASIGN']);

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function ipnSignature(fields: IpnFields, passphrase: string, upperCaseKeys = false): string {
  const entries: [string, string][] = [];
  for (const [key, value] of fields) {
    if (SIGNATURE_FIELDS.has(key) || value === '') continue;
    entries.push([upperCaseKeys ? key.toUpperCase() : key, value]);
  }
  entries.sort(([a], [b]) => byteOrder(a, b));
  const hash = createHash('sha512');
  for (const [key, value] of entries) hash.update(`${key}=${value}${passphrase}`, 'utf8');
  return hash.digest('hex').toUpperCase();
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toUpperCase(), 'utf8');
  const y = Buffer.from(b, 'utf8');
  // timingSafeEqual needs equal lengths; a length mismatch reveals only that it is wrong.
  return x.length === y.length && timingSafeEqual(x, y);
}

export type SignatureCheck = { valid: true } | { valid: false; reason: 'missing_signature' | 'bad_signature' };

/** Checks the signature in constant time (per candidate). */
export function verifyIpnSignature(fields: IpnFields, passphrase: string): SignatureCheck {
  const given = fields.get('sha_sign') || fields.get('SHASIGN');
  if (!given) return { valid: false, reason: 'missing_signature' };
  const standard = sameHex(given, ipnSignature(fields, passphrase));
  const upper = sameHex(given, ipnSignature(fields, passphrase, true));
  return standard || upper ? { valid: true } : { valid: false, reason: 'bad_signature' };
}
