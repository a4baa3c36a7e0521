/**
 * Recording one conversion, whatever brought it (S2S postback, pixel, IPN): look up the type,
 * find the click, compute the revenue, store it once. Anything that cannot be recorded is
 * handed to `keep` (the dead-letter queue) with the reason.
 */
import type { ConversionType } from '../../config/schema';
import { abs, negate } from './decimal';
import type { ForwardResult } from './forward';
import { mintId } from './ids';
import { quote } from './quote';
import {
  UNATTRIBUTED_CLICK_ID,
  type ClickReader,
  type ConversionRecord,
  type ConversionSource,
  type ConversionStore,
  type ConversionTypeSource,
  type DeadLetterReason,
} from './model';

export interface ConversionDeps {
  /** Sends a recorded conversion of a forwardToChannel type on to its traffic channel. */
  forward?: (conversion: ConversionRecord, now: Date) => Promise<ForwardResult>;
  clicks: ClickReader;
  conversions: ConversionStore;
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
  /** Stable id of this event, for the key of an organic conversion without txid (replays reuse it). */
  eventId?: string;
  /**
   * An unauthenticated request (a pixel without the postback key): only for a stored click,
   * keyed by click and type alone (one item per click and type, whatever txid it sends), never
   * organic and never forwarded.
   */
  keyless?: true;
}

/** What `keep` reports: the failure was kept for replay, or it could not be. */
export type KeepResult = { kept: true } | { kept: false; error: string };

export type ConversionOutcome =
  | { status: 'recorded'; conversion: ConversionRecord; type: ConversionType; forward?: ForwardResult }
  | { status: 'duplicate'; conversion: ConversionRecord }
  | { status: 'queued'; reason: DeadLetterReason; detail: string; advice: string }
  | { status: 'unavailable'; reason: DeadLetterReason; detail: string; error: string }
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
    return kept.kept ? { status: 'queued', reason, detail, advice } : { status: 'unavailable', reason, detail, error: kept.error };
  };
  const retryAdvice = 'It will be recorded when the queue is replayed.';

  let type: ConversionType | undefined;
  try {
    type = await deps.types.getConversionType(request.type);
  } catch (err) {
    return fail('storage_error', `conversion types could not be read (${errorText(err)})`, retryAdvice);
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
  };
  let conversion: ConversionRecord;
  if (request.clickId !== undefined) {
    let click;
    try {
      click = await deps.clicks.getClick(request.clickId);
    } catch (err) {
      return fail('storage_error', `the click could not be read (${errorText(err)})`, retryAdvice);
    }
    const expired = click !== undefined && click.expiresAt * 1000 < now.getTime();
    if ((expired || !click) && (guard || request.keyless)) {
      // Nothing unauthenticated is kept for later: no queue message for a click that is not here.
      return { status: 'forbidden', detail: `no click with id "${quote(request.clickId, 64)}" is stored, and a pixel without the postback key is not kept` };
    }
    if (click && expired) {
      // DynamoDB's TTL deletes late (hours to days): an expired click is treated as gone.
      return fail('unknown_click', `click "${quote(request.clickId, 64)}" expired on ${new Date(click.expiresAt * 1000).toISOString()} (clickRetentionDays)`, 'Nothing will be recorded for it unless the retention is raised and the queue replayed.');
    }
    if (!click) {
      return fail(
        'unknown_click',
        `no click with id "${quote(request.clickId, 64)}" is stored (never made here, expired, or its own write is still queued)`,
        'Replay the queue once the click is stored.',
      );
    }
    conversion = {
      ...base,
      clickId: click.clickId,
      conversionKey: `${type.name}|${request.keyless ? '' : (request.txid ?? '')}`,
      attributed: true,
      campaignId: click.campaignId,
      offerId: click.offerId,
      channelId: click.channelId,
      ...(click.channelClickId !== undefined ? { channelClickId: click.channelClickId } : {}),
      clickCreatedAt: click.createdAt,
      ...(click.country !== undefined ? { country: click.country } : {}),
      ...(click.subs.sub1 !== undefined ? { sub1: click.subs.sub1 } : {}),
      ...(click.subs.sub2 !== undefined ? { sub2: click.subs.sub2 } : {}),
      ...(click.subs.sub3 !== undefined ? { sub3: click.subs.sub3 } : {}),
      ...(click.subs.sub4 !== undefined ? { sub4: click.subs.sub4 } : {}),
      ...(click.subs.sub5 !== undefined ? { sub5: click.subs.sub5 } : {}),
    };
  } else if (request.keyless) {
    return { status: 'forbidden', detail: 'a request without the postback key must name a stored click; organic conversions need the key' };
  } else {
    // An organic sale: counted so revenue totals match Digistore24's. Without a txid a retry
    // cannot be told from a new sale, so each one gets its own key.
    conversion = {
      ...base,
      clickId: UNATTRIBUTED_CLICK_ID,
      // So the byCampaign index holds organic sales too: reports read them by time, not by
      // filtering a partition that grows forever.
      campaignId: UNATTRIBUTED_CLICK_ID,
      conversionKey: `${type.name}|${request.txid ?? `~${request.eventId ?? (deps.newId ?? mintId)(now.getTime())}`}`,
      attributed: false,
    };
  }

  try {
    const result = await deps.conversions.putConversion(conversion);
    if (result === 'duplicate') return { status: 'duplicate', conversion };
  } catch (err) {
    return fail('storage_error', `the conversion could not be stored (${errorText(err)})`, retryAdvice);
  }
  if (!type.forwardToChannel || request.secondary || request.keyless || !deps.forward) return { status: 'recorded', conversion, type };
  let forward: ForwardResult;
  try {
    forward = await deps.forward(conversion, now);
  } catch (err) {
    // The conversion is recorded; a forward that breaks must not turn that into a failure.
    forward = { status: 'failed', detail: errorText(err) };
  }
  return { status: 'recorded', conversion, type, forward };
}
