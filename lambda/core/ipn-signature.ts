/**
 * Digistore24 IPN signatures (`sha_sign`, also sent as `SHASIGN`): SHA-512 over the fields
 * sorted by key (byte order), empty values skipped, each as `key=value` followed by the
 * passphrase; upper-case hex. The signature fields themselves are left out (by name, in any
 * letter case, as Digistore24's reference code `ds24-appkit` lib/digistore/ipn.ts does).
 *
 * Digistore24's own signing function (`digistore_signature` in its PHP example) has two
 * switches, so four variants exist, and all four are accepted:
 *
 * | variant                          | keys                | values                |
 * | -------------------------------- | ------------------- | --------------------- |
 * | `as_sent`                        | as sent             | as sent               |
 * | `upper_case_keys`                | upper-cased (ASCII) | as sent               |
 * | `html_decoded`                   | as sent             | HTML-entity-decoded   |
 * | `upper_case_keys_html_decoded`   | upper-cased (ASCII) | HTML-entity-decoded   |
 *
 * Whatever variant matched, the fields handed on (`SignedFields`) are exactly what was signed:
 * decoded values when a decoded variant matched, and keys read without regard to letter case
 * when an upper-case variant matched (the signature cannot tell `api_mode` from `API_MODE`, so
 * neither may the reader). A body whose keys collide when upper-cased cannot be read that way
 * and is refused unless its as-sent signature matches. Every comparison is constant-time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { quote } from './quote';

export type IpnForm = ReadonlyMap<string, string>;

export type SignatureVariant = 'as_sent' | 'upper_case_keys' | 'html_decoded' | 'upper_case_keys_html_decoded';

/** Letter case folding as PHP's strtoupper does it (ASCII only): no Unicode tricks such as `ı` -> `I`. */
export function upperAscii(text: string): string {
  // For ASCII text toUpperCase is exactly that; beyond ASCII only a-z may change.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.toUpperCase() : text.replace(/[a-z]+/g, (s) => s.toUpperCase());
}

/** Signature fields, recognised by name in any letter case. */
export function isSignatureField(key: string): boolean {
  if (key.length !== 7 && key.length !== 8) return false;
  const upper = upperAscii(key);
  return upper === 'SHA_SIGN' || upper === 'SHASIGN';
}

/**
 * The HTML decoding of Digistore24's reference code (`ds24-appkit` scripts/ds24/ipn-verify.mjs,
 * its stand-in for PHP's html_entity_decode): these five entities, replaced one after the
 * other in this order, so `&amp;lt;` becomes `<` as it does there.
 */
const HTML_ENTITIES: readonly [RegExp, string][] = [
  [/&amp;/g, '&'],
  [/&lt;/g, '<'],
  [/&gt;/g, '>'],
  [/&quot;/g, '"'],
  [/&#0?39;|&apos;/g, "'"],
];

export function htmlDecode(value: string): string {
  if (!value.includes('&')) return value;
  let out = value;
  for (const [entity, char] of HTML_ENTITIES) out = out.replace(entity, char);
  return out;
}

/** The SHA-512 signature of a form in one variant (upper-case hex). */
export function ipnSignature(form: IpnForm, passphrase: string, upperCaseKeys = false, decode = false): string {
  // Sorted by the keys' UTF-8 bytes (PHP's SORT_STRING), each key encoded once.
  const entries: { bytes: Buffer; key: string; value: string }[] = [];
  for (const [key, raw] of form) {
    if (isSignatureField(key)) continue;
    const value = decode ? htmlDecode(raw) : raw;
    if (value === '') continue;
    const name = upperCaseKeys ? upperAscii(key) : key;
    entries.push({ bytes: Buffer.from(name, 'utf8'), key: name, value });
  }
  entries.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  let text = '';
  for (const { key, value } of entries) text += `${key}=${value}${passphrase}`;
  return createHash('sha512').update(text, 'utf8').digest('hex').toUpperCase();
}

/**
 * The fields of a verified IPN exactly as they were signed: only non-empty values (empty ones
 * are not signed), decoded when the decoded variant matched, looked up without regard to
 * letter case when an upper-case variant matched.
 */
export class SignedFields {
  private readonly values = new Map<string, string>();

  constructor(
    form: IpnForm,
    readonly variant: SignatureVariant | 'trusted',
  ) {
    const decode = variant === 'html_decoded' || variant === 'upper_case_keys_html_decoded';
    for (const [key, raw] of form) {
      if (isSignatureField(key)) continue;
      const value = decode ? htmlDecode(raw) : raw;
      if (value !== '') this.values.set(this.name(key), value);
    }
  }

  private get caseInsensitive(): boolean {
    return this.variant === 'upper_case_keys' || this.variant === 'upper_case_keys_html_decoded';
  }

  private name(key: string): string {
    return this.caseInsensitive ? upperAscii(key) : key;
  }

  /** The signed value of a field (Digistore24's lower-case name), or undefined when absent or empty. */
  get(field: string): string | undefined {
    return this.values.get(this.name(field));
  }

  /** Every signed field, names in lower case when they were read case-insensitively. */
  *entries(): IterableIterator<[string, string]> {
    for (const [key, value] of this.values) yield [this.caseInsensitive ? key.toLowerCase() : key, value];
  }
}

/** Fields of a replayed IPN: verified when it arrived, queued as the core read them. */
export function trustedFields(form: IpnForm): SignedFields {
  return new SignedFields(form, 'trusted');
}

function sameHex(given: Buffer, expected: string): boolean {
  const y = Buffer.from(expected, 'utf8');
  // timingSafeEqual needs equal lengths; a length mismatch reveals only that it is wrong.
  return given.length === y.length && timingSafeEqual(given, y);
}

export type SignatureCheck =
  | { valid: true; variant: SignatureVariant; fields: SignedFields }
  | { valid: false; reason: 'missing_signature' | 'bad_signature' | 'key_collision'; detail?: string };

/** Two field names that are the same when upper-cased, if any (signature fields aside). */
export function upperCaseCollision(form: IpnForm): [string, string] | undefined {
  const seen = new Map<string, string>();
  for (const key of form.keys()) {
    if (isSignatureField(key)) continue;
    const upper = upperAscii(key);
    const other = seen.get(upper);
    if (other !== undefined) return [other, key];
    seen.set(upper, key);
  }
  return undefined;
}

/**
 * Checks the signature against every variant, each compare in constant time; the first match
 * in the table's order decides how the fields are read.
 */
export function verifyIpnSignature(form: IpnForm, passphrase: string): SignatureCheck {
  const givenText = form.get('sha_sign') || form.get('SHASIGN');
  if (!givenText) return { valid: false, reason: 'missing_signature' };
  if (!passphrase) return { valid: false, reason: 'bad_signature' };
  const given = Buffer.from(upperAscii(givenText), 'utf8');
  const collision = upperCaseCollision(form);
  const decodes = [...form.values()].some((v) => htmlDecode(v) !== v);
  const variants: { variant: SignatureVariant; upper: boolean; decode: boolean }[] = [
    { variant: 'as_sent', upper: false, decode: false },
    { variant: 'upper_case_keys', upper: true, decode: false },
    { variant: 'html_decoded', upper: false, decode: true },
    { variant: 'upper_case_keys_html_decoded', upper: true, decode: true },
  ];
  let matched: SignatureVariant | undefined;
  for (const v of variants) {
    // Upper-case keys cannot be read back unambiguously when two of them collide; decoding
    // that changes nothing gives the same digest as the variant before it.
    if ((v.upper && collision) || (v.decode && !decodes)) continue;
    const ok = sameHex(given, ipnSignature(form, passphrase, v.upper, v.decode));
    if (ok && matched === undefined) matched = v.variant;
  }
  if (matched !== undefined) return { valid: true, variant: matched, fields: new SignedFields(form, matched) };
  if (collision) {
    return {
      valid: false,
      reason: 'key_collision',
      detail: `fields "${quote(collision[0], 40)}" and "${quote(collision[1], 40)}" are one name when upper-cased`,
    };
  }
  return { valid: false, reason: 'bad_signature' };
}
