/**
 * The ad platforms a sale can be sent back to, and the facts about each that do not belong to a
 * config: API versions (one constant per platform, overridable by `conversionApi.apiVersion`),
 * endpoints, limits. Pure data and small helpers, shared by the config schema and the sender.
 *
 * Sources (checked 2026-11-26): developers.facebook.com/docs/graph-api/changelog (latest Graph
 * API version v26.0, 2026-07-29) and .../conversions-api/using-the-api; TikTok for Business Events
 * API 1.3 (`/open_api/v1.3/event/track/`); developers.google.com/google-ads/api/reference/rpc
 * (latest active version v26) and .../docs/conversions/upload-clicks.
 */

export const PLATFORMS = ['meta', 'tiktok', 'google-ads'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Where a conversion's send goes: an ad platform, or the channel's generic postback URL. */
export type SendTarget = Platform | 'postback';

export const META = {
  apiVersion: 'v26.0',
  apiBaseUrl: 'https://graph.facebook.com',
  /** Meta refuses events older than 7 days (one such event fails the whole request). */
  maxEventAgeMs: 7 * 86_400_000,
  /** Kept back from the 7 days: an event must still be young enough when Meta reads it. */
  ageMarginMs: 10 * 60_000,
  /** Graph error codes that are throttling or temporary (developers.facebook.com, conversions-api/support). */
  transientCodes: [1, 2, 4, 17, 32, 341, 613, 80004] as readonly number[],
  /** Codes that mean the token or its permissions: fixable by the user, so retried after the fix (redrive). */
  authCodes: [10, 102, 190, 200, 294] as readonly number[],
} as const;

export const TIKTOK = {
  apiVersion: 'v1.3',
  apiBaseUrl: 'https://business-api.tiktok.com',
  /** 40100: too many requests; 5xxxx: TikTok's own errors. */
  transientCodes: [40100, 50000, 50001, 50002] as readonly number[],
  /** Token missing, invalid or without permission on the pixel: fixable by the user. */
  authCodes: [40001, 40104, 40105, 40106] as readonly number[],
} as const;

export const GOOGLE_ADS = {
  apiVersion: 'v26',
  apiBaseUrl: 'https://googleads.googleapis.com',
  tokenUrl: 'https://oauth2.googleapis.com/token',
  scope: 'https://www.googleapis.com/auth/adwords',
  /** UploadClickConversions takes at most 2,000 conversions per request. */
  maxBatch: 2000,
  /** Google refuses clicks younger than 6 hours (TOO_RECENT_EVENT). */
  minClickAgeMs: 6 * 3_600_000,
  /** The click ids a Google click can carry (exactly one per conversion). */
  clickIdParams: ['gclid', 'gbraid', 'wbraid'] as readonly string[],
} as const;

/** The click id parameter each platform appends to the ad's URL. */
export const PLATFORM_CLICK_ID: Record<Exclude<Platform, 'google-ads'>, string> = { meta: 'fbclid', tiktok: 'ttclid' };

/** Default API version per platform. */
export const API_VERSIONS: Record<Platform, string> = { meta: META.apiVersion, tiktok: TIKTOK.apiVersion, 'google-ads': GOOGLE_ADS.apiVersion };

/**
 * A conversion type's event on each platform when the type names none (`platformEvents` absent):
 * only the sale maps, so one sale is sent once. Google has no default: its conversion action is
 * the user's.
 */
export const DEFAULT_PLATFORM_EVENTS: Readonly<Record<string, Partial<Record<Platform, string>>>> = {
  payment: { meta: 'Purchase', tiktok: 'CompletePayment' },
};

/**
 * The event a type is sent as on `platform`, or undefined when it is not sent there: the type's
 * own `platformEvents` entry for that platform, else the default. Per platform, so mapping
 * `payment` to a Google Ads action does not silently stop its Meta `Purchase`.
 */
export function platformEventFor(type: { name: string; platformEvents?: Partial<Record<Platform, string>> | undefined }, platform: Platform): string | undefined {
  return type.platformEvents?.[platform] ?? DEFAULT_PLATFORM_EVENTS[type.name]?.[platform];
}

/** A channel's click id parameters, in the order they are looked for. */
export function clickIdParams(channel: { clickIdParam?: string | readonly string[] | undefined }): string[] {
  const param = channel.clickIdParam;
  if (param === undefined) return [];
  return typeof param === 'string' ? [param] : [...param];
}

/** `customers/1234567890/conversionActions/987654321` */
export const CONVERSION_ACTION_RESOURCE = /^customers\/\d{1,20}\/conversionActions\/\d{1,20}$/;

/** 127.0.0.0/8, ::1 and localhost: the only hosts a conversion API may be reached over plain http. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
