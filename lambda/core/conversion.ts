/**
 * Recording one conversion, whatever brought it (S2S postback, pixel, IPN): look up the type,
 * find the click, compute the revenue, store it once. Anything that cannot be recorded is
 * handed to `keep` (the dead-letter queue) with the reason.
 */
import type { ConversionType } from '../../config/schema';
import { abs, negate, parseDecimal, toMicros } from './decimal';
import type { SendTarget } from './platforms';
import type { SendConversion } from './send-model';
import { mintId } from './ids';
import { quote } from './quote';
import {
  UNATTRIBUTED_CLICK_ID,
  type ClickReader,
  type ClickRecord,
  type ConversionHistory,
  type ConversionRecord,
  type ConversionSource,
  type ConversionStore,
  type ConversionTypeSource,
  type CapRefusal,
  type DeadLetterReason,
  type PastConversion,
} from './model';

export interface ConversionDeps {
  /**
   * The send path (core/send): `mark` decides, before the conversion is stored, where it is sent
   * (a conversion API, or the channel's postback URL) and from when — written with the item in
   * its single put; `enqueue` hands a stored one to the sender. Platform calls never run inside
   * the request that records a conversion.
   */
  sends?: {
    mark(conversion: ConversionRecord, type: ConversionType, now: Date): SendMarkLike | undefined;
    enqueue(job: { clickId: string; conversionKey: string }): Promise<void>;
  };
  clicks: ClickReader;
  conversions: ConversionStore;
  /**
   * The click's earlier conversions: they attribute a conversion whose click has expired (a late
   * refund, chargeback or rebill) and give a refund without currency its payment's currency.
   * Without it, both fall back to the old behaviour (unknown_click; the default currency).
   */
  history?: ConversionHistory;
  types: ConversionTypeSource;
  defaultCurrency: string;
  /** The config's `defaults.currencies`; undefined: every ISO 4217 currency is accepted. */
  currencies?: ReadonlySet<string>;
  newId?: (now: number) => string;
}

export interface ConversionRequest {
  /** Undefined: an organic sale (no click id). */
  clickId?: string;
  type: string;
  /** Canonical decimal as sent; the sign is taken from the type. */
  sum: string;
  currency?: string;
  txid?: string;
  status?: string;
  source: ConversionSource;
  buyer?: Record<string, string>;
  /**
   * A second type recorded for the same sale by the same request (the IPN's initial_sale or
   * upsell beside its payment): counted, but without revenue and never forwarded, so one sale
   * is one amount and one forward.
   */
  secondary?: boolean;
  /**
   * Stable id of this request (a replay passes the queued message's id): the write token of
   * its conversions, so a retried write recognises itself, and the key of an organic
   * conversion without txid unless `saleKey` says better.
   */
  eventId?: string;
  /**
   * An unauthenticated request (a pixel without the postback key): only for a stored click,
   * keyed by click and type alone (one item per click and type, whatever txid it sends), never
   * organic, never attributed from the click's past conversions and never forwarded.
   */
  keyless?: true;
  /**
   * A postback accepted without a valid key (protection not required): recorded, but never sent
   * to an ad platform (core/send), which would otherwise learn forged sales.
   */
  unauthenticated?: true;
  /**
   * What identifies an organic sale without txid across retries and replays (the IPN derives
   * it from order id, event, pay sequence number and amount).
   */
  saleKey?: string;
  /** A test order: stored with `test: true` under its own key (`type|txid|test`), never forwarded. */
  test?: boolean;
}

/** The same sale arrived again with another amount or currency: the first one stays. */
export interface AmountConflict {
  stored: { revenue: string; currency: string };
  sent: { revenue: string; currency: string };
}

/** What core/send sendMark decides (kept structural here: the recording core needs no platform code). */
export type SendMarkLike = { to: SendTarget; due: string } | { to: SendTarget; skipped: string };

/**
 * What became of a recorded conversion's send: `queued` for the sender, `due` later (Google Ads
 * waits 6 hours after the click, for the sweep), `skipped` (why), or `not_queued` (the queue
 * failed: the sweep sends it).
 */
export type SendNotice = { to: SendTarget; status: 'queued' | 'due' | 'skipped' | 'not_queued'; detail?: string };

/**
 * What `keep` reports: the failure was kept for replay (`duplicateOf`: the same failure was
 * queued before, as that message), it could not be kept, or it was refused by the per-source
 * cap on distinct failures (nothing kept: the sender should retry later).
 */
export type KeepResult = { kept: true; duplicateOf?: string } | { kept: false; error: string } | { kept: false; capped: CapRefusal };

export type ConversionOutcome =
  | { status: 'recorded'; conversion: ConversionRecord; type: ConversionType; send?: SendNotice }
  | { status: 'duplicate'; conversion: ConversionRecord; stored: ConversionRecord; conflict?: AmountConflict }
  | { status: 'queued'; reason: DeadLetterReason; detail: string; advice: string; duplicateOf?: string }
  | { status: 'unavailable'; reason: DeadLetterReason; detail: string; error: string }
  | { status: 'capped'; reason: DeadLetterReason; detail: string; refusal: CapRefusal }
  | { status: 'forbidden'; detail: string };

/** Revenue as stored: the sign comes from the type, never from the sender. */
export function revenueFor(type: ConversionType, sum: string): string {
  switch (type.revenue) {
    case 'add':
      return abs(sum);
    case 'subtract':
      return sum === '0' ? '0' : negate(abs(sum));
    case 'ignore':
      return '0';
  }
}

function micros(text: string): bigint | undefined {
  const canonical = parseDecimal(text);
  return canonical === undefined ? undefined : toMicros(canonical);
}

/**
 * Whether a repeat of a stored conversion names another amount: revenue differs (compared as
 * exact decimals), or the currency differs on a conversion that carries money.
 */
export function amountConflict(sent: ConversionRecord, stored: ConversionRecord): AmountConflict | undefined {
  const a = micros(sent.revenue);
  const b = micros(stored.revenue);
  const sameRevenue = a !== undefined && b !== undefined ? a === b : sent.revenue === stored.revenue;
  const carriesMoney = a !== 0n || b !== 0n;
  if (sameRevenue && (sent.currency === stored.currency || !carriesMoney)) return undefined;
  return { stored: { revenue: stored.revenue, currency: stored.currency }, sent: { revenue: sent.revenue, currency: sent.currency } };
}

/** `amount_conflict: stored 23.5 EUR, this one says 47 EUR; the first amount stays` */
export function conflictDetail(conflict: AmountConflict): string {
  const { stored, sent } = conflict;
  return `amount_conflict: stored ${stored.revenue} ${stored.currency}, this one says ${sent.revenue} ${sent.currency}; the first amount stays`;
}

/**
 * How many of a click's conversions are read (page after page) to find its payment's currency.
 * They come in key order (type, then txid), not by time: a subscription's `paying` or
 * `InitiateCheckout` items sort before `payment|...`, so one short page could miss the payment.
 * Years of monthly rebills with their status postbacks stay far below it.
 */
export const HISTORY_LIMIT = 1000;

/** The click attribution a stored conversion carries, as the attributed part of a new one. */
function attributionOf(click: ClickRecord): Partial<ConversionRecord> {
  return {
    campaignId: click.campaignId,
    ...(click.offerId !== undefined ? { offerId: click.offerId } : {}),
    ...(click.landerId !== undefined ? { landerId: click.landerId } : {}),
    channelId: click.channelId,
    ...(click.channelClickId !== undefined ? { channelClickId: click.channelClickId } : {}),
    ...(click.channelClickIdParam !== undefined ? { channelClickIdParam: click.channelClickIdParam } : {}),
    clickCreatedAt: click.createdAt,
    ...(click.country !== undefined ? { country: click.country } : {}),
    ...(click.subs.sub1 !== undefined ? { sub1: click.subs.sub1 } : {}),
    ...(click.subs.sub2 !== undefined ? { sub2: click.subs.sub2 } : {}),
    ...(click.subs.sub3 !== undefined ? { sub3: click.subs.sub3 } : {}),
    ...(click.subs.sub4 !== undefined ? { sub4: click.subs.sub4 } : {}),
    ...(click.subs.sub5 !== undefined ? { sub5: click.subs.sub5 } : {}),
  };
}

const COPIED = ['offerId', 'landerId', 'channelId', 'channelClickId', 'channelClickIdParam', 'clickCreatedAt', 'country', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const;

/** The same attribution, copied from an earlier conversion of the click (its click is gone). */
function attributionFromPast(past: PastConversion & { campaignId: string }): Partial<ConversionRecord> {
  const out: Partial<ConversionRecord> = { campaignId: past.campaignId };
  for (const key of COPIED) if (past[key] !== undefined) out[key] = past[key];
  return out;
}

/**
 * The currency of the sale a refund takes back: that of the click's latest conversion that
 * brought money in. Undefined when there is none.
 */
function paymentCurrency(past: readonly PastConversion[]): string | undefined {
  const payments = past.filter((c) => !c.test && c.currency !== '' && toMicros(c.revenue) > 0n).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return payments[0]?.currency;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export async function recordConversion(
  request: ConversionRequest,
  now: Date,
  deps: ConversionDeps,
  keep: (reason: DeadLetterReason, detail: string) => Promise<KeepResult>,
  /**
   * Optional rule for requests that may not queue anything (an unauthenticated pixel): called
   * with the type (undefined when unknown) before anything is kept; a refusal text stops it.
   */
  guard?: (type: ConversionType | undefined) => string | undefined,
): Promise<ConversionOutcome> {
  const fail = async (reason: DeadLetterReason, detail: string, advice: string): Promise<ConversionOutcome> => {
    const kept = await keep(reason, detail);
    if (kept.kept) return { status: 'queued', reason, detail, advice, ...(kept.duplicateOf !== undefined ? { duplicateOf: kept.duplicateOf } : {}) };
    if ('capped' in kept) return { status: 'capped', reason, detail, refusal: kept.capped };
    return { status: 'unavailable', reason, detail, error: kept.error };
  };
  const retryAdvice = 'It will be recorded when the queue is replayed.';
  // Before its type and click are known, nothing proves a request without the key is worth
  // keeping: queued then, anyone could fill the queue with pixels of made-up types and clicks
  // during an outage (and the ledger that caps it may be down too). Not kept; it names no money.
  const failUnproven = (detail: string): Promise<ConversionOutcome> | ConversionOutcome =>
    request.keyless
      ? { status: 'unavailable', reason: 'storage_error', detail, error: 'a request without the postback key is not queued before its click and type are known' }
      : fail('storage_error', detail, retryAdvice);

  let type: ConversionType | undefined;
  try {
    type = await deps.types.getConversionType(request.type);
  } catch (err) {
    return failUnproven(`conversion types could not be read (${errorText(err)})`);
  }
  const refusal = guard?.(type);
  if (refusal !== undefined) return { status: 'forbidden', detail: refusal };
  if (!type) {
    return fail(
      'unknown_type',
      `unknown conversion type "${quote(request.type, 64)}" (names are case-sensitive)`,
      'Add it to conversionTypes in the tracker config, deploy, then replay the queue.',
    );
  }
  // A refund or chargeback that names no currency is in its payment's currency: read below
  // when a payment is stored for the click.
  const currencyFromPayment = request.currency === undefined && type.revenue === 'subtract' && !request.secondary && request.clickId !== undefined;
  const base = {
    type: type.name,
    revenue: request.secondary ? '0' : revenueFor(type, request.sum),
    currency: request.currency ?? deps.defaultCurrency,
    counted: type.countsAsConversion,
    source: request.source,
    createdAt: now.toISOString(),
    ...(request.txid !== undefined ? { txid: request.txid } : {}),
    ...(request.status !== undefined ? { status: request.status } : {}),
    ...(request.buyer !== undefined ? { buyer: request.buyer } : {}),
    ...(request.test ? { test: true as const } : {}),
  };
  // A test order never shares a key with the live sale of the same transaction id.
  const keySuffix = request.test ? '|test' : '';
  let conversion: ConversionRecord;
  let clickConsent: string | undefined;
  if (request.clickId !== undefined) {
    let click;
    try {
      click = await deps.clicks.getClick(request.clickId);
    } catch (err) {
      return failUnproven(`the click could not be read (${errorText(err)})`);
    }
    // DynamoDB's TTL deletes late (hours to days): an expired click is treated as gone.
    const expiredOn = click && click.expiresAt * 1000 < now.getTime() ? new Date(click.expiresAt * 1000) : undefined;
    const clickGone = !click || expiredOn !== undefined;
    if (clickGone && (guard || request.keyless)) {
      // Nothing unauthenticated is kept for later, nor attributed from the click's past
      // conversions: no history read, no queue message for a click that is not here.
      return { status: 'forbidden', detail: `no click with id "${quote(request.clickId, 64)}" is stored, and a pixel without the postback key is not kept` };
    }
    // The click's earlier conversions, read only when needed: its click is gone (they carry its
    // attribution: a refund, chargeback or rebill months after the sale still lands on the
    // sale's campaign, subs and day), or a refund needs its payment's currency.
    let past: PastConversion[] = [];
    if (deps.history && (clickGone || currencyFromPayment)) {
      try {
        past = await deps.history.conversionsOf(request.clickId, currencyFromPayment ? HISTORY_LIMIT : 1);
        // The one read may be a test order, which attributes nothing: look at the rest.
        if (clickGone && past.length > 0 && past.every((c) => c.test)) past = await deps.history.conversionsOf(request.clickId, HISTORY_LIMIT);
      } catch (err) {
        return fail('storage_error', `the click's earlier conversions could not be read (${errorText(err)})`, retryAdvice);
      }
    }
    let attribution: Partial<ConversionRecord>;
    if (click && !expiredOn) {
      attribution = attributionOf(click);
      // t.js consent mode (issue 12): what the click says when the sale arrives gates its sends.
      const consent = (click as { consent?: unknown }).consent;
      if (typeof consent === 'string') clickConsent = consent.slice(0, 32);
    } else {
      const earlier = past.find((c): c is PastConversion & { campaignId: string } => c.campaignId !== undefined && !c.test);
      if (earlier) {
        attribution = attributionFromPast(earlier);
      } else if (expiredOn) {
        return fail('unknown_click', `click "${quote(request.clickId, 64)}" expired on ${expiredOn.toISOString()} (clickRetentionDays) and has no conversions`, 'Nothing will be recorded for it unless the retention is raised and the queue replayed.');
      } else {
        return fail(
          'unknown_click',
          `no click with id "${quote(request.clickId, 64)}" is stored (never made here, expired, or its own write is still queued)`,
          'Replay the queue once the click is stored.',
        );
      }
    }
    conversion = {
      ...base,
      ...(currencyFromPayment ? { currency: paymentCurrency(past) ?? base.currency } : {}),
      clickId: request.clickId,
      conversionKey: `${type.name}|${request.keyless ? '' : (request.txid ?? '')}${keySuffix}`,
      attributed: true,
      ...attribution,
    };
  } else if (request.keyless) {
    return { status: 'forbidden', detail: 'a request without the postback key must name a stored click; organic conversions need the key' };
  } else {
    // An organic sale: counted so revenue totals match Digistore24's. Without a txid it is keyed
    // by what identifies the sale (saleKey) when the sender gives that, else by the request.
    conversion = {
      ...base,
      clickId: UNATTRIBUTED_CLICK_ID,
      // So the byCampaign index holds organic sales too: reports read them by time, not by
      // filtering a partition that grows forever.
      campaignId: UNATTRIBUTED_CLICK_ID,
      conversionKey: `${type.name}|${request.txid ?? `~${request.saleKey ?? request.eventId ?? (deps.newId ?? mintId)(now.getTime())}`}${keySuffix}`,
      attributed: false,
    };
  }

  // Where it is sent, decided now and written with it: test orders, the IPN's second type of a
  // sale and anything a request without the postback key recorded never go anywhere.
  let mark = request.secondary || request.test || request.keyless ? undefined : deps.sends?.mark(conversion, type, now);
  if (mark && request.unauthenticated && mark.to !== 'postback') {
    mark = { to: mark.to, skipped: 'recorded by a postback without a valid key (postbackProtection not required): an ad platform is never told an unauthenticated sale' };
  }
  if (mark) {
    const marked: SendConversion = {
      ...conversion,
      forwardTo: mark.to,
      ...('skipped' in mark ? { forwardState: 'skipped' as const, forwardError: mark.skipped } : { sendQueue: mark.to, sendDue: mark.due }),
      ...(clickConsent !== undefined ? { consent: clickConsent } : {}),
    };
    conversion = marked;
  }

  try {
    const result = await deps.conversions.putConversion(conversion, request.eventId);
    if (result.status === 'duplicate') {
      const conflict = amountConflict(conversion, result.stored);
      return { status: 'duplicate', conversion, stored: result.stored, ...(conflict ? { conflict } : {}) };
    }
  } catch (err) {
    return fail('storage_error', `the conversion could not be stored (${errorText(err)})`, retryAdvice);
  }
  if (!mark || !deps.sends) return { status: 'recorded', conversion, type };
  if ('skipped' in mark) return { status: 'recorded', conversion, type, send: { to: mark.to, status: 'skipped', detail: mark.skipped } };
  // Google Ads takes a click only 6 hours after it was made: the sweep uploads it then.
  if (mark.to === 'google-ads') return { status: 'recorded', conversion, type, send: { to: mark.to, status: 'due', detail: `uploaded by the sweep from ${mark.due}` } };
  try {
    await deps.sends.enqueue({ clickId: conversion.clickId, conversionKey: conversion.conversionKey });
    return { status: 'recorded', conversion, type, send: { to: mark.to, status: 'queued' } };
  } catch (err) {
    // The conversion is recorded and marked due: the sweep sends it if its job never arrives.
    return { status: 'recorded', conversion, type, send: { to: mark.to, status: 'not_queued', detail: `the send job could not be queued (${errorText(err)}); the sweep sends it` } };
  }
}
