/**
 * GET /go?clickid=<id>[&offer=<offerId>]: the lander's call to action. Records the lander click
 * on the click (the first one counts; repeats change nothing), chooses the offer (the one named
 * when it is one of the campaign's, else by weight) and sends the visitor there with the same
 * click id.
 *
 * At most one write and no read on the way: the campaign comes from the click id's code, and
 * one conditional UpdateItem (click exists, no lander click yet) both records the lander click
 * and tells whether the click exists; only when its condition fails is the click read back (to
 * tell a repeat from a click not stored yet). A visitor on a lander always reaches an offer: a
 * click not stored (yet) — still in the queue, say — is redirected anyway, and its lander click
 * waits in the dead-letter queue for `npm run redrive`.
 */
import { botVerdict, isPrefetch, type BotVerdict } from './bots';
import { fillUrl } from './click';
import { errorText } from './conversion';
import { capSource, fingerprintOf } from './dead-letters';
import { idTime, mintId } from './ids';
import { quote } from './quote';
import type { DeadLetterSink, LanderClick, LanderClickStore, Log, RawRequest } from './model';
import { campaignOffer, pickOffer, type CompiledConfig } from './tracker-config';

const CLICK_ID = /^[0-9A-HJKMNP-TV-Z]{30}$/;

export interface LanderClickInput {
  request: RawRequest;
  userAgent?: string;
  /** `Sec-Purpose`: a prefetch is answered 503 and records nothing. */
  purpose?: string;
  /** The visitor's address (the source of a queued lander click, for the dead-letter cap). */
  ip?: string;
  now: Date;
}

export interface LanderClickDeps {
  config: CompiledConfig;
  clicks: LanderClickStore;
  deadLetters: () => DeadLetterSink;
  log: Log;
  random?: () => number;
  newId?: (now: number) => string;
}

export type LanderClickOutcome =
  | { kind: 'prefetch' }
  | { kind: 'rejected'; parameter: 'clickid'; message: string }
  | { kind: 'not_found'; message: string }
  | {
      kind: 'redirect';
      location: string;
      /** Absent when the link carried no click id (consent refused): the offer, untracked. */
      clickId?: string;
      campaignId?: string;
      offerId: string;
      /**
       * `recorded`: the first lander click, stored now. `repeat`: one was stored before, nothing
       * changed. `queued`: the click is not stored (yet); the lander click waits in the queue
       * (`duplicateOf`: the same one waits there already). `capped`: not kept, its network
       * reached the dead-letter cap this hour. `lost`: storage and queue both failed. `expired`:
       * the click is not stored and its id is older than clickRetentionDays, so it never will be:
       * nothing kept. `bot`: a bot followed the link, nothing recorded. `untracked`: no click id,
       * nothing to record.
       */
      recorded: 'recorded' | 'repeat' | 'queued' | 'capped' | 'lost' | 'expired' | 'bot' | 'untracked';
      /** Queued already: the message holding this lander click. */
      duplicateOf?: string;
      bot?: BotVerdict['reason'];
      /** Why it was queued or lost. */
      detail?: string;
    };

export async function handleLanderClick(input: LanderClickInput, deps: LanderClickDeps): Promise<LanderClickOutcome> {
  if (isPrefetch(input.purpose)) return { kind: 'prefetch' };
  const params = new URLSearchParams(input.request.query);
  const rawId = params.get('clickid') ?? params.get('cid');
  const offerParam = params.get('offer');

  if (rawId === null || rawId === '') {
    // A lander whose visitor refused tracking (t.js in consent mode) links to /go without a
    // click id: the named offer is still where they want to go, untracked.
    const offer = offerParam === null ? undefined : deps.config.config.offers.find((o) => o.id === offerParam);
    if (offer) return { kind: 'redirect', location: fillUrl(offer.url, { clickId: '', campaignId: '', subs: {} }), offerId: offer.id, recorded: 'untracked' };
    return { kind: 'rejected', parameter: 'clickid', message: 'clickid: missing; the lander\'s link to /go needs ?clickid=<the click id> (t.js adds it)' };
  }
  if (!CLICK_ID.test(rawId)) return { kind: 'rejected', parameter: 'clickid', message: `clickid: "${quote(rawId)}" is not a click id of this tracker` };
  const compiled = deps.config.byCode.get(rawId.slice(26));
  if (!compiled) return { kind: 'not_found', message: `Unknown campaign: click id ${rawId} belongs to no campaign of this tracker` };
  const clickId = rawId;
  const campaignId = compiled.campaign.id;
  const named = campaignOffer(compiled, offerParam);
  const chosen = named ?? pickOffer(compiled, (deps.random ?? Math.random)());
  const base = { clickId, campaignId, subs: {} };

  const bot = botVerdict(input.request.method, input.userAgent);
  if (bot) {
    // A bot following the lander's link is no lander click: it is sent on and nothing is written.
    const target = compiled.campaign.botUrl ?? chosen.url;
    return { kind: 'redirect', location: fillUrl(target, base), clickId, campaignId, offerId: chosen.id, recorded: 'bot', bot: bot.reason };
  }

  const landerClick: LanderClick = { clickId, offerId: chosen.id, at: input.now.toISOString() };
  // The click's id carries its time, so its retention's end is known without reading it.
  const madeAt = idTime(clickId.slice(0, 26)) ?? input.now.getTime();
  const clickExpiresAt = madeAt + deps.config.config.defaults.clickRetentionDays * 86_400_000;
  let detail: string;
  let reason: 'unknown_click' | 'storage_error';
  try {
    const result = await deps.clicks.recordLanderClick(landerClick);
    if (result.status === 'recorded') {
      return { kind: 'redirect', location: fillUrl(chosen.url, result.click), clickId, campaignId, offerId: chosen.id, recorded: 'recorded' };
    }
    if (result.status === 'repeat') {
      // The first lander click counts and its offer stays recorded. A repeat goes where its link
      // says (a multi-offer lander's other button), else to the offer chosen the first time.
      const first = campaignOffer(compiled, result.click.offerId);
      const offer = named ?? first ?? chosen;
      return { kind: 'redirect', location: fillUrl(offer.url, result.click), clickId, campaignId, offerId: offer.id, recorded: 'repeat' };
    }
    reason = 'unknown_click';
    detail = `lander click of a click that is not stored (yet): offer ${chosen.id} chosen at ${landerClick.at}`;
  } catch (err) {
    reason = 'storage_error';
    detail = `lander click could not be stored: ${errorText(err)}`;
  }
  // The visitor goes on to the offer either way; the lander click waits for the click.
  const location = fillUrl(chosen.url, base);
  const queuedBase = { kind: 'redirect' as const, location, clickId, campaignId, offerId: chosen.id, detail };
  if (reason === 'unknown_click' && clickExpiresAt < input.now.getTime()) {
    // A visitor back after the click's retention (a long-lived t.js cookie, an old bookmark):
    // the click is gone for good, so a queued lander click could only wait forever.
    deps.log.info('lander click not kept: its click is past its retention', { clickId, clickExpiredAt: new Date(clickExpiresAt).toISOString() });
    return { ...queuedBase, recorded: 'expired', detail: `click made ${new Date(madeAt).toISOString()} is past its retention (clickRetentionDays)` };
  }
  try {
    // A keyless request: deduped (the same click's lander click waits once) and capped per the
    // sender's network, like a keyless pixel.
    const sent = await deps.deadLetters().send(
      {
        version: 1,
        id: (deps.newId ?? mintId)(Date.now()),
        kind: 'lander_click',
        reason,
        detail,
        receivedAt: landerClick.at,
        clickId,
        request: input.request,
        landerClick: { ...landerClick, clickExpiresAt: new Date(clickExpiresAt).toISOString() },
        fingerprint: fingerprintOf(['lander_click', reason, clickId]),
      },
      { source: capSource({ ...(input.ip !== undefined ? { ip: input.ip } : {}) }) },
    );
    if (sent.status === 'capped') {
      deps.log.warn('lander click not kept: dead-letter cap reached', { clickId, reason, capSource: sent.refusal.source, limit: sent.refusal.limit });
      return { ...queuedBase, recorded: 'capped' };
    }
    if (sent.status === 'duplicate') return { ...queuedBase, recorded: 'queued', duplicateOf: sent.messageId };
    deps.log.warn('lander click queued', { clickId, reason, detail });
    return { ...queuedBase, recorded: 'queued' };
  } catch (queueErr) {
    deps.log.error('lander click lost: storage and dead-letter queue both failed', { clickId, landerClick, detail, queueError: errorText(queueErr) });
    return { ...queuedBase, recorded: 'lost' };
  }
}
