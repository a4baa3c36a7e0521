/**
 * What the three conversion APIs share: the event id, hashed buyer data, exact money in JSON,
 * the page the click went to, and the platform's answer cut down for trace and logs.
 */
import { createHash } from 'node:crypto';
import type { Lander, Offer } from '../../config/schema';
import { offerLocation } from './click';
import { parseDecimal } from './decimal';
import type { SendClick, SendConversion } from './send-model';

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * One id per sale, stable across retries and replays: `<clickid>:<txid>` (`<clickid>:<type>`
 * without a txid). A browser pixel that fires the same id for the same event is deduplicated.
 */
export function eventId(conversion: Pick<SendConversion, 'clickId' | 'txid' | 'type'>): string {
  return `${conversion.clickId}:${conversion.txid ?? conversion.type}`;
}

/** Trimmed, lower case (Meta and TikTok hash e-mail addresses so). Undefined when it is not one. */
export function normalizeEmail(email: string | undefined): string | undefined {
  const value = email?.trim().toLowerCase();
  return value && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) ? value : undefined;
}

/**
 * Country calling codes for numbers written without one (Digistore24's address_phone_no is
 * often local), and whether the country drops its leading trunk 0 after the code (Italy keeps
 * it). Other countries' local numbers are not guessed: only numbers written with +/00 are used.
 */
const CALLING_CODES: Record<string, { code: string; keepZero?: true }> = {
  DE: { code: '49' }, AT: { code: '43' }, CH: { code: '41' }, LI: { code: '423' }, FR: { code: '33' }, NL: { code: '31' },
  BE: { code: '32' }, LU: { code: '352' }, ES: { code: '34' }, PT: { code: '351' }, IT: { code: '39', keepZero: true },
  GB: { code: '44' }, IE: { code: '353' }, DK: { code: '45' }, SE: { code: '46' }, NO: { code: '47' }, FI: { code: '358' },
  PL: { code: '48' }, CZ: { code: '420' }, SK: { code: '421' }, HU: { code: '36' }, RO: { code: '40' }, BG: { code: '359' },
  GR: { code: '30' }, HR: { code: '385' }, SI: { code: '386' }, EE: { code: '372' }, LV: { code: '371' }, LT: { code: '370' },
  AU: { code: '61' }, NZ: { code: '64' }, ZA: { code: '27' }, TR: { code: '90' }, IN: { code: '91' },
};

/**
 * A phone number as digits with the country calling code (`4917012345678`), or undefined when
 * the country code cannot be known. Meta hashes these digits; TikTok hashes them with a `+`
 * (E.164).
 */
export function normalizePhone(phone: string | undefined, country: string | undefined): string | undefined {
  if (!phone) return undefined;
  const trimmed = phone.trim();
  const digits = trimmed.replace(/\D/g, '');
  if (digits.length < 6 || digits.length > 17) return undefined;
  if (trimmed.startsWith('+')) return digits;
  if (digits.startsWith('00')) return digits.slice(2);
  const cc = (country ?? '').trim().toUpperCase();
  if (cc === 'US' || cc === 'CA') {
    if (digits.length === 10) return `1${digits}`;
    if (digits.length === 11 && digits.startsWith('1')) return digits;
    return undefined;
  }
  const entry = CALLING_CODES[cc];
  if (!entry || !digits.startsWith('0')) return undefined;
  return entry.code + (entry.keepZero ? digits : digits.slice(1));
}

/** The buyer's e-mail and phone as stored with IPN storeBuyerData (absent otherwise). */
export function buyerContact(conversion: SendConversion): { email?: string; phone?: string } {
  const buyer = conversion.buyer ?? {};
  const email = normalizeEmail(buyer.email);
  const phone = normalizePhone(buyer.address_phone_no ?? buyer.phone_no ?? buyer.phone, buyer.address_country ?? buyer.country);
  return { ...(email ? { email } : {}), ...(phone ? { phone } : {}) };
}

const DECIMAL_SENTINEL = '__cv_decimal__';

/** A money amount to be written into JSON as the exact number literal of its decimal text. */
export function jsonDecimal(text: string): Record<string, string> {
  const canonical = parseDecimal(text);
  if (canonical === undefined) throw new Error(`not a decimal amount: "${text}"`);
  return { [DECIMAL_SENTINEL]: canonical };
}

/** JSON.stringify, with jsonDecimal() values written as number literals (no float in between). */
export function toJson(value: unknown): string {
  return JSON.stringify(value).replace(new RegExp(`\\{"${DECIMAL_SENTINEL}":"(-?\\d+(?:\\.\\d+)?)"\\}`, 'g'), '$1');
}

/**
 * The page the click went to: the lander t.js recorded, else the offer URL the visitor was
 * redirected to, else (a lander campaign's click that never went through /go) its lander —
 * without the query (the tracker's own click id and sub values stay home).
 */
export function sourceUrl(
  click: SendClick | undefined,
  offers: ReadonlyMap<string, Offer>,
  offerId: string | undefined,
  landers: ReadonlyMap<string, Lander> = new Map(),
): string | undefined {
  const page = click?.page;
  if (page !== undefined && /^https?:\/\//i.test(page)) return page.slice(0, 2048);
  const target = (offerId ? offers.get(offerId) : undefined) ?? (click?.landerId ? landers.get(click.landerId) : undefined);
  if (!target) return undefined;
  try {
    const url = new URL(click ? offerLocation(target.url, click) : target.url.replace(/\{[a-z0-9_]+\}/gi, ''));
    return `${url.origin}${url.pathname}`;
  } catch {
    return undefined;
  }
}

/** The platform's answer for trace and logs: cut, control characters out, no secret echoed. */
export function answerText(text: string, secrets: readonly string[] = [], max = 500): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 6) out = out.split(secret).join('[secret]');
  // eslint-disable-next-line no-control-regex
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

/** Seconds since the epoch of an ISO time. */
export const unixSeconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);
