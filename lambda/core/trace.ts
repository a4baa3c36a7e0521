/**
 * The story of one click, as `npm run trace` prints it. Pure formatting. Everything shown came
 * from requests (subs, types, txids, answers), so every line goes through terminalSafe.
 */
import type { ClickRecord, DeadLetterMessage, DeadLetterPlace, InboundEntry } from './model';
import { terminalSafe } from './terminal-safe';

export interface ClickTrace {
  clickId: string;
  click?: ClickRecord;
  inbound: InboundEntry[];
  conversions: Record<string, unknown>[];
  /** Dead letters naming the click; `place` archive: moved out of the queue after 10 days, still waiting. */
  queued: (DeadLetterMessage & { place?: DeadLetterPlace })[];
}

function inboundLine(e: InboundEntry): string {
  const what = [e.type, e.revenue !== undefined && e.currency ? `${e.revenue} ${e.currency}` : undefined, e.txid ? `txid ${e.txid}` : undefined]
    .filter(Boolean)
    .join(', ');
  const why = e.reason ? ` (${e.reason})` : '';
  const detail = e.detail ? ` — ${e.detail}` : '';
  return `  ${e.receivedAt}  ${e.channel.padEnd(8)} ${what || '-'} -> ${e.outcome}${why}, ${e.httpStatus}: ${e.answer}${detail}`;
}

export function formatTrace(t: ClickTrace): string {
  const lines: string[] = [];
  if (t.click) {
    const c = t.click;
    const subs = Object.entries(c.subs).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(`Click ${c.clickId}`);
    const lander = c.landerId !== undefined ? `, lander ${c.landerId}` : '';
    const offer = c.offerId !== undefined ? `offer ${c.offerId}` : 'no offer yet';
    lines.push(`  ${c.createdAt}  campaign ${c.campaignId}${lander}, ${offer}, channel ${c.channelId}${c.channelClickId ? ` (channel click id ${c.channelClickId})` : ''}`);
    lines.push(`  ${[c.country ? `country ${c.country}` : undefined, c.cost ? `cost ${c.cost}` : undefined, subs || undefined].filter(Boolean).join(', ') || 'no subs, country or cost'}`);
    if ((c as { fullAddressKept?: boolean }).fullAddressKept) {
      lines.push('  full address kept, sealed, for the conversion API (removed once its sends are done; unreadable 7 days after the click)');
    }
    if (c.page !== undefined) lines.push(`  direct visit (t.js) on ${c.page}${c.fbp || c.fbc ? ` with Meta cookies${c.fbp ? ` _fbp ${c.fbp}` : ''}${c.fbc ? ` _fbc ${c.fbc}` : ''}` : ''}`);
    if (c.lpClickAt !== undefined) lines.push(`  ${c.lpClickAt}  lander click (/go) -> offer ${c.offerId ?? '?'}`);
    else if (c.landerId !== undefined) lines.push('  no lander click (/go) yet: the visitor has not left the lander for an offer');
    if (c.bot) lines.push(`  BOT (${c.botReason ?? 'flagged'}): stored, never counted in clicks, CR, EPC or cost; reports show it under bots`);
  } else {
    lines.push(`Click ${t.clickId}: not stored (never made here, expired, or its own write is still in the queue)`);
  }
  lines.push('', `Postbacks, pixels and IPNs naming it (${t.inbound.length}):`);
  lines.push(...(t.inbound.length ? t.inbound.map(inboundLine) : ['  none']));
  lines.push('', `Conversions stored (${t.conversions.length}):`);
  lines.push(
    ...(t.conversions.length
      ? t.conversions.map((c) => {
          const forward = c.forwardState && !c.forwardTo ? `, forward ${String(c.forwardState)}` : '';
          const test = c.test ? ', TEST ORDER (not in reports unless --include-tests, never forwarded)' : '';
          const line = `  ${String(c.createdAt)}  ${String(c.type)} ${String(c.revenue)} ${String(c.currency)}${c.txid ? `, txid ${String(c.txid)}` : ''}, ${c.counted ? 'counted' : 'not counted'}, via ${String(c.source)}${forward}${test}`;
          return [line, ...sendLines(c)].join('\n');
        })
      : ['  none']),
  );
  lines.push('', `Waiting in the dead-letter queue or its archive (${t.queued.length}):`);
  lines.push(...(t.queued.length ? t.queued.map((m) => `  ${m.receivedAt}  ${m.place === 'archive' ? '[archive] ' : ''}${m.kind} ${m.reason}: ${m.detail}${m.attempts ? ` (${m.attempts} replays failed)` : ''}`) : ['  none']));
  return lines.flatMap((l) => l.split('\n')).map(terminalSafe).join('\n');
}

/**
 * Where a conversion was sent (a platform or the channel's postback URL), what became of it, what
 * was sent and the platform's answer — as the send path stored them: no token, no address.
 */
export function sendLines(c: Record<string, unknown>): string[] {
  if (!c.forwardTo) return [];
  const to = String(c.forwardTo);
  const state = String(c.forwardState ?? 'queued');
  const attempts = typeof c.forwardAttempts === 'number' && c.forwardAttempts > 0 ? `, ${c.forwardAttempts} earlier attempt(s)` : '';
  const when =
    state === 'sent' ? ` ${String(c.forwardedAt ?? '')}` : state === 'failed' ? ` ${String(c.forwardFailedAt ?? '')}` : state === 'skipped' ? '' : c.sendDue ? `, due ${String(c.sendDue)}` : '';
  const out = [`      -> ${to}: ${state}${when}${attempts}${c.forwardError ? `: ${String(c.forwardError)}` : ''}`];
  if (c.forwardRequest) out.push(`         sent: ${String(c.forwardRequest)}`);
  if (c.forwardAnswer) out.push(`         answer: ${String(c.forwardAnswer)}`);
  return out;
}

/** What trace may print of stored items: never a store token, never the sealed address. */
export function traceSafeClick<T extends Record<string, unknown>>(click: T): Omit<T, 'sealedIp'> & { fullAddressKept?: true } {
  const { sealedIp, ...rest } = click;
  return { ...rest, ...(sealedIp !== undefined ? { fullAddressKept: true as const } : {}) };
}

/** A queued message as the CLIs print it: a queued click shows whether it keeps a sealed address, never the sealed text. */
export function traceSafeMessage<T extends { click?: unknown }>(message: T): T {
  const click = message.click as Record<string, unknown> | undefined;
  if (!click || click.sealedIp === undefined) return message;
  return { ...message, click: traceSafeClick(click) };
}

export function traceSafeConversion(conversion: Record<string, unknown>): Record<string, unknown> {
  const { writeToken: _w, forwardClaimToken: _f, ...rest } = conversion;
  return rest;
}

export function formatRecent(entries: InboundEntry[]): string {
  if (entries.length === 0) return 'No postbacks, pixels or IPNs in the last 31 days.';
  return entries
    .map((e) => terminalSafe(`${e.receivedAt}  ${e.clickId.padEnd(26)}  ${e.channel.padEnd(8)} ${(e.type ?? '-').padEnd(16)} ${e.outcome}${e.reason ? ` (${e.reason})` : ''}  ${e.httpStatus}`))
    .join('\n');
}
