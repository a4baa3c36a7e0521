/**
 * The click: record it, mint its id, send the visitor on — to a lander (campaigns with
 * landers), the offer, or, for flagged bots, the campaign's botUrl. Exactly one store write and
 * no reads; the visitor is redirected even when storage fails. `format=json` answers the same
 * click as JSON instead of a redirect (direct tracking with /t.js).
 */
import { isIP } from 'node:net';
import type { Campaign } from '../../config/schema';
import { botVerdict, isPrefetch } from './bots';
import { parseDecimal, toMicros } from './decimal';
import { mintClickId, mintId } from './ids';
import { storableIp } from './ip';
import { clickIdParams } from './platforms';
import {
  SUB_COUNT,
  type ClickRecord,
  type ClickStore,
  type DeadLetterSink,
  type Log,
  type RawRequest,
  type SubKey,
} from './model';
import { landerOfPage, pickLander, pickOffer, type CompiledConfig } from './tracker-config';

/** Length bounds of what a click stores; longer values are cut, never refused. */
export const CLICK_LIMITS = {
  sub: 255,
  channelClickId: 512,
  userAgent: 512,
  referer: 1024,
  /** Origin and path only: the query's ad parameters are stored as subs and the channel click id. */
  page: 512,
  /** `fb.1.<ms>.<fbclid>`: fbclids run to a few hundred characters. */
  metaCookie: 512,
} as const;

const CAMPAIGN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MACRO = /\{(clickid|campaignid|sub(?:[1-9]|1\d|20))\}/g;
/** Meta's `_fbp` / `_fbc` cookie values: `fb.<subdomain index>.<creation ms>.<random or fbclid>`. */
const META_COOKIE = /^fb\.\d\.\d{1,16}\.[A-Za-z0-9_.-]{1,480}$/;

export interface ClickInput {
  campaignId: string;
  request: RawRequest;
  userAgent?: string;
  referer?: string;
  country?: string;
  ip?: string;
  /** `Sec-Purpose` (a prefetch is answered 503 and records nothing). */
  purpose?: string;
  /** `Origin` (the JSON click answers a browser only on a lander's origin or a corsOrigins entry). */
  origin?: string;
  now: Date;
}

export interface ClickDeps {
  config: CompiledConfig;
  clicks: ClickStore;
  deadLetters: () => DeadLetterSink;
  log: Log;
  /**
   * Seals the full address of clicks that carry a Meta or TikTok conversion API channel's click
   * id (core/sealed-ip); absent, no full address is kept.
   */
  ipKeys?: { seal(ip: string, clickId: string, at: Date): Promise<string | undefined> };
  random?: () => number;
  newId?: (now: number) => string;
}

export type ClickOutcome =
  | {
      kind: 'redirect';
      /** Where the visitor goes: the lander, the offer, or the campaign's botUrl for a bot. */
      location: string;
      click: ClickRecord;
      stored: 'stored' | 'duplicate' | 'queued' | 'lost';
      /** Answer as JSON (`format=json`) instead of a redirect. */
      json?: boolean;
      /** JSON from a browser: the Origin to allow (CORS), already checked against the config. */
      allowOrigin?: string;
    }
  | { kind: 'not_found'; message: string; json?: boolean; allowOrigin?: string }
  /** A browser prefetch: nothing recorded; the navigation that follows makes the click. */
  | { kind: 'prefetch' }
  /** A JSON click from a page whose origin is neither a lander's nor in corsOrigins: nothing recorded. */
  | { kind: 'origin_refused'; origin: string; json: true };

function bounded(value: string | undefined | null, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  // Control characters have no place in stored text (log and CSV injection).
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (clean === '') return undefined;
  return clean.length > max ? clean.slice(0, max) : clean;
}

/**
 * The click's cost from the URL's `cost` parameter: only for a campaign that opts in
 * (`cost: { fromUrl: true, max }`), capped at its `max`; anything else is ignored, so an
 * anonymous visitor cannot put a cost of their choosing into the reports.
 */
export function clickCost(campaign: Campaign, text: string | null): string | undefined {
  if (!campaign.cost?.fromUrl || text === null) return undefined;
  const cost = parseDecimal(text);
  const max = parseDecimal(campaign.cost.max);
  if (cost === undefined || cost.startsWith('-') || max === undefined) return undefined;
  return toMicros(cost) > toMicros(max) ? max : cost;
}

/** The page of a direct visit: an http(s) URL cut to origin and path (its query is stored as subs). */
function pageOf(value: string | undefined | null): string | undefined {
  const text = bounded(value, 4096);
  if (text === undefined) return undefined;
  try {
    const url = new URL(text);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return bounded(`${url.origin}${url.pathname}`, CLICK_LIMITS.page);
  } catch {
    return undefined;
  }
}

function metaCookie(value: string | null): string | undefined {
  const text = bounded(value, CLICK_LIMITS.metaCookie);
  return text !== undefined && META_COOKIE.test(text) ? text : undefined;
}

/** Whether the request asks for the JSON answer (`format=json`). */
export function wantsJson(request: RawRequest): boolean {
  return new URLSearchParams(request.query).get('format') === 'json';
}

/** Builds the click record from the request; pure, so it can be tested alone. */
export function buildClick(input: ClickInput, deps: Pick<ClickDeps, 'config' | 'random' | 'newId'>, clickId?: string): ClickRecord | undefined {
  const compiled = deps.config.campaigns.get(input.campaignId);
  if (!compiled) return undefined;
  const random = deps.random ?? Math.random;
  const params = new URLSearchParams(input.request.query);
  const json = params.get('format') === 'json';
  const nowMs = input.now.getTime();
  const { defaults } = deps.config.config;
  const subs: Partial<Record<SubKey, string>> = {};
  for (let i = 1; i <= SUB_COUNT; i++) {
    const value = bounded(params.get(`sub${i}`), CLICK_LIMITS.sub);
    if (value !== undefined) subs[`sub${i}`] = value;
  }
  const click: ClickRecord = {
    clickId: clickId ?? (deps.newId ? deps.newId(nowMs) : mintClickId(compiled.campaign.id, nowMs)),
    campaignId: compiled.campaign.id,
    channelId: compiled.channel.id,
    createdAt: input.now.toISOString(),
    expiresAt: Math.floor(nowMs / 1000) + defaults.clickRetentionDays * 86400,
    subs,
  };
  // The channel's click id: the first of its parameters present (Google: gclid, gbraid, wbraid).
  const names = clickIdParams(compiled.channel);
  for (const name of names) {
    const channelClickId = bounded(params.get(name), CLICK_LIMITS.channelClickId);
    if (!channelClickId) continue;
    click.channelClickId = channelClickId;
    if (names.length > 1) click.channelClickIdParam = name;
    break;
  }
  const cost = clickCost(compiled.campaign, params.get('cost'));
  if (cost !== undefined) click.cost = cost;
  const userAgent = bounded(input.userAgent, CLICK_LIMITS.userAgent);
  if (userAgent) click.userAgent = userAgent;
  // A JSON click comes from t.js on the lander: the visitor's own referrer is the page's
  // document.referrer (`ref`); the request's Referer header is the lander page itself.
  const referer = bounded(json ? params.get('ref') : input.referer, CLICK_LIMITS.referer);
  if (referer) click.referer = referer;
  if (input.country && /^[A-Za-z]{2}$/.test(input.country)) click.country = input.country.toUpperCase();
  const ip = storableIp(input.ip, defaults.ipStorage);
  if (ip) click.ip = ip;
  let page: string | undefined;
  if (json) {
    page = pageOf(params.get('page') ?? input.referer);
    if (page) click.page = page;
    const fbp = metaCookie(params.get('_fbp'));
    if (fbp) click.fbp = fbp;
    const fbc = metaCookie(params.get('_fbc'));
    if (fbc) click.fbc = fbc;
  }
  const bot = botVerdict(input.request.method, input.userAgent);
  if (bot) {
    click.bot = true;
    click.botReason = bot.reason;
    // A flagged bot goes to the campaign's botUrl when it has one: no lander, no offer.
    if (compiled.campaign.botUrl !== undefined) return click;
  }
  if (compiled.landers.length > 0) {
    // The lander the visitor is sent to; on a direct visit (t.js), the lander they are on (none
    // when the page is not one of the campaign's landers). The offer is chosen when they leave
    // the lander (GET /go).
    const lander = json && page !== undefined ? landerOfPage(compiled, page) : pickLander(compiled, random());
    if (lander) click.landerId = lander.id;
    return click;
  }
  click.offerId = pickOffer(compiled, random()).id;
  return click;
}

/**
 * The URL template the click sends the visitor to: the campaign's botUrl for a flagged bot
 * (when it has one), the click's lander, or its offer. A direct visit on a page that is none of
 * the campaign's landers has no lander: the lander a redirect would pick stands in.
 */
export function clickTarget(config: CompiledConfig, click: ClickRecord, random: () => number = Math.random): string {
  const compiled = config.campaigns.get(click.campaignId);
  if (!compiled) throw new Error(`campaign ${click.campaignId} vanished from the config`);
  if (click.bot && compiled.campaign.botUrl !== undefined) return compiled.campaign.botUrl;
  if (compiled.landers.length > 0) {
    const lander = compiled.landers.find((l) => l.lander.id === click.landerId)?.lander ?? pickLander(compiled, random());
    if (!lander) throw new Error(`campaign ${click.campaignId} has no landers`);
    return lander.url;
  }
  const offer = compiled.offers.find((o) => o.offer.id === click.offerId)?.offer;
  if (!offer) throw new Error(`offer ${String(click.offerId)} vanished from the config`);
  return offer.url;
}

/**
 * Fills a URL template's macros ({clickid}, {campaignid}, {sub1}..{sub20}) from the click:
 * values are URL-encoded, unknown macros stay as they are.
 */
export function fillUrl(template: string, click: Pick<ClickRecord, 'clickId' | 'campaignId' | 'subs'>): string {
  return template.replace(MACRO, (_, name: string) => {
    const value = name === 'clickid' ? click.clickId : name === 'campaignid' ? click.campaignId : click.subs[name as SubKey];
    return encodeURIComponent(value ?? '');
  });
}

/**
 * Whether the click keeps its full address for a conversion API: the campaign's channel sends to
 * Meta or TikTok (Google's click conversions take no address), the click carries that channel's
 * click id, and the config stores addresses at all.
 */
export function needsFullIp(click: ClickRecord, config: CompiledConfig): boolean {
  const platform = config.campaigns.get(click.campaignId)?.channel.conversionApi?.platform;
  // A bot (issue 12 flags link previewers such as facebookexternalhit, which carry the fbclid) never buys: no address kept.
  if (click.bot === true) return false;
  return (platform === 'meta' || platform === 'tiktok') && click.channelClickId !== undefined && config.config.defaults.ipStorage !== 'none';
}

/**
 * How long a click waits for its day key (read once per instance and day, normally made ahead by
 * the sender's schedule). A store that is slow or hangs must not spend the click's 1.2 s deadline:
 * the click is stored without the address instead, and the read goes on for the next clicks.
 */
export const SEAL_WAIT_MS = 250;

/** Adds the sealed full address when the click needs it; a key that cannot be had in time never fails or holds the click. */
async function sealFullIp(click: ClickRecord, input: ClickInput, deps: ClickDeps): Promise<void> {
  if (!deps.ipKeys || input.ip === undefined || isIP(input.ip) === 0 || !needsFullIp(click, deps.config)) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const sealing = deps.ipKeys.seal(input.ip, click.clickId, input.now);
    // Settled later or never: nothing waits on it any more, and its failure is no one's.
    sealing.catch(() => undefined);
    const slow = new Promise<'slow'>((resolve) => {
      timer = setTimeout(() => resolve('slow'), SEAL_WAIT_MS);
      timer.unref?.();
    });
    const sealed = await Promise.race([sealing, slow]);
    if (sealed === 'slow') {
      deps.log.warn('click stored without its full address for the conversion API: the day key did not come in time', { clickId: click.clickId, waitedMs: SEAL_WAIT_MS });
      return;
    }
    if (sealed) click.sealedIp = sealed;
  } catch (err) {
    deps.log.warn('click stored without its full address for the conversion API: the day key could not be read', {
      clickId: click.clickId,
      error: `${(err as Error).name}: ${(err as Error).message}`,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** The offer URL with the click's values: fillUrl by its older name. */
export const offerLocation = fillUrl;

export async function handleClick(input: ClickInput, deps: ClickDeps): Promise<ClickOutcome> {
  // A prefetch writes nothing, before anything else is looked at.
  if (isPrefetch(input.purpose)) return { kind: 'prefetch' };
  const json = wantsJson(input.request);
  // A browser page may read the JSON click only from a lander's origin or one in corsOrigins.
  // Any other page could not read the answer (no id, no cookie: each reload would be a new
  // click), so nothing is recorded for it. Callers without an Origin (servers) are not browsers.
  let allowOrigin: string | undefined;
  if (json && input.origin !== undefined) {
    if (!deps.config.corsOrigins.has(input.origin)) return { kind: 'origin_refused', origin: input.origin, json: true };
    allowOrigin = input.origin;
  }
  const cors = allowOrigin !== undefined ? { allowOrigin } : {};
  if (!CAMPAIGN_ID.test(input.campaignId) || !deps.config.campaigns.has(input.campaignId)) {
    return { kind: 'not_found', message: 'Unknown campaign', json, ...cors };
  }
  const click = buildClick(input, deps);
  if (!click) return { kind: 'not_found', message: 'Unknown campaign', json, ...cors };
  const location = fillUrl(clickTarget(deps.config, click, deps.random), click);
  await sealFullIp(click, input, deps);

  let stored: 'stored' | 'duplicate' | 'queued' | 'lost';
  try {
    stored = await deps.clicks.putClick(click);
  } catch (err) {
    // Never lose the sale: the visitor is redirected anyway and the click waits in the queue.
    const detail = `click could not be stored: ${(err as Error).name}: ${(err as Error).message}`;
    try {
      // Never capped and never deduped: each is a real visitor with a fresh click id.
      await deps.deadLetters().send(
        {
          version: 1,
          id: (deps.newId ?? mintId)(Date.now()),
          kind: 'click',
          reason: 'storage_error',
          detail,
          receivedAt: input.now.toISOString(),
          clickId: click.clickId,
          request: input.request,
          click,
        },
        { uncapped: 'click' },
      );
      stored = 'queued';
      deps.log.warn('click queued', { clickId: click.clickId, reason: 'storage_error', detail });
    } catch (queueErr) {
      stored = 'lost';
      deps.log.error('click lost: storage and dead-letter queue both failed', {
        clickId: click.clickId,
        detail,
        // Everything needed to restore the click by hand, minus the visitor's IP (plain or sealed).
        click: { ...click, ip: undefined, sealedIp: undefined },
        queueError: `${(queueErr as Error).name}: ${(queueErr as Error).message}`,
      });
    }
  }
  return { kind: 'redirect', location, click, stored, json, ...cors };
}
