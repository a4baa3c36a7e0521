/**
 * Sending recorded conversions on — to Meta, TikTok, Google Ads, or a channel's generic postback
 * URL — outside the request that recorded them (issue 13; docs/architecture.md "Sales back to
 * the ad platforms").
 *
 * Recording marks the conversion item with its target and, while a send is outstanding, with
 * `sendQueue` + `sendDue` (a sparse index), in the same single write; then it puts a job on the
 * send queue. The sender takes the job, claims the item (conditional update, a lost answer
 * recognised by its token), calls the platform and reads the outcome from its answer, then marks
 * the item `sent`, `failed` (the platform's message) or `skipped` (why), or gives it back
 * `pending` with a due time (a transient error, with backoff; Google's 6-hour rule). Retries that
 * run out land in the dead-letter queue (kind `forward`) for `npm run redrive`. The hourly sweep
 * uploads Google Ads conversions in batches and picks up any send whose job was lost.
 */
import type { ConversionType, GoogleAdsApi, Lander, MetaApi, Offer, TikTokApi, TrackerConfig, TrafficChannel } from '../../config/schema';
import { errorText } from './conversion';
import { fingerprintOf } from './dead-letters';
import { forwardUrl } from './forward';
import { mintId } from './ids';
import type { ChannelPostback, ConversionRecord, DeadLetterSink, Log } from './model';
import { buyerContact, sourceUrl } from './platform-common';
import { googleOutcomes, googleRow, googleSkipReason, googleUploadRequest, type GoogleTokens } from './platform-google-ads';
import { metaEvent, metaOutcome, metaRequest, metaSkipReason } from './platform-meta';
import { tiktokEvent, tiktokOutcome, tiktokRequest, tiktokSkipReason } from './platform-tiktok';
import { GOOGLE_ADS, clickIdParams, platformEventFor, type Platform, type SendTarget } from './platforms';
import type { HttpClient, SecretSource, SendClick, SendClicks, SendConversion, SendJob, SendOutcome, SendQueue, SendStateStore } from './send-model';

/** What the send path needs from the config, indexed once. */
export interface SendConfig {
  channels: ReadonlyMap<string, TrafficChannel>;
  /** The config's conversion types (platformEvents live there). */
  types: ReadonlyMap<string, ConversionType>;
  offers: ReadonlyMap<string, Offer>;
  /** The config's landers: the page of a lander campaign's click that never reached an offer. */
  landers: ReadonlyMap<string, Lander>;
}

export function sendConfig(config: Pick<TrackerConfig, 'trafficChannels' | 'conversionTypes' | 'offers'> & Partial<Pick<TrackerConfig, 'landers'>>): SendConfig {
  return {
    channels: new Map(config.trafficChannels.map((c) => [c.id, c])),
    types: new Map(config.conversionTypes.map((t) => [t.name, t])),
    offers: new Map(config.offers.map((o) => [o.id, o])),
    landers: new Map((config.landers ?? []).map((l) => [l.id, l])),
  };
}

/** Whether a config sends anything anywhere (a conversion API, or a postbackUrl with a type to forward). */
export function configSends(config: Pick<TrackerConfig, 'trafficChannels' | 'conversionTypes'>): boolean {
  return config.trafficChannels.some((c) => c.conversionApi !== undefined) || (config.conversionTypes.some((t) => t.forwardToChannel) && config.trafficChannels.some((c) => c.postbackUrl !== undefined));
}

/**
 * Where a recorded conversion goes, decided when it is recorded and written with it: due now
 * (Meta, TikTok, a postback URL), due 6 hours after its click (Google Ads), skipped with the
 * reason (trace shows it), or undefined when its channel sends nothing for its type. Refunds,
 * chargebacks, test orders and organic sales are never sent; keyless pixels and the IPN's
 * second type never get here (core/conversion).
 */
export type SendMark = { to: SendTarget; due: string } | { to: SendTarget; skipped: string };

export function sendMark(conversion: ConversionRecord, type: ConversionType, config: SendConfig, now: Date): SendMark | undefined {
  if (conversion.test || !conversion.attributed || type.revenue === 'subtract') return undefined;
  const channel = conversion.channelId ? config.channels.get(conversion.channelId) : undefined;
  if (!channel) return undefined;
  const api = channel.conversionApi;
  if (api) {
    const event = platformEventFor(config.types.get(type.name) ?? type, api.platform);
    if (event === undefined) return undefined;
    if (api.platform === 'google-ads') {
      if (!conversion.channelClickId) return { to: api.platform, skipped: 'the click carried no gclid, gbraid or wbraid' };
      const clickMs = Date.parse(conversion.clickCreatedAt ?? conversion.createdAt);
      return { to: api.platform, due: new Date(Math.max(now.getTime(), clickMs + GOOGLE_ADS.minClickAgeMs)).toISOString() };
    }
    if (api.platform === 'tiktok' && !conversion.channelClickId) return { to: api.platform, skipped: 'the click carried no ttclid' };
    // Meta can still match a click without fbclid by its _fbc/_fbp cookies (t.js): the sender looks.
    return { to: api.platform, due: now.toISOString() };
  }
  if (channel.postbackUrl !== undefined && type.forwardToChannel) {
    if (!conversion.channelClickId) return { to: 'postback', skipped: `the click carried no ${clickIdParams(channel).join('/') || 'channel click id'}` };
    return { to: 'postback', due: now.toISOString() };
  }
  return undefined;
}

/** The item attributes a mark adds to the conversion's single put. */
export function markAttributes(mark: SendMark | undefined): Partial<SendConversion> {
  if (!mark) return {};
  if ('skipped' in mark) return { forwardTo: mark.to, forwardState: 'skipped', forwardError: mark.skipped };
  return { forwardTo: mark.to, sendQueue: mark.to, sendDue: mark.due };
}

/** One send's result, for logs, metrics and the CLIs. */
export interface SendResult {
  clickId: string;
  conversionKey: string;
  to?: SendTarget;
  /**
   * `sent`, `failed` (final), `skipped`, `retry` (pending again, with backoff), `later`
   * (Google's 6 hours), `queued` (retries ran out: in the dead-letter queue), `busy` (another
   * sender holds it, or it is done), `gone` (no such conversion or nothing to send).
   */
  outcome: 'sent' | 'failed' | 'skipped' | 'retry' | 'later' | 'queued' | 'busy' | 'gone';
  detail?: string;
  /** A failure that may pass on another try (a redrive keeps its message). */
  retryable?: true;
  /** A generic postback's failure: `forward_unknown` when an attempt got no answer (the channel may have it). */
  forwardReason?: 'forward_failed' | 'forward_unknown';
}

export interface SendDeps {
  config: SendConfig;
  state: SendStateStore;
  clicks: SendClicks;
  /** Opens a click's sealed address (core/sealed-ip IpKeyRing); absent: no address is sent. */
  ipKeys?: { open(sealed: string, clickId: string, clickCreatedAt: string, now: Date): Promise<{ ip: string } | { unavailable: string }> };
  http: HttpClient;
  secrets: SecretSource;
  google: GoogleTokens;
  /** Where retries are put back with their delay; absent (a CLI), the sweep picks them up. */
  queue?: SendQueue;
  deadLetters: () => DeadLetterSink;
  /** The generic postback URL client (2xx/3xx = delivered). */
  channel: ChannelPostback;
  log: Log;
  /** Seconds before each retry of a Meta/TikTok send; its length + 1 is the attempt budget. */
  retryDelaysSeconds?: readonly number[];
  /** Seconds before each retry of a Google upload (the sweep runs hourly). */
  googleRetryDelaysSeconds?: readonly number[];
  /** Attempts of a generic postback in one go (default 2, 200 ms apart). */
  postbackAttempts?: number;
  postbackPauseMs?: number;
  /** Per-call timeouts. */
  timeouts?: { platformMs?: number; googleMs?: number; tokenMs?: number };
  /** How long a claim holds before the sweep may take it over (default 15 minutes). */
  leaseMs?: number;
  /** Rows per Google upload (default and maximum: 2,000). */
  googleBatchSize?: number;
  newId?: (now: number) => string;
  now?: () => Date;
}

export const DEFAULT_RETRY_DELAYS_SECONDS = [30, 120, 600, 900] as const;
export const DEFAULT_GOOGLE_RETRY_DELAYS_SECONDS = [3600, 7200, 14_400, 28_800] as const;
const DEFAULT_LEASE_MS = 15 * 60_000;

type Mode = 'queue' | 'sweep' | 'redrive';

const clock = (deps: SendDeps) => (deps.now ?? (() => new Date()))();

function fromStates(mode: Mode, to: SendTarget): ('new' | 'pending' | 'failed' | 'stale')[] {
  if (mode === 'redrive') return ['failed'];
  // A postback claim is never taken over: at most once means a doubt is not resolved by sending again.
  if (mode === 'sweep' && to !== 'postback') return ['new', 'pending', 'stale'];
  return ['new', 'pending'];
}

async function secret(deps: SendDeps, ref: Parameters<SecretSource['read']>[0], what: string): Promise<string> {
  let value: string | undefined;
  try {
    value = await deps.secrets.read(ref);
  } catch (err) {
    throw new SetupError(`${what} could not be read (${errorText(err)})`);
  }
  if (value === undefined || value === '') throw new SetupError(`${what} is not set (${ref.secretsManager ? `Secrets Manager ${ref.secretsManager}` : ref.ssmParameter ? `SSM ${ref.ssmParameter}` : `env ${ref.env ?? '?'}`})`);
  return value;
}

/** A secret that cannot be read: the send waits (retry) until the setup is fixed. */
class SetupError extends Error {}

/** The consent gate (t.js consent mode): absent = not required or given; else it must say granted. */
function consentRefusal(click: SendClick | undefined, conversion: SendConversion): string | undefined {
  const consent = click?.consent ?? conversion.consent;
  if (consent === undefined || consent === 'granted') return undefined;
  return `the visitor did not consent (t.js consent: ${String(consent).slice(0, 32)}): nothing is sent`;
}

/** Meta or TikTok: one event, one request. */
async function sendEvent(conversion: SendConversion, api: MetaApi | TikTokApi, deps: SendDeps, now: Date): Promise<{ outcome: SendOutcome; request?: string }> {
  const type = deps.config.types.get(conversion.type);
  const eventName = type ? platformEventFor(type, api.platform) : undefined;
  if (!eventName) return { outcome: { kind: 'skipped', reason: `type "${conversion.type}" has no ${api.platform} event in the config (any more)` } };
  const click = await deps.clicks.getClick(conversion.clickId);
  if (!click) return { outcome: { kind: 'skipped', reason: 'the click is no longer stored: its consent, address and browser cannot be checked' } };
  const refusal = consentRefusal(click, conversion);
  if (refusal) return { outcome: { kind: 'skipped', reason: refusal } };
  const skip = api.platform === 'meta' ? metaSkipReason({ conversion, click }, now) : tiktokSkipReason({ conversion, click });
  if (skip) return { outcome: { kind: 'skipped', reason: skip } };
  let ip: string | undefined;
  if (click.sealedIp && deps.ipKeys) {
    const opened = await deps.ipKeys.open(click.sealedIp, click.clickId, click.createdAt, now);
    if ('ip' in opened) ip = opened.ip;
  }
  const input = { conversion, click, eventName, ...(ip !== undefined ? { ip } : {}), buyer: buyerContact(conversion), ...optionalUrl(sourceUrl(click, deps.config.offers, conversion.offerId, deps.config.landers)) };
  const token = await secret(deps, api.accessToken, `${api.platform === 'meta' ? 'Meta' : 'TikTok'} accessToken`);
  const timeout = deps.timeouts?.platformMs ?? 5000;
  const built = api.platform === 'meta' ? metaEvent(input) : tiktokEvent(input);
  const request = api.platform === 'meta' ? metaRequest(api, token, [built.event], timeout) : tiktokRequest(api, token, [built.event], timeout);
  const summary = JSON.stringify({ platform: api.platform, url: request.url, ...built.summary });
  const answer = await deps.http.request(request);
  const outcome = api.platform === 'meta' ? metaOutcome(answer, 1, [token]) : tiktokOutcome(answer, [token]);
  return { outcome, request: summary };
}

const optionalUrl = (url: string | undefined) => (url !== undefined ? { sourceUrl: url } : {});

/** Ends one claimed send with its outcome: state, retry, dead-letter queue, the click's address. */
async function settle(
  conversion: SendConversion,
  token: string,
  to: SendTarget,
  result: { outcome: SendOutcome; request?: string },
  mode: Mode,
  deps: SendDeps,
  now: Date,
): Promise<SendResult> {
  const { outcome, request } = result;
  const at = now.toISOString();
  const base = { clickId: conversion.clickId, conversionKey: conversion.conversionKey, to };
  const extra = { ...(request !== undefined ? { request } : {}) };
  const done = async (state: 'sent' | 'failed' | 'skipped', error?: string, answer?: string) => {
    await deps.state.finish(conversion.clickId, conversion.conversionKey, token, { state, at, ...(error !== undefined ? { error } : {}), ...extra, ...(answer !== undefined ? { answer } : {}) });
    if (to === 'meta' || to === 'tiktok') await dropAddress(conversion.clickId, deps);
  };
  switch (outcome.kind) {
    case 'sent':
      await done('sent', undefined, outcome.answer);
      return { ...base, outcome: 'sent', detail: outcome.answer };
    case 'skipped':
      await done('skipped', outcome.reason);
      return { ...base, outcome: 'skipped', detail: outcome.reason };
    case 'failed':
      await done('failed', outcome.reason, outcome.answer);
      return { ...base, outcome: 'failed', detail: outcome.reason };
    case 'later':
      await deps.state.release(conversion.clickId, conversion.conversionKey, token, {
        due: outcome.until.toISOString(),
        attempts: conversion.forwardAttempts ?? 0,
        error: outcome.reason,
        ...extra,
      });
      return { ...base, outcome: 'later', detail: `${outcome.reason}; due again ${outcome.until.toISOString()}` };
    case 'retry': {
      const attempts = (conversion.forwardAttempts ?? 0) + 1;
      const delays = to === 'google-ads' ? (deps.googleRetryDelaysSeconds ?? DEFAULT_GOOGLE_RETRY_DELAYS_SECONDS) : (deps.retryDelaysSeconds ?? DEFAULT_RETRY_DELAYS_SECONDS);
      if (mode !== 'redrive' && attempts <= delays.length) {
        const delay = delays[attempts - 1] ?? 900;
        // A little jitter, so retries of many sends do not arrive together.
        const seconds = Math.round(delay * (0.9 + Math.random() * 0.2));
        const due = new Date(now.getTime() + seconds * 1000).toISOString();
        await deps.state.release(conversion.clickId, conversion.conversionKey, token, { due, attempts, error: outcome.reason, ...extra, ...(outcome.answer !== undefined ? { answer: outcome.answer } : {}) });
        // Google waits for the next sweep; the others go back on the queue (if that fails, the sweep finds them).
        if (to !== 'google-ads' && deps.queue) {
          await deps.queue.enqueue({ clickId: conversion.clickId, conversionKey: conversion.conversionKey, attempt: attempts }, Math.min(900, seconds)).catch((err: unknown) =>
            deps.log.warn('send retry not queued; the sweep will pick it up', { clickId: conversion.clickId, conversionKey: conversion.conversionKey, error: errorText(err) }),
          );
        }
        return { ...base, outcome: 'retry', detail: `${outcome.reason}; try ${attempts + 1} at ${due}` };
      }
      const detail = `${attempts} attempt(s) failed, last: ${outcome.reason}`;
      await deps.state.finish(conversion.clickId, conversion.conversionKey, token, { state: 'failed', at, error: detail.slice(0, 1000), ...extra, ...(outcome.answer !== undefined ? { answer: outcome.answer } : {}) });
      if (mode === 'redrive') return { ...base, outcome: 'failed', detail, retryable: true };
      const queued = await queueForRedrive(conversion, to as Platform, detail, deps, now);
      return { ...base, outcome: queued ? 'queued' : 'failed', detail: queued ? detail : `${detail}; it could not be queued either: it stays failed (npm run trace shows it)` };
    }
  }
}

async function queueForRedrive(conversion: SendConversion, platform: Platform, detail: string, deps: SendDeps, now: Date): Promise<boolean> {
  try {
    await deps.deadLetters().send({
      version: 1,
      id: (deps.newId ?? mintId)(now.getTime()),
      kind: 'forward',
      reason: 'forward_failed',
      detail: `send of ${conversion.type} to ${platform} failed: ${detail}`.slice(0, 1000),
      receivedAt: now.toISOString(),
      clickId: conversion.clickId,
      request: { method: 'POST', path: `/send/${platform}`, query: '', body: '', headers: {} },
      forward: { clickId: conversion.clickId, conversionKey: conversion.conversionKey, platform },
      // One message per conversion, however often its send runs out of retries; never capped (a
      // platform down for a day must not lose sales to a per-source limit).
      fingerprint: fingerprintOf(['forward', conversion.clickId, conversion.conversionKey]),
    }, { uncapped: 'forward' });
    return true;
  } catch (err) {
    deps.log.error('send failed and could not be queued for redrive', { clickId: conversion.clickId, conversionKey: conversion.conversionKey, platform, error: errorText(err) });
    return false;
  }
}

/** Removes the click's sealed address once none of its Meta/TikTok sends is outstanding (best effort: the 7-day key deletion is the backstop). */
async function dropAddress(clickId: string, deps: SendDeps): Promise<void> {
  try {
    await deps.clicks.dropSealedIpIfDone(clickId);
  } catch (err) {
    deps.log.warn('the sealed address could not be removed from the click now; its key expires after 7 days', { clickId, error: errorText(err) });
  }
}

/** The generic postback URL: at most once — claimed, up to 2 attempts, then sent or failed (and queued). */
async function sendPostback(conversion: SendConversion, token: string, deps: SendDeps, now: Date, mode: Mode): Promise<SendResult> {
  const channel = conversion.channelId ? deps.config.channels.get(conversion.channelId) : undefined;
  const base = { clickId: conversion.clickId, conversionKey: conversion.conversionKey, to: 'postback' as const };
  if (!channel?.postbackUrl) {
    const reason = `traffic channel ${conversion.channelId ?? '?'} has no postbackUrl (any more)`;
    await deps.state.finish(conversion.clickId, conversion.conversionKey, token, { state: 'skipped', at: now.toISOString(), error: reason });
    return { ...base, outcome: 'skipped', detail: reason };
  }
  const url = forwardUrl(channel.postbackUrl, conversion);
  const attempts = deps.postbackAttempts ?? 2;
  let last = '';
  // An attempt is repeated only when the channel cannot have it (no connection, an error status):
  // no answer means it may have counted it, and a generic postback has no key to deduplicate by.
  let reason: 'forward_failed' | 'forward_unknown' = 'forward_failed';
  let error = '';
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, deps.postbackPauseMs ?? 200));
    const result = await deps.channel.send(url);
    if (result.ok) {
      await deps.state.finish(conversion.clickId, conversion.conversionKey, token, { state: 'sent', at: new Date().toISOString(), answer: `HTTP ${result.status}` });
      return { ...base, outcome: 'sent', detail: `HTTP ${result.status}` };
    }
    last = result.error;
    if (result.delivery === 'unknown') {
      reason = 'forward_unknown';
      error = `attempt ${i + 1} got no answer, so the channel may have it (not sent again): ${last}`;
      break;
    }
  }
  if (reason === 'forward_failed') error = `${attempts} attempt(s) failed, last: ${last}`;
  await deps.state.finish(conversion.clickId, conversion.conversionKey, token, { state: 'failed', at: new Date().toISOString(), error: error.slice(0, 500) });
  if (mode === 'redrive') return { ...base, outcome: 'failed', detail: error, retryable: true, forwardReason: reason };
  const detail =
    reason === 'forward_unknown'
      ? `forward of ${conversion.type} to the traffic channel may have arrived: ${error}; check the channel, then npm run redrive -- --reason forward_unknown sends it again`
      : `forward of ${conversion.type} to the traffic channel failed: ${error}`;
  try {
    await deps.deadLetters().send({
      version: 1,
      id: (deps.newId ?? mintId)(Date.now()),
      kind: 'forward',
      reason,
      detail,
      receivedAt: now.toISOString(),
      clickId: conversion.clickId,
      request: { method: 'GET', path: '/postback', query: '', body: '', headers: {} },
      forward: { clickId: conversion.clickId, conversionKey: conversion.conversionKey, url },
      fingerprint: fingerprintOf(['forward', conversion.clickId, conversion.conversionKey]),
    }, { uncapped: 'forward' });
    return { ...base, outcome: 'queued', detail: error, forwardReason: reason };
  } catch (err) {
    return { ...base, outcome: 'failed', detail: `${error}; it could not be queued either (${errorText(err)})`, forwardReason: reason };
  }
}

/**
 * One conversion's send (a queue job, a sweep straggler, a redrive). Google Ads conversions go
 * through uploadGoogle (batches); one alone is an upload of one.
 */
export async function processSend(job: SendJob, deps: SendDeps, mode: Mode = 'queue'): Promise<SendResult> {
  const now = clock(deps);
  const base = { clickId: job.clickId, conversionKey: job.conversionKey };
  const conversion = await deps.state.get(job.clickId, job.conversionKey);
  const to = conversion?.forwardTo;
  if (!conversion || to === undefined) return { ...base, outcome: 'gone', detail: 'no such conversion, or nothing to send for it' };
  if (to === 'google-ads') return (await uploadGoogle([conversion], deps, mode))[0] ?? { ...base, to, outcome: 'gone' };
  const token = await deps.state.claim(job.clickId, job.conversionKey, {
    from: fromStates(mode, to),
    at: now.toISOString(),
    leaseUntil: new Date(now.getTime() + (deps.leaseMs ?? DEFAULT_LEASE_MS)).toISOString(),
    dropFromIndex: to === 'postback',
  });
  if (token === undefined) return { ...base, to, outcome: 'busy', detail: `already ${conversion.forwardState ?? 'claimed'}` };
  if (to === 'postback') return sendPostback(conversion, token, deps, now, mode);
  const channel = conversion.channelId ? deps.config.channels.get(conversion.channelId) : undefined;
  const api = channel?.conversionApi;
  let result: { outcome: SendOutcome; request?: string };
  if (!api || api.platform !== to) {
    result = { outcome: { kind: 'skipped', reason: `traffic channel ${conversion.channelId ?? '?'} no longer sends to ${to}` } };
  } else {
    try {
      result = await sendEvent(conversion, api as MetaApi | TikTokApi, deps, now);
    } catch (err) {
      if (!(err instanceof SetupError)) {
        // Storage trouble mid-send: give the claim back so the next try (queue or sweep) can take it.
        await deps.state.release(job.clickId, job.conversionKey, token, { due: now.toISOString(), attempts: conversion.forwardAttempts ?? 0, error: `sender error: ${errorText(err)}` }).catch(() => undefined);
        throw err;
      }
      result = { outcome: { kind: 'retry', reason: err.message } };
    }
  }
  return settle(conversion, token, to, result, mode, deps, now);
}

/**
 * Uploads Google Ads conversions: claimed one by one, grouped by channel, sent in requests of at
 * most 2,000 rows, each row's outcome applied (uploaded or already there = sent, TOO_RECENT_EVENT
 * = later, quota/5xx/auth = retry, anything else = failed).
 */
export async function uploadGoogle(candidates: readonly SendConversion[], deps: SendDeps, mode: Mode): Promise<SendResult[]> {
  const now = clock(deps);
  const results: SendResult[] = [];
  const claimed: { conversion: SendConversion; token: string }[] = [];
  await forEachLimited(candidates, 16, async (conversion) => {
    const token = await deps.state.claim(conversion.clickId, conversion.conversionKey, {
      from: fromStates(mode, 'google-ads'),
      at: now.toISOString(),
      leaseUntil: new Date(now.getTime() + (deps.leaseMs ?? DEFAULT_LEASE_MS)).toISOString(),
      dropFromIndex: false,
    });
    if (token === undefined) results.push({ clickId: conversion.clickId, conversionKey: conversion.conversionKey, to: 'google-ads', outcome: 'busy' });
    else claimed.push({ conversion, token });
  });
  const byChannel = new Map<string, typeof claimed>();
  for (const c of claimed) byChannel.set(c.conversion.channelId ?? '', [...(byChannel.get(c.conversion.channelId ?? '') ?? []), c]);
  for (const [channelId, group] of byChannel) {
    const api = deps.config.channels.get(channelId)?.conversionApi;
    if (!api || api.platform !== 'google-ads') {
      for (const c of group) results.push(await settle(c.conversion, c.token, 'google-ads', { outcome: { kind: 'skipped', reason: `traffic channel ${channelId} no longer sends to Google Ads` } }, mode, deps, now));
      continue;
    }
    const size = Math.min(GOOGLE_ADS.maxBatch, deps.googleBatchSize ?? GOOGLE_ADS.maxBatch);
    for (let i = 0; i < group.length; i += size) {
      results.push(...(await uploadBatch(group.slice(i, i + size), api, deps, mode, now)));
    }
  }
  return results;
}

async function uploadBatch(group: { conversion: SendConversion; token: string }[], api: GoogleAdsApi, deps: SendDeps, mode: Mode, now: Date): Promise<SendResult[]> {
  const results: SendResult[] = [];
  const rows: { c: (typeof group)[number]; row: Record<string, unknown>; summary: string }[] = [];
  for (const c of group) {
    const { conversion } = c;
    const type = deps.config.types.get(conversion.type);
    const action = type ? platformEventFor(type, 'google-ads') : undefined;
    let click: SendClick | undefined;
    try {
      click = await deps.clicks.getClick(conversion.clickId);
    } catch (err) {
      results.push(await settle(conversion, c.token, 'google-ads', { outcome: { kind: 'retry', reason: `the click could not be read (${errorText(err)})` } }, mode, deps, now));
      continue;
    }
    const param = conversion.channelClickIdParam ?? clickIdParams(deps.config.channels.get(conversion.channelId ?? '') ?? {})[0] ?? 'gclid';
    const reason = !action
      ? `type "${conversion.type}" has no google-ads conversion action in the config (any more)`
      : (consentRefusal(click, conversion) ?? googleSkipReason({ conversion, clickIdParam: param }));
    if (reason !== undefined || !action) {
      results.push(await settle(conversion, c.token, 'google-ads', { outcome: { kind: 'skipped', reason: reason ?? 'no conversion action' } }, mode, deps, now));
      continue;
    }
    const built = googleRow({ conversion, ...(click ? { click } : {}), clickIdParam: param, conversionAction: action });
    rows.push({ c, row: built.row, summary: JSON.stringify({ platform: 'google-ads', customerId: api.customerId, ...built.summary }) });
  }
  if (rows.length === 0) return results;
  let outcomes: SendOutcome[];
  try {
    outcomes = await uploadRows(api, rows.map((r) => r.row), rows.map((r) => ({ ...(r.c.conversion.clickCreatedAt !== undefined ? { clickCreatedAt: r.c.conversion.clickCreatedAt } : {}) })), deps, now);
  } catch (err) {
    if (!(err instanceof SetupError)) {
      for (const r of rows) await deps.state.release(r.c.conversion.clickId, r.c.conversion.conversionKey, r.c.token, { due: now.toISOString(), attempts: r.c.conversion.forwardAttempts ?? 0, error: `sender error: ${errorText(err)}` }).catch(() => undefined);
      throw err;
    }
    outcomes = rows.map(() => ({ kind: 'retry', reason: err.message }) as SendOutcome);
  }
  for (const [i, r] of rows.entries()) {
    results.push(await settle(r.c.conversion, r.c.token, 'google-ads', { outcome: outcomes[i] ?? { kind: 'retry', reason: 'no outcome for the row' }, request: r.summary }, mode, deps, now));
  }
  return results;
}

async function uploadRows(api: GoogleAdsApi, rows: Record<string, unknown>[], meta: { clickCreatedAt?: string }[], deps: SendDeps, now: Date): Promise<SendOutcome[]> {
  const developerToken = await secret(deps, api.developerToken, 'Google Ads developerToken');
  const clientId = typeof api.clientId === 'string' ? api.clientId : await secret(deps, api.clientId, 'Google Ads clientId');
  const clientSecret = await secret(deps, api.clientSecret, 'Google Ads clientSecret');
  const refreshToken = await secret(deps, api.refreshToken, 'Google Ads refreshToken');
  const creds = { clientId, clientSecret, refreshToken };
  const secrets = [developerToken, clientSecret, refreshToken];
  for (let attempt = 0; ; attempt++) {
    const access = await deps.google.accessToken(api, creds, deps.timeouts?.tokenMs ?? 5000);
    if ('error' in access) return rows.map(() => access.error);
    const request = googleUploadRequest(api, { accessToken: access.token, developerToken }, rows, deps.timeouts?.googleMs ?? 30_000);
    const answer = await deps.http.request(request);
    // An access token revoked or expired early: drop it and ask for a new one, once.
    if (!('error' in answer) && answer.status === 401 && attempt === 0) {
      deps.google.forget(api, creds);
      continue;
    }
    return googleOutcomes(answer, meta, now, [...secrets, access.token]);
  }
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await fn(item);
    }
  });
  await Promise.all(workers);
}

export interface SweepOptions {
  /**
   * Google: only conversions whose click is at least this old (default 6 hours). 0 takes every
   * Google conversion now, retries waiting for their backoff included (tests, or after a fix).
   */
  minClickAgeMs?: number;
  /** Meta, TikTok, postback: sends due longer than this ago, whose job must have been lost (default 10 minutes). */
  graceMs?: number;
  /** Most conversions handled per target in one run (default 10,000). */
  limit?: number;
  /** Stop starting new work after this time (the function's deadline). */
  until?: number;
}

export interface SweepSummary {
  targets: Partial<Record<SendTarget, Record<string, number>>>;
  results: SendResult[];
}

/**
 * The sweep (hourly in AWS, `npm run sweep`): Google Ads conversions that are due (their click 6
 * hours old, or `minClickAgeMs`), uploaded in batches; then any Meta, TikTok or postback send
 * still waiting after its grace time (a lost job, a retry whose job was lost, a claim whose
 * sender died) goes through the same code as a queue job.
 */
export async function sweep(deps: SendDeps, options: SweepOptions = {}): Promise<SweepSummary> {
  const now = clock(deps);
  const minAge = options.minClickAgeMs ?? GOOGLE_ADS.minClickAgeMs;
  const limit = options.limit ?? 10_000;
  const summary: SweepSummary = { targets: {}, results: [] };
  const count = (r: SendResult) => {
    const to = r.to ?? 'postback';
    const t = (summary.targets[to] ??= {});
    t[r.outcome] = (t[r.outcome] ?? 0) + 1;
    summary.results.push(r);
  };
  const timeLeft = () => options.until === undefined || Date.now() < options.until;

  // Google: the index holds each conversion due 6 hours after its click (or when a retry is due).
  // A younger minimum age reaches further ahead, then each click's age decides.
  const reach = new Date(now.getTime() + Math.max(0, GOOGLE_ADS.minClickAgeMs - minAge)).toISOString();
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    if (!timeLeft() || seen.size >= limit) break;
    const page = await deps.state.due('google-ads', reach, Math.min(GOOGLE_ADS.maxBatch, limit - seen.size), cursor);
    cursor = page.cursor;
    const candidates = page.items.filter((d) => {
      const key = `${d.clickId}|${d.conversionKey}`;
      // An item given back with a later due time during this run can come round again: once is enough.
      if (seen.has(key)) return false;
      seen.add(key);
      const clickMs = Date.parse(d.clickCreatedAt ?? d.createdAt);
      // A retry waits for its backoff — unless the sweep was asked for everything now (minimum age 0).
      const retryNotDue = minAge > 0 && (d.forwardAttempts ?? 0) > 0 && d.forwardState === 'pending' && d.sendDue > now.toISOString();
      return now.getTime() - clickMs >= minAge && !retryNotDue;
    });
    for (const r of await uploadGoogle(candidates, deps, 'sweep')) count(r);
  } while (cursor !== undefined);

  const graceBefore = new Date(now.getTime() - (options.graceMs ?? 10 * 60_000)).toISOString();
  for (const target of ['meta', 'tiktok', 'postback'] as const) {
    let handled = 0;
    let next: string | undefined;
    do {
      if (!timeLeft() || handled >= limit) break;
      const page = await deps.state.due(target, graceBefore, Math.min(100, limit - handled), next);
      next = page.cursor;
      for (const d of page.items) {
        if (!timeLeft()) break;
        handled++;
        count(await processSend({ clickId: d.clickId, conversionKey: d.conversionKey }, deps, 'sweep'));
      }
    } while (next !== undefined);
  }
  return summary;
}
