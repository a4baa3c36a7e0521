/**
 * The URLs a user pastes into ad platforms and Digistore24, built from the tracking host.
 * Pure functions: the stack outputs and the docs use the same text.
 */

/** Click URL for a campaign; `<campaignId>` is a placeholder for an id from the config. */
export const clickUrlPattern = (host: string): string => `https://${host}/click/<campaignId>`;

/**
 * Digistore24 S2S postback URL. It ends in `&type=` so the user appends exactly one macro for
 * the conversion type (e.g. `{transaction_type}`), as Digistore24 allows one macro per postback.
 */
export const digistore24PostbackUrl = (host: string): string =>
  `https://${host}/postback?clickid={cid}&sum={amount_affiliate}&currency={currency}&txid={transaction_id}&type=`;

/** Order-form tracking pixel (Initiate Checkout); Digistore24 replaces `__cid__`. */
export const digistore24PixelUrl = (host: string): string =>
  `https://${host}/postback?format=img&clickid=__cid__&type=InitiateCheckout`;

/** IPN URL for Digistore24 vendors (Settings -> IPN); needs `digistore24.ipn` in the config. */
export const digistore24IpnUrl = (host: string): string => `https://${host}/ipn/digistore24`;
