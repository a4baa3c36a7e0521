/**
 * The tracker's configuration: its shape, its defaults and every rule it must obey.
 *
 * Validated with zod at every entry point (`npm start`, `cdk synth`, Lambda init, tests), so an
 * invalid config fails loudly with the exact path of the problem, e.g.
 * `campaigns[1].offers[0].offer: "x" is not a defined offer`.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ISO_4217_CURRENCIES } from '../lambda/core/currencies';
import { parseDecimal, toMicros } from '../lambda/core/decimal';
import { DEFAULT_MAX_DISTINCT_PER_HOUR } from '../lambda/core/dead-letters';
import { campaignCode } from '../lambda/core/ids';
import { SILENCE_DEFAULT } from '../lambda/core/silence';
import { CONVERSION_ACTION_RESOURCE, GOOGLE_ADS, PLATFORM_CLICK_ID, clickIdParams, isLoopbackHost, platformEventFor } from '../lambda/core/platforms';

/** `203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32` */
export function isCidr(range: string): boolean {
  const [address = '', bits, extra] = range.split('/');
  if (extra !== undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** Ids used in URLs and keys: letters, digits, `_` and `-`. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Conversion type names as senders spell them; `|` is reserved as a key separator. */
const TYPE_NAME = /^[A-Za-z0-9 _.:-]{1,64}$/;
/** Query parameter names (channel click ids such as `fbclid`). */
const PARAM = /^[A-Za-z0-9_.-]{1,64}$/;

/** Macros a traffic channel's postback URL may use. */
export const FORWARD_MACROS = new Set(['clickid', 'payout', 'type', 'currency', 'txid']);

const id = (what: string) =>
  z.string().regex(ID, `${what} must be 1-64 letters, digits, "_" or "-"`);

const httpUrlTemplate = (what: string) =>
  z.string().max(2048).superRefine((value, ctx) => {
    // Macros such as {clickid} are not valid in a URL host, so check the URL with them blanked.
    let parsed: URL;
    try {
      parsed = new URL(value.replace(/\{[a-z0-9_]+\}/gi, 'x'));
    } catch {
      ctx.addIssue({ code: 'custom', message: `${what} must be an absolute http(s) URL, got "${value}"` });
      return;
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', message: `${what} must use https:// or http://, got "${parsed.protocol}"` });
      return;
    }
    // A macro in the scheme, host or port would let a click's sub values choose where the
    // visitor goes (sub1=.evil.example): the origin must not depend on any macro.
    try {
      const other = new URL(value.replace(/\{[a-z0-9_]+\}/gi, 'y.z/'));
      if (other.origin !== parsed.origin) {
        ctx.addIssue({ code: 'custom', message: `${what}: macros may only appear in the path or query, not in the host, got "${value}"` });
      }
    } catch {
      ctx.addIssue({ code: 'custom', message: `${what}: macros may only appear in the path or query, not in the host, got "${value}"` });
    }
  });

export const trafficChannelSchema = z.strictObject({
  id: id('traffic channel id'),
  name: z.string().min(1).max(128),
  /**
   * Query parameter(s) on the click URL that carry the channel's own click id (fbclid, gclid,
   * ttclid). A list is looked up in order and the first one present wins: Google's `gclid`,
   * `gbraid`, `wbraid`.
   */
  clickIdParam: z
    .union([
      z.string().regex(PARAM, 'clickIdParam must be a query parameter name'),
      z.array(z.string().regex(PARAM, 'clickIdParam must be a query parameter name')).min(1).max(5),
    ])
    .optional(),
  /** The channel's server-side conversion API; a channel has either a postbackUrl or a conversionApi. */
  conversionApi: z.lazy(() => conversionApiSchema).optional(),
  /**
   * The channel's S2S postback URL. Conversions of types with forwardToChannel are sent here,
   * with {clickid} (the channel's own click id), {payout}, {type}, {currency}, {txid} filled in.
   */
  postbackUrl: httpUrlTemplate('postbackUrl')
    .refine((url) => [...url.matchAll(/\{([^{}]*)\}/g)].every((m) => FORWARD_MACROS.has(m[1] ?? '')), {
      message: `postbackUrl may only use the macros ${['{clickid}', '{payout}', '{type}', '{currency}', '{txid}'].join(' ')}`,
    })
    .optional(),
});

export const offerSchema = z
  .strictObject({
    id: id('offer id'),
    name: z.string().min(1).max(128),
    source: z.enum(['digistore24', 'custom']),
    /** Where the visitor is sent. Must contain `{clickid}`; may contain `{campaignid}` and `{sub1}`..`{sub20}`. */
    url: httpUrlTemplate('url'),
  })
  .superRefine((offer, ctx) => {
    if (!offer.url.includes('{clickid}')) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `must contain {clickid}, got "${offer.url}"` });
      return;
    }
    if (offer.source === 'digistore24') {
      let cid: string | null = null;
      try {
        cid = new URL(offer.url.replace(/\{([a-z0-9_]+)\}/gi, '__$1__')).searchParams.get('cid');
      } catch {
        return; // reported by the url rule
      }
      if (cid !== '__clickid__') {
        ctx.addIssue({
          code: 'custom',
          path: ['url'],
          message: `Digistore24 takes the click id as ?cid={clickid}; add it to "${offer.url}"`,
        });
      }
    }
  });

/** A non-negative money amount written as decimal text, e.g. '2.00'. */
const amount = (what: string) =>
  z.string().refine((value) => {
    const parsed = parseDecimal(value);
    return parsed !== undefined && !parsed.startsWith('-');
  }, `${what} must be a non-negative decimal such as '2.00'`);

/** The macros a lander URL and a campaign's botUrl may use (filled from the click). */
export const URL_MACROS = /^(clickid|campaignid|sub(?:[1-9]|1\d|20))$/;

/** Refuses `{...}` that is no macro: a typo such as `{clickId}` would otherwise reach the visitor unfilled. */
function onlyKnownMacros(value: string, ctx: z.RefinementCtx): void {
  for (const m of value.matchAll(/\{([^{}]*)\}/g)) {
    if (!URL_MACROS.test(m[1] ?? '')) {
      ctx.addIssue({ code: 'custom', message: `unknown macro {${m[1] ?? ''}}; use {clickid}, {campaignid} or {sub1}..{sub20}` });
    }
  }
}

export const landerSchema = z
  .strictObject({
    id: id('lander id'),
    name: z.string().min(1).max(128),
    /**
     * The lander (bridge, pre-sell page). Must contain `{clickid}`; may contain `{campaignid}`
     * and `{sub1}`..`{sub20}`, only in the path or query. Its origin is allowed to call the JSON
     * click (CORS) for direct tracking with /t.js.
     */
    url: httpUrlTemplate('url').superRefine(onlyKnownMacros),
  })
  .superRefine((lander, ctx) => {
    if (!lander.url.includes('{clickid}')) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `must contain {clickid} (the lander passes it on to /go), got "${lander.url}"` });
    }
  });

const weight = z.number().int('weight must be a whole number').min(1).max(1000).default(1);

/**
 * The silent-breakage alarm (README, "Silent breakage alarm"): a campaign with at least
 * `minClicks` clicks of people (bots left out) in the last `hours` hours and no conversion that
 * counts (`countsAsConversion`; test orders left out) arriving in those hours is *silent*: a
 * CloudWatch alarm and a warning on the dashboard. `false` switches it off.
 */
export const SILENCE_LIMITS = { hours: { min: 1, max: 168 }, minClicks: { min: 1, max: 10_000_000 } } as const;

const silenceHours = z
  .number(`hours must be a whole number of hours from ${SILENCE_LIMITS.hours.min} to ${SILENCE_LIMITS.hours.max}`)
  // A refinement, not .int(): zod's int check is a type mismatch, which would hide this message behind the union's.
  .refine(Number.isInteger, `hours must be a whole number of hours from ${SILENCE_LIMITS.hours.min} to ${SILENCE_LIMITS.hours.max}`)
  .min(SILENCE_LIMITS.hours.min, `hours must be at least ${SILENCE_LIMITS.hours.min}`)
  .max(SILENCE_LIMITS.hours.max, `hours must be at most ${SILENCE_LIMITS.hours.max} (a week)`);
const silenceMinClicks = z
  .number(`minClicks must be a whole number from ${SILENCE_LIMITS.minClicks.min} to ${SILENCE_LIMITS.minClicks.max}`)
  .refine(Number.isInteger, `minClicks must be a whole number from ${SILENCE_LIMITS.minClicks.min} to ${SILENCE_LIMITS.minClicks.max}`)
  .min(SILENCE_LIMITS.minClicks.min, `minClicks must be at least ${SILENCE_LIMITS.minClicks.min}`)
  .max(SILENCE_LIMITS.minClicks.max, `minClicks must be at most ${SILENCE_LIMITS.minClicks.max}`);
const SILENCE_SHAPE = `silenceAlarm is false, true, or { hours, minClicks } (whole numbers: hours ${SILENCE_LIMITS.hours.min}..${SILENCE_LIMITS.hours.max}, minClicks ${SILENCE_LIMITS.minClicks.min}..${SILENCE_LIMITS.minClicks.max})`;

/** `defaults.silenceAlarm`: `{ hours, minClicks }` (either may be left out) or `false` (off unless a campaign turns it on). */
export const defaultSilenceAlarmSchema = z.union(
  [
    z.literal(false),
    z.strictObject({ hours: silenceHours.default(SILENCE_DEFAULT.hours), minClicks: silenceMinClicks.default(SILENCE_DEFAULT.minClicks) }),
  ],
  SILENCE_SHAPE,
);

/**
 * `campaigns[].silenceAlarm`: `false` (off for this campaign), `true` (on with the defaults'
 * values), or `{ hours?, minClicks? }` (each left out is taken from `defaults.silenceAlarm`, or the
 * built-in 6 hours / 500 clicks when the defaults are `false`). Absent: as the defaults say.
 */
export const campaignSilenceAlarmSchema = z.union(
  [z.boolean(), z.strictObject({ hours: silenceHours.optional(), minClicks: silenceMinClicks.optional() })],
  SILENCE_SHAPE,
);

export const campaignSchema = z.strictObject({
  id: id('campaign id'),
  name: z.string().min(1).max(128),
  trafficChannel: z.string(),
  /**
   * Whether the click URL's `cost` parameter is recorded as the click's cost. Off by default:
   * anyone can put any cost on a click URL, so a campaign opts in and caps it (`max`, in the
   * default currency); a higher cost is recorded as `max`.
   */
  cost: z.strictObject({ fromUrl: z.boolean(), max: amount('cost.max') }).optional(),
  offers: z
    .array(
      z.strictObject({
        offer: z.string(),
        /** Relative share of the traffic; default 1. */
        weight,
      }),
    )
    .min(1, 'a campaign needs at least one offer'),
  /**
   * Landers the click sends the visitor to (by weight, recorded on the click); the offer is then
   * chosen when the visitor leaves the lander through GET /go. Absent: the click goes straight
   * to an offer.
   */
  landers: z
    .array(z.strictObject({ lander: z.string(), weight }))
    .min(1, 'list at least one lander, or leave landers out')
    .optional(),
  /**
   * Where clicks flagged as bots (crawlers, link previewers, HEAD requests) are sent instead of
   * the lander or offer. Off by default: ad platforms may treat a different page for their
   * reviewers as cloaking. May use the macros {clickid}, {campaignid}, {sub1}..{sub20}.
   */
  botUrl: httpUrlTemplate('botUrl').superRefine(onlyKnownMacros).optional(),
  /** The silent-breakage alarm for this campaign (see defaults.silenceAlarm); absent: as the defaults say. */
  silenceAlarm: campaignSilenceAlarmSchema.optional(),
});

/** `https://lp.example.com` (scheme, host and port only): an origin allowed to call the JSON click. */
const corsOrigin = z.string().max(300).superRefine((value, ctx) => {
  let origin: string | undefined;
  try {
    const url = new URL(value);
    origin = url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : undefined;
  } catch {
    origin = undefined;
  }
  if (origin !== value) {
    ctx.addIssue({ code: 'custom', message: `must be an origin such as https://lp.example.com (scheme, host, optional port; no path or trailing slash), got "${value}"` });
  }
});

export const conversionTypeSchema = z.strictObject({
  /** Exactly as the sender spells it (case-sensitive): `payment`, `InitiateCheckout`. */
  name: z.string().regex(TYPE_NAME, 'name must be 1-64 letters, digits, spaces or "_.:-"'),
  /** Whether it counts as a conversion in reports (InitiateCheckout is an event, not a sale). */
  countsAsConversion: z.boolean().default(true),
  /** `add`: +|sum|; `subtract`: stored as -|sum| (refunds, chargebacks); `ignore`: revenue 0. */
  revenue: z.enum(['add', 'subtract', 'ignore']).default('add'),
  /** Whether a recorded conversion is sent on to the click's traffic channel (its postbackUrl), at most once. */
  forwardToChannel: z.boolean().default(false),
  /**
   * The event this type is sent as on each conversion API: Meta `Purchase`, `Lead`...; TikTok
   * `CompletePayment`, `SubmitForm`...; Google Ads the conversion action's resource name
   * `customers/{id}/conversionActions/{id}` (a plain conversion action name is accepted for `npm
   * run export -- --google-ads` only). A platform not named keeps its default: only `payment`
   * maps (Meta Purchase, TikTok CompletePayment); a type with no event for a channel's platform is
   * not sent there.
   */
  platformEvents: z
    .strictObject({
      meta: z.string().regex(/^[A-Za-z0-9_ ]{1,50}$/, 'a Meta event name is 1-50 letters, digits, "_" or spaces (Purchase, Lead, ...)').optional(),
      tiktok: z.string().regex(/^[A-Za-z0-9_]{1,50}$/, 'a TikTok event name is 1-50 letters, digits or "_" (CompletePayment, SubmitForm, ...)').optional(),
      'google-ads': z
        .string()
        .regex(
          /^[^\u0000-\u001f",]{1,100}$/,
          'a Google Ads conversion action is its resource name customers/{id}/conversionActions/{id} (or, for the export only, its name: no commas or quotes)',
        )
        .optional(),
    })
    .optional(),
});

/**
 * Where a secret lives. In AWS it is read from Secrets Manager (name or ARN) or SSM Parameter
 * Store (a SecureString parameter name); the local run reads the environment variable `env`.
 * Secret values never appear in the config, the repo or the logs.
 */
export const secretRefSchema = z
  .strictObject({
    secretsManager: z.string().min(1).max(2048).optional(),
    ssmParameter: z.string().regex(/^[A-Za-z0-9_.\-/]{1,2048}$/, 'ssmParameter must be a parameter name such as /clickvault/ipn').optional(),
    env: z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'env must be an environment variable name such as DS24_IPN_PASSPHRASE').optional(),
    /**
     * A postback key the tracker makes itself: `npm start` keeps a random one in its data
     * directory, the stack generates one in Secrets Manager. `npm run urls` prints it.
     */
    generated: z.literal(true, 'generated must be true (or left out)').optional(),
  })
  .superRefine((ref, ctx) => {
    if (ref.generated === true) {
      if (ref.secretsManager !== undefined || ref.ssmParameter !== undefined || ref.env !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'a generated key is made by the tracker: name nothing else beside generated: true' });
      }
      return;
    }
    if (ref.secretsManager !== undefined && ref.ssmParameter !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'name either secretsManager or ssmParameter, not both' });
    }
    if (ref.secretsManager === undefined && ref.ssmParameter === undefined && ref.env === undefined) {
      ctx.addIssue({ code: 'custom', message: 'name where the secret lives: generated: true, or secretsManager, ssmParameter and/or env' });
    }
  });

/**
 * The base URL of a platform API (or its OAuth token endpoint): `https://` only, except loopback
 * addresses (tests, a local proxy), with no credentials, query or fragment: tokens travel in
 * headers or bodies, never in a URL.
 */
const apiUrl = (what: string) =>
  z.string().max(2048).superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${what} must be an absolute https:// URL, got "${value}"` });
      return;
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      ctx.addIssue({ code: 'custom', message: `${what} must use https:// (plain http only on a loopback address such as 127.0.0.1), got "${value}"` });
    }
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      ctx.addIssue({ code: 'custom', message: `${what} must not carry credentials, a query or a fragment, got "${value}"` });
    }
  });

/** Google Ads customer ids are 10 digits, written with or without dashes (123-456-7890); kept as digits. */
const customerId = (what: string) =>
  z
    .string()
    .regex(/^\d{3}-?\d{3}-?\d{4}$/, `${what} must be a 10-digit Google Ads customer id such as 123-456-7890`)
    .transform((v) => v.replace(/-/g, ''));

const testEventCode = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'testEventCode must be the code Events Manager shows (letters, digits, "_", "-")');

/**
 * A channel's server-side conversion API (README, "Sales back to the ad platforms"): recorded
 * sales of mapped types are sent to the platform by the sender function, at most once per
 * conversion. Tokens are secret references; versions default to lambda/core/platforms.ts.
 */
export const conversionApiSchema = z.discriminatedUnion('platform', [
  z.strictObject({
    platform: z.literal('meta'),
    /** The Meta pixel (dataset) id. */
    pixelId: z.string().regex(/^\d{5,25}$/, 'pixelId must be the numeric pixel (dataset) id'),
    accessToken: secretRefSchema,
    /** Sends to the Events Manager "Test events" tab. */
    testEventCode: testEventCode.optional(),
    apiVersion: z.string().regex(/^v\d{1,3}\.\d$/, 'apiVersion must look like v26.0').optional(),
    apiBaseUrl: apiUrl('apiBaseUrl').optional(),
  }),
  z.strictObject({
    platform: z.literal('tiktok'),
    /** The TikTok pixel code (event_source_id). */
    pixelCode: z.string().regex(/^[A-Za-z0-9]{8,40}$/, 'pixelCode must be the TikTok pixel code (letters and digits)'),
    accessToken: secretRefSchema,
    testEventCode: testEventCode.optional(),
    apiVersion: z.string().regex(/^v\d{1,2}\.\d{1,2}$/, 'apiVersion must look like v1.3').optional(),
    apiBaseUrl: apiUrl('apiBaseUrl').optional(),
  }),
  z.strictObject({
    platform: z.literal('google-ads'),
    /** The Google Ads account the conversions are uploaded to. */
    customerId: customerId('customerId'),
    /** The manager account acting for it, when access goes through one (the login-customer-id header). */
    loginCustomerId: customerId('loginCustomerId').optional(),
    developerToken: secretRefSchema,
    /** OAuth client id: plain text (it is not a secret) or a secret reference. */
    clientId: z.union([z.string().regex(/^[A-Za-z0-9_.-]{1,256}$/, 'clientId must be the OAuth client id'), secretRefSchema]),
    clientSecret: secretRefSchema,
    refreshToken: secretRefSchema,
    apiVersion: z.string().regex(/^v\d{1,3}$/, 'apiVersion must look like v26').optional(),
    apiBaseUrl: apiUrl('apiBaseUrl').optional(),
    /** Google's OAuth token endpoint. @default https://oauth2.googleapis.com/token */
    tokenUrl: apiUrl('tokenUrl').optional(),
  }),
]);

const IPN_EVENT = /^[a-z_]{1,64}$/;

/**
 * Default IPN event -> conversion type mapping. Event names are Digistore24's
 * (dev.digistore24.com/en/articles/13-events; ds24-skills references/events.md);
 * `on_payment_subscription_signup` is the first payment of a subscription, recorded like
 * on_payment and keyed by its transaction_id, so an on_payment for the same transaction is a
 * duplicate.
 */
export const DEFAULT_IPN_EVENTS: Record<string, { types: string[]; byOrderPosition: boolean }> = {
  on_payment: { types: ['payment'], byOrderPosition: true },
  on_payment_subscription_signup: { types: ['payment'], byOrderPosition: true },
  on_refund: { types: ['refund'], byOrderPosition: false },
  on_chargeback: { types: ['chargeback'], byOrderPosition: false },
  on_payment_missed: { types: ['payment_missed'], byOrderPosition: false },
  on_rebill_cancelled: { types: ['rebill_cancelled'], byOrderPosition: false },
  on_rebill_resumed: { types: ['rebill_resumed'], byOrderPosition: false },
  last_paid_day: { types: ['last_paid_day'], byOrderPosition: false },
  payment_denial: { types: ['payment_denial'], byOrderPosition: false },
};

/** Types only the IPN's default event map uses (digistore24IpnConversionTypes defines them). */
const DEFAULT_IPN_TYPES = new Set(['payment_missed', 'payment_denial', 'rebill_cancelled', 'rebill_resumed', 'last_paid_day']);

/** Where an IPN's click id is looked for; real IPNs carry it in `click_id`. */
export const IPN_CLICK_ID_FIELDS = ['click_id', 'cid', 'custom', 'trackingkey'] as const;

export const ipnSchema = z.strictObject({
  /** The IPN passphrase set in Digistore24; locally DS24_IPN_PASSPHRASE. */
  passphrase: secretRefSchema.default({ env: 'DS24_IPN_PASSPHRASE' }),
  /**
   * Event -> conversion types. `byOrderPosition` adds initial_sale or upsell for the first
   * payment of an order item (upsell_no > 0 means upsell). Events not listed are answered OK
   * and ignored.
   */
  events: z
    .record(
      z.string().regex(IPN_EVENT, 'event names are lower-case, e.g. on_payment'),
      z.strictObject({ types: z.array(z.string()).max(5), byOrderPosition: z.boolean().default(false) }),
    )
    .default(DEFAULT_IPN_EVENTS),
  /** Where the click id is looked for, in order. */
  clickIdFields: z.array(z.enum(IPN_CLICK_ID_FIELDS)).min(1).default([...IPN_CLICK_ID_FIELDS]),
  /**
   * Which amount becomes the conversion's revenue. `amount_netto` (VAT excluded) is never 0 on
   * a vendor's own sales, unlike `amount_affiliate`; the vendor S2S postback sends the same
   * amount (`sum={amount_netto}`), so a sale that arrives by both is one amount.
   */
  revenueField: z.enum(['amount_brutto', 'amount_netto', 'amount_vendor', 'amount_affiliate']).default('amount_netto'),
  /**
   * Record Digistore24 test orders (`api_mode=test`), marked `test`: shown by trace, left out of
   * reports unless `--include-tests`, never forwarded. Off: they are answered OK, not recorded.
   */
  recordTestOrders: z.boolean().default(false),
  /** Store the buyer's name, e-mail and address on the conversion (off: nothing personal is kept). */
  storeBuyerData: z.boolean().default(false),
});

export const postbackSourceSchema = z.strictObject({
  id: id('postback source id'),
  /**
   * Accepted keys (the `key` query parameter, or the path `/postback/<key>`). More than one
   * lets a key be rotated without losing postbacks.
   */
  keys: z.array(secretRefSchema).min(1).max(5),
  /** If set, only these addresses or CIDR ranges may post with this source's keys. */
  allowedIps: z.array(z.string()).max(100).optional(),
});

/** Why a config must say how postbacks are protected, and how: the message of a config without it. */
export const PROTECTION_REQUIRED_MESSAGE =
  'is required: without it anyone who learns the postback URL can record fake sales. ' +
  "Add postbackProtection: { sources: [{ id: 'digistore24', keys: [{ generated: true }] }] } " +
  '(npm start and the stack generate the key; npm run urls prints the Digistore24 URLs with it), ' +
  'or, to accept unauthenticated postbacks on purpose, postbackProtection: { required: false, acknowledgeUnprotected: true }';

export const postbackProtectionSchema = z
  .strictObject(
    {
      /** When true, a postback without a valid key is refused (403); when false, keys are checked if given. */
      required: z.boolean().default(true),
      /** With required: false and no sources: postbacks are not authenticated, and you say you know it. */
      acknowledgeUnprotected: z.boolean().optional(),
      sources: z.array(postbackSourceSchema).min(1).optional(),
    },
    { error: (issue) => (issue.input === undefined ? PROTECTION_REQUIRED_MESSAGE : undefined) },
  )
  .superRefine((p, ctx) => {
    if (p.required && p.sources === undefined) {
      ctx.addIssue({ code: 'custom', path: ['sources'], message: "name at least one source with its keys, e.g. [{ id: 'digistore24', keys: [{ generated: true }] }]" });
    }
    if (p.required && p.acknowledgeUnprotected === true) {
      ctx.addIssue({ code: 'custom', path: ['acknowledgeUnprotected'], message: 'contradicts required: true; set required: false to run unprotected' });
    }
    if (!p.required && p.sources === undefined && p.acknowledgeUnprotected !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['acknowledgeUnprotected'],
        message: 'without sources every postback is accepted unauthenticated (anyone can record fake sales): add sources with keys, or set acknowledgeUnprotected: true',
      });
    }
  });

export const defaultsSchema = z.strictObject({
  /** ISO 4217 currency used when a postback does not name one. */
  currency: z
    .string()
    .refine((code) => ISO_4217_CURRENCIES.has(code), 'currency must be an ISO 4217 code in upper case, such as EUR')
    .default('EUR'),
  /**
   * The currencies this tracker accepts (ISO 4217 codes). Absent: every ISO 4217 currency. A
   * postback in another currency is refused (400).
   */
  currencies: z
    .array(z.string().refine((code) => ISO_4217_CURRENCIES.has(code), 'currencies must be ISO 4217 codes in upper case, such as EUR'))
    .min(1)
    .max(50)
    .optional(),
  /** How long a click is kept (DynamoDB TTL) and can still be converted. */
  clickRetentionDays: z.number().int().min(1).max(3650).default(90),
  /** How much of the visitor's IP address is stored: full, truncated (/24 or /48), none. */
  ipStorage: z.enum(['full', 'truncated', 'none']).default('truncated'),
  /** How long report rollups are kept (DynamoDB TTL): they keep a period's click counts after its clicks expired. */
  rollupRetentionDays: z.number().int().min(1).max(3650).default(1095),
  /** The silent-breakage alarm of every campaign that does not say otherwise; `false`: off. */
  silenceAlarm: defaultSilenceAlarmSchema.default({ ...SILENCE_DEFAULT }),
});

export const deadLettersSchema = z.strictObject({
  /**
   * Distinct failing requests one source may have queued per UTC hour (a postback protection
   * source, or the sender's /24 or /48 network without a key); past it they are refused with
   * 503 + Retry-After and counted. Repeats of one failure never count: they are not queued again.
   */
  maxDistinctPerHour: z
    .number()
    .int('maxDistinctPerHour must be a whole number')
    .min(1, 'maxDistinctPerHour must be at least 1')
    .max(1_000_000, 'maxDistinctPerHour must be at most 1000000')
    .default(DEFAULT_MAX_DISTINCT_PER_HOUR),
});

export const trackerConfigSchema = z
  .strictObject({
    defaults: defaultsSchema.default({ currency: 'EUR', clickRetentionDays: 90, ipStorage: 'truncated', rollupRetentionDays: 1095, silenceAlarm: { ...SILENCE_DEFAULT } }),
    trafficChannels: z.array(trafficChannelSchema).min(1, 'define at least one traffic channel'),
    offers: z.array(offerSchema).min(1, 'define at least one offer'),
    campaigns: z.array(campaignSchema).min(1, 'define at least one campaign'),
    /** Bridge or pre-sell pages that campaigns send visitors to before the offer. */
    landers: z.array(landerSchema).max(200).default([]),
    /**
     * Origins besides the landers' own that may call GET /click/{campaignId}?format=json from a
     * browser (direct tracking with /t.js on pages that are not configured landers).
     */
    corsOrigins: z.array(corsOrigin).max(100).default([]),
    conversionTypes: z.array(conversionTypeSchema).min(1, 'define at least one conversion type'),
    /** Digistore24 IPN for vendors (POST /ipn/digistore24); absent: the endpoint answers 404. */
    digistore24: z.strictObject({ ipn: ipnSchema.optional() }).optional(),
    /** Keys and address allowlists for /postback; required (see PROTECTION_REQUIRED_MESSAGE). */
    postbackProtection: postbackProtectionSchema,
    /** Limits of the dead-letter queue against floods. */
    deadLetters: deadLettersSchema.default({ maxDistinctPerHour: DEFAULT_MAX_DISTINCT_PER_HOUR }),
  })
  .superRefine((config, ctx) => {
    const currencies = config.defaults.currencies;
    if (currencies && !currencies.includes(config.defaults.currency)) {
      ctx.addIssue({ code: 'custom', path: ['defaults', 'currency'], message: `"${config.defaults.currency}" must be one of defaults.currencies (${currencies.join(', ')})` });
    }
    // One generated key per tracker: it is the key `npm run urls` prints and the stack makes.
    let generated = 0;
    config.postbackProtection.sources?.forEach((source, i) =>
      source.keys.forEach((ref, j) => {
        if (ref.generated && ++generated > 1) {
          ctx.addIssue({ code: 'custom', path: ['postbackProtection', 'sources', i, 'keys', j], message: 'only one key can be generated: rotate with a key of your own (secretsManager or ssmParameter) beside it' });
        }
      }),
    );
    if (config.digistore24?.ipn?.passphrase.generated) {
      ctx.addIssue({ code: 'custom', path: ['digistore24', 'ipn', 'passphrase'], message: 'the IPN passphrase is set in Digistore24 and cannot be generated: name secretsManager, ssmParameter and/or env' });
    }
    config.campaigns.forEach((campaign, i) => {
      if (campaign.cost && campaign.cost.fromUrl && toMicros(parseDecimal(campaign.cost.max) ?? '0') === 0n) {
        ctx.addIssue({ code: 'custom', path: ['campaigns', i, 'cost', 'max'], message: 'must be above 0 when fromUrl is true' });
      }
    });
    const unique = (items: { id?: string; name?: string }[], key: 'id' | 'name', where: string) => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        const value = item[key];
        if (value === undefined) return;
        if (seen.has(value)) {
          ctx.addIssue({ code: 'custom', path: [where, i, key], message: `"${value}" is defined twice` });
        }
        seen.add(value);
      });
    };
    unique(config.trafficChannels, 'id', 'trafficChannels');
    unique(config.offers, 'id', 'offers');
    unique(config.campaigns, 'id', 'campaigns');
    unique(config.landers, 'id', 'landers');
    unique(config.conversionTypes, 'name', 'conversionTypes');

    const typeNames = new Set(config.conversionTypes.map((t) => t.name));
    const ipn = config.digistore24?.ipn;
    if (ipn) {
      for (const [event, mapping] of Object.entries(ipn.events)) {
        mapping.types.forEach((type, j) => {
          if (!typeNames.has(type)) {
            // The default event map's own types come ready-made in config/digistore24.ts.
            const hint = DEFAULT_IPN_TYPES.has(type) ? ' (spread digistore24IpnConversionTypes into conversionTypes)' : '';
            ctx.addIssue({ code: 'custom', path: ['digistore24', 'ipn', 'events', event, 'types', j], message: `"${type}" is not a defined conversion type${hint}` });
          }
        });
        if (mapping.byOrderPosition) {
          for (const type of ['initial_sale', 'upsell']) {
            if (!typeNames.has(type)) {
              ctx.addIssue({ code: 'custom', path: ['digistore24', 'ipn', 'events', event, 'byOrderPosition'], message: `needs the conversion type "${type}"` });
            }
          }
        }
      }
    }
    config.postbackProtection.sources?.forEach((source, i) => {
      source.allowedIps?.forEach((range, j) => {
        if (!isCidr(range)) {
          ctx.addIssue({ code: 'custom', path: ['postbackProtection', 'sources', i, 'allowedIps', j], message: `"${range}" is not an IP address or CIDR range` });
        }
      });
    });
    unique(config.postbackProtection.sources ?? [], 'id', 'postbackProtection.sources');

    // Conversion APIs (README, "Sales back to the ad platforms").
    const apiPlatforms = new Set<string>();
    config.trafficChannels.forEach((channel, i) => {
      const api = channel.conversionApi;
      if (!api) return;
      apiPlatforms.add(api.platform);
      if (channel.postbackUrl !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['trafficChannels', i, 'conversionApi'], message: 'a channel has either a postbackUrl or a conversionApi, not both' });
      }
      // Platform tokens are issued by the platform: they cannot be generated.
      const refs: [string, SecretRef | string][] =
        api.platform === 'google-ads'
          ? [['developerToken', api.developerToken], ['clientId', api.clientId], ['clientSecret', api.clientSecret], ['refreshToken', api.refreshToken]]
          : [['accessToken', api.accessToken]];
      for (const [field, ref] of refs) {
        if (typeof ref !== 'string' && ref.generated) {
          ctx.addIssue({ code: 'custom', path: ['trafficChannels', i, 'conversionApi', field], message: `the ${field} comes from the platform and cannot be generated: name secretsManager, ssmParameter and/or env` });
        }
      }
      const params = clickIdParams(channel);
      if (api.platform === 'google-ads') {
        if (params.length === 0 || params.some((p) => !GOOGLE_ADS.clickIdParams.includes(p))) {
          ctx.addIssue({
            code: 'custom',
            path: ['trafficChannels', i, 'clickIdParam'],
            message: `a Google Ads channel takes its click id from gclid, gbraid and/or wbraid, e.g. clickIdParam: ['gclid', 'gbraid', 'wbraid']; got ${JSON.stringify(channel.clickIdParam ?? null)}`,
          });
        }
      } else {
        const want = PLATFORM_CLICK_ID[api.platform];
        if (params.length !== 1 || params[0] !== want) {
          ctx.addIssue({
            code: 'custom',
            path: ['trafficChannels', i, 'clickIdParam'],
            message: `a ${api.platform === 'meta' ? 'Meta' : 'TikTok'} channel takes its click id from "${want}" (clickIdParam: '${want}'); got ${JSON.stringify(channel.clickIdParam ?? null)}`,
          });
        }
      }
    });
    config.conversionTypes.forEach((type, i) => {
      const events = type.platformEvents ?? {};
      if (type.revenue === 'subtract' && Object.values(events).some((e) => e !== undefined)) {
        ctx.addIssue({ code: 'custom', path: ['conversionTypes', i, 'platformEvents'], message: `"${type.name}" takes revenue back (a refund or chargeback), and those are never sent to an ad platform: remove platformEvents` });
      }
      const google = platformEventFor(type, 'google-ads');
      if (google !== undefined && apiPlatforms.has('google-ads') && !CONVERSION_ACTION_RESOURCE.test(google)) {
        ctx.addIssue({
          code: 'custom',
          path: ['conversionTypes', i, 'platformEvents', 'google-ads'],
          message: `the google-ads conversionApi uploads to a conversion action by its resource name customers/{customerId}/conversionActions/{id}, got "${google}"`,
        });
      }
    });

    // Click ids carry a 4-character code of their campaign (the clicks table's partition key).
    const codes = new Map<string, string>();
    config.campaigns.forEach((campaign, i) => {
      const code = campaignCode(campaign.id);
      const other = codes.get(code);
      if (other !== undefined && other !== campaign.id) {
        ctx.addIssue({ code: 'custom', path: ['campaigns', i, 'id'], message: `"${campaign.id}" shares its click-id code with campaign "${other}"; rename one of them` });
      }
      codes.set(code, campaign.id);
    });

    const channels = new Set(config.trafficChannels.map((c) => c.id));
    const offers = new Set(config.offers.map((o) => o.id));
    const landers = new Set(config.landers.map((l) => l.id));
    config.campaigns.forEach((campaign, i) => {
      if (!channels.has(campaign.trafficChannel)) {
        ctx.addIssue({
          code: 'custom',
          path: ['campaigns', i, 'trafficChannel'],
          message: `"${campaign.trafficChannel}" is not a defined traffic channel`,
        });
      }
      campaign.offers.forEach((ref, j) => {
        if (!offers.has(ref.offer)) {
          ctx.addIssue({
            code: 'custom',
            path: ['campaigns', i, 'offers', j, 'offer'],
            message: `"${ref.offer}" is not a defined offer`,
          });
        }
      });
      campaign.landers?.forEach((ref, j) => {
        if (!landers.has(ref.lander)) {
          ctx.addIssue({ code: 'custom', path: ['campaigns', i, 'landers', j, 'lander'], message: `"${ref.lander}" is not a defined lander` });
        }
      });
    });
  });

/** What a config file exports (defaults may be left out). */
export type TrackerConfigInput = z.input<typeof trackerConfigSchema>;
/** A validated config with every default filled in. */
export type TrackerConfig = z.output<typeof trackerConfigSchema>;
export type TrafficChannel = TrackerConfig['trafficChannels'][number];
export type Offer = TrackerConfig['offers'][number];
export type Campaign = TrackerConfig['campaigns'][number];
export type Lander = TrackerConfig['landers'][number];
export type ConversionType = z.output<typeof conversionTypeSchema>;
export type ConversionTypeInput = z.input<typeof conversionTypeSchema>;
export type IpStorage = TrackerConfig['defaults']['ipStorage'];
export type SecretRef = z.output<typeof secretRefSchema>;
export type IpnConfig = z.output<typeof ipnSchema>;
export type PostbackProtection = z.output<typeof postbackProtectionSchema>;
export type ConversionApi = z.output<typeof conversionApiSchema>;
export type MetaApi = Extract<ConversionApi, { platform: 'meta' }>;
export type TikTokApi = Extract<ConversionApi, { platform: 'tiktok' }>;
export type GoogleAdsApi = Extract<ConversionApi, { platform: 'google-ads' }>;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid tracker config (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `['campaigns', 1, 'offers', 0, 'offer']` -> `campaigns[1].offers[0].offer` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Validates a config and fills in defaults; throws ConfigError naming every problem by path. */
export function parseConfig(input: unknown, source = 'config'): TrackerConfig {
  const result = trackerConfigSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(
    source,
    result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`),
  );
}

/**
 * What `npm start` and synth print about a config that accepts postbacks without a key: the
 * acknowledged unprotected mode, or the switch-over (required: false with sources).
 */
export function protectionWarnings(config: TrackerConfig): string[] {
  const p = config.postbackProtection;
  if (p.required) return [];
  if (p.sources === undefined) {
    return [
      'WARNING: postbacks are NOT protected (postbackProtection.acknowledgeUnprotected): anyone who learns the postback URL can record ' +
        "fake sales. Protect them with postbackProtection: { sources: [{ id: 'digistore24', keys: [{ generated: true }] }] }.",
    ];
  }
  return [
    'WARNING: postbacks without a key are accepted (postbackProtection.required: false, the switch-over mode): set required: true ' +
      'as soon as every Digistore24 postback URL carries the key (npm run urls prints them).',
  ];
}

/** Identity helper that gives a config file types and editor completion. */
export function defineConfig(config: TrackerConfigInput): TrackerConfigInput {
  return config;
}
