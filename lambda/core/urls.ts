/**
 * The URLs a user pastes into Digistore24 and the ad platforms, built in one place for the stack
 * outputs, the `npm start` banner and `npm run urls`. Pure functions.
 *
 * The two S2S postback URLs carry the postback key (they are called server to server). The
 * order-form pixel never does (it runs in the buyer's browser, where anyone can read it), and
 * neither does the IPN URL (an IPN is signed with its passphrase instead).
 */
import type { PostbackProtection, SecretRef } from '../../config/schema';

/** What goes after `key=`: the key itself, a placeholder text (stack outputs), or no key at all (unprotected). */
export type UrlKey = { value: string } | { placeholder: string } | undefined;

export interface Digistore24Urls {
  /** Affiliates' S2S postback: sum={amount_affiliate}, their commission. */
  affiliateS2S: string;
  /**
   * Vendors' S2S postback for their own product: sum={amount_netto}, the net amount without VAT
   * ({amount_affiliate} is 0.00 on a vendor's own, non-affiliate sales).
   */
  vendorS2S: string;
  /** Order-form tracking pixel (Initiate Checkout): never carries the key. */
  pixel: string;
  /** Digistore24 IPN (vendors): signed, never carries the key. */
  ipn: string;
}

/** Shown in the stack outputs instead of the key, which only `npm run urls` prints. */
export const KEY_PLACEHOLDER = '<see npm run urls>';

function keyParam(key: UrlKey): string {
  if (key === undefined) return '';
  return 'value' in key ? `&key=${encodeURIComponent(key.value)}` : `&key=${key.placeholder}`;
}

/**
 * The S2S postback URL: clickid, sum, currency and txid from Digistore24's macros, the key, and
 * `&type=` last, so the user appends exactly one macro for the conversion type.
 */
function s2s(base: string, sumMacro: string, key: UrlKey): string {
  return `${base}/postback?clickid={cid}&sum={${sumMacro}}&currency={currency}&txid={transaction_id}${keyParam(key)}&type=`;
}

/** `base` is `https://trk.example.com` (no trailing slash). */
export function digistore24Urls(base: string, key: UrlKey): Digistore24Urls {
  return {
    affiliateS2S: s2s(base, 'amount_affiliate', key),
    vendorS2S: s2s(base, 'amount_netto', key),
    pixel: `${base}/postback?format=img&clickid=__cid__&type=InitiateCheckout`,
    ipn: `${base}/ipn/digistore24`,
  };
}

/**
 * The key the printed URLs carry: the newest (last) key of the first source, so during a
 * rotation (new key appended beside the old one) the URLs already show the new one. Undefined
 * when postbacks are not protected (acknowledgeUnprotected).
 */
export function urlKeyRef(protection: PostbackProtection): { source: string; index: number; ref: SecretRef } | undefined {
  const source = protection.sources?.[0];
  if (!source) return undefined;
  const index = source.keys.length - 1;
  const ref = source.keys[index];
  return ref ? { source: source.id, index, ref } : undefined;
}
