/**
 * The click redirect: record the click, mint its id, send the visitor to a configured offer.
 * Exactly one store write and no reads; the visitor is redirected even when storage fails.
 */
import { isIP } from 'node:net';
import type { Campaign } from '../../config/schema';
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
import { pickOffer, type CompiledConfig } from './tracker-config';

/** Length bounds of what a click stores; longer values are cut, never refused. */
export const CLICK_LIMITS = {
  sub: 255,
  channelClickId: 512,
  userAgent: 512,
  referer: 1024,
} as const;

const CAMPAIGN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MACRO = /\{(clickid|campaignid|sub(?:[1-9]|1\d|20))\}/g;

export interface ClickInput {
  campaignId: string;
  request: RawRequest;
  userAgent?: string;
  referer?: string;
  country?: string;
  ip?: string;
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
  | { kind: 'redirect'; location: string; click: ClickRecord; stored: 'stored' | 'duplicate' | 'queued' | 'lost' }
  | { kind: 'not_found'; message: string };

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

/** Builds the click record from the request; pure, so it can be tested alone. */
export function buildClick(input: ClickInput, deps: Pick<ClickDeps, 'config' | 'random' | 'newId'>, clickId?: string): ClickRecord | undefined {
  const compiled = deps.config.campaigns.get(input.campaignId);
  if (!compiled) return undefined;
  const params = new URLSearchParams(input.request.query);
  const offer = pickOffer(compiled, (deps.random ?? Math.random)());
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
    offerId: offer.id,
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
  const referer = bounded(input.referer, CLICK_LIMITS.referer);
  if (referer) click.referer = referer;
  if (input.country && /^[A-Za-z]{2}$/.test(input.country)) click.country = input.country.toUpperCase();
  const ip = storableIp(input.ip, defaults.ipStorage);
  if (ip) click.ip = ip;
  return click;
}

/** Fills the offer URL's macros; values are URL-encoded, unknown macros stay as they are. */
export function offerLocation(template: string, click: ClickRecord): string {
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
  if ((click as { bot?: unknown }).bot === true) return false;
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

export async function handleClick(input: ClickInput, deps: ClickDeps): Promise<ClickOutcome> {
  if (!CAMPAIGN_ID.test(input.campaignId) || !deps.config.campaigns.has(input.campaignId)) {
    return { kind: 'not_found', message: 'Unknown campaign' };
  }
  const click = buildClick(input, deps);
  if (!click) return { kind: 'not_found', message: 'Unknown campaign' };
  const offer = deps.config.config.offers.find((o) => o.id === click.offerId);
  if (!offer) throw new Error(`offer ${click.offerId} vanished from the config`);
  const location = offerLocation(offer.url, click);
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
  return { kind: 'redirect', location, click, stored };
}
