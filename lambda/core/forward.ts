/**
 * Sending recorded conversions on to the click's traffic channel (its S2S postback URL), at
 * most once: the conversion item is claimed with a conditional write before the request, and
 * marked sent or failed after it. An attempt is repeated only when the channel cannot have
 * it (no connection was made, or it answered with an error status). A failed send goes to the
 * dead-letter queue (kind "forward"): `forward_failed` when the channel surely does not have it
 * (`npm run redrive` retries it by claiming it again from "failed"), `forward_unknown` when an
 * attempt got no answer — the channel may have counted it, so only an operator who checked the
 * channel sends it again (`npm run redrive -- --reason forward_unknown`).
 */
import type { TrafficChannel } from '../../config/schema';
import { errorText } from './conversion';
import { pause } from './deadline';
import { fingerprintOf } from './dead-letters';
import { mintId } from './ids';
import type { ChannelPostback, ConversionRecord, DeadLetterSink, ForwardStore } from './model';

export interface ForwardDeps {
  channels: ReadonlyMap<string, TrafficChannel>;
  store: ForwardStore;
  channel: ChannelPostback;
  deadLetters: () => DeadLetterSink;
  /** Tries per forward (default 2), a short pause apart. */
  attempts?: number;
  pauseMs?: number;
  newId?: (now: number) => string;
}

export type ForwardResult =
  | { status: 'sent'; url: string }
  | { status: 'not_applicable'; detail: string }
  | { status: 'already_claimed' }
  | { status: 'queued'; detail: string; reason: ForwardFailure }
  | { status: 'failed'; detail: string; reason: ForwardFailure };

/** `forward_unknown`: an attempt got no answer, so the channel may have the conversion. */
export type ForwardFailure = 'forward_failed' | 'forward_unknown';

const MACRO = /\{(clickid|payout|type|currency|txid)\}/g;

/** Fills a channel postback template; values are URL-encoded. */
export function forwardUrl(template: string, conversion: ConversionRecord): string {
  const values: Record<string, string> = {
    clickid: conversion.channelClickId ?? '',
    payout: conversion.revenue,
    type: conversion.type,
    currency: conversion.currency,
    txid: conversion.txid ?? '',
  };
  return template.replace(MACRO, (_, name: string) => encodeURIComponent(values[name] ?? ''));
}

/** Where a conversion would be forwarded, or why it is not. */
export function forwardTarget(conversion: ConversionRecord, channels: ReadonlyMap<string, TrafficChannel>): { url: string } | { skip: string } {
  const channel = conversion.channelId ? channels.get(conversion.channelId) : undefined;
  if (!channel) return { skip: 'the conversion has no traffic channel' };
  if (!channel.postbackUrl) return { skip: `traffic channel ${channel.id} has no postbackUrl` };
  if (!conversion.channelClickId) return { skip: `the click carried no ${channel.clickIdParam ?? 'channel click id'}` };
  return { url: forwardUrl(channel.postbackUrl, conversion) };
}

/** Sends, repeating only attempts the channel cannot have received (no connection, an error status). */
async function sendWithRetries(url: string, deps: ForwardDeps): Promise<{ error: string; reason: ForwardFailure } | undefined> {
  const attempts = deps.attempts ?? 2;
  let last = '';
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await pause(deps.pauseMs ?? 200);
    const result = await deps.channel.send(url);
    if (result.ok) return undefined;
    last = result.error;
    if (result.delivery === 'unknown') {
      return { reason: 'forward_unknown', error: `attempt ${i + 1} got no answer, so the channel may have it (not sent again): ${last}` };
    }
  }
  return { reason: 'forward_failed', error: `${attempts} attempt(s) failed, last: ${last}` };
}

/** Forwards one conversion right after it was recorded. */
export async function forwardConversion(conversion: ConversionRecord, now: Date, deps: ForwardDeps): Promise<ForwardResult> {
  const target = forwardTarget(conversion, deps.channels);
  if ('skip' in target) return { status: 'not_applicable', detail: target.skip };
  return sendForward({ clickId: conversion.clickId, conversionKey: conversion.conversionKey, url: target.url }, 'new', now, deps);
}

/**
 * Claims, sends and records one forward. `from` is "new" right after recording, "failed" when
 * the queue replays it.
 */
export async function sendForward(
  target: { clickId: string; conversionKey: string; url: string },
  from: 'new' | 'failed',
  now: Date,
  deps: ForwardDeps,
): Promise<ForwardResult> {
  const { clickId, conversionKey, url } = target;
  const at = now.toISOString();
  if (!(await deps.store.claimForward(clickId, conversionKey, from, at))) return { status: 'already_claimed' };

  const failure = await sendWithRetries(url, deps);
  if (failure === undefined) {
    await deps.store.finishForward(clickId, conversionKey, 'sent', new Date().toISOString());
    return { status: 'sent', url };
  }
  const { error, reason } = failure;
  await deps.store.finishForward(clickId, conversionKey, 'failed', new Date().toISOString(), error.slice(0, 500));
  const what = conversionKey.split('|')[0] ?? 'conversion';
  const detail =
    reason === 'forward_unknown'
      ? `forward of ${what} to the traffic channel may have arrived: ${error}; check the channel, then npm run redrive -- --reason forward_unknown sends it again`
      : `forward of ${what} to the traffic channel failed: ${error}`;
  if (from === 'failed') return { status: 'failed', detail, reason };
  try {
    // One forward per conversion, so a second failed forward of it is the same failure. Never
    // capped: it follows a recorded (authenticated) conversion, and dropping it would leave the
    // conversion marked failed with nothing to retry it.
    await deps.deadLetters().send(
      {
        version: 1,
        id: (deps.newId ?? mintId)(Date.now()),
        kind: 'forward',
        reason,
        detail,
        receivedAt: at,
        clickId,
        request: { method: 'GET', path: '/postback', query: '', body: '', headers: {} },
        forward: { clickId, conversionKey, url },
        fingerprint: fingerprintOf(['forward', clickId, conversionKey]),
      },
      { uncapped: 'forward' },
    );
    return { status: 'queued', detail, reason };
  } catch (err) {
    return { status: 'failed', reason, detail: `${detail}; it could not be queued either (${errorText(err)}); the conversion is marked forwardState=failed` };
  }
}
