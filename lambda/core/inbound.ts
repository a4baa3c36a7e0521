/**
 * What the inbound log keeps of each postback, pixel and IPN: which click it named, what it
 * asked for, and what was done with it (the answer, the reason). No request body, no key, no
 * buyer data.
 */
import type { IpnOutcome } from './ipn';
import { NO_CLICK_ID, type InboundEntry } from './model';
import { conflictDetail } from './conversion';
import type { PostbackOutcome } from './postback';

const CLICK_ID = /^[A-Za-z0-9._,-]{1,64}$/;

function clickKey(candidate: string | null | undefined): string {
  return candidate && CLICK_ID.test(candidate) ? candidate : NO_CLICK_ID;
}

function answer(text: string): string {
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

function detail(text: string): string {
  return text.length > 1000 ? `${text.slice(0, 999)}…` : text;
}

/** The click id a raw query names, for requests refused before parsing. */
export function clickIdOfQuery(query: string): string {
  const params = new URLSearchParams(query);
  return clickKey(params.get('clickid') ?? params.get('cid'));
}

export function postbackEntry(
  outcome: PostbackOutcome,
  base: { receivedAt: string; requestId: string; pixel: boolean; query: string; source?: string; keyIndex?: number },
): InboundEntry {
  const entry: InboundEntry = {
    clickId: clickIdOfQuery(base.query),
    receivedAt: base.receivedAt,
    requestId: base.requestId,
    channel: base.pixel ? 'pixel' : 'postback',
    outcome: outcome.status,
    httpStatus: outcome.httpStatus,
    answer: answer(outcome.message),
    ...(base.source !== undefined ? { source: base.source } : {}),
    ...(base.keyIndex !== undefined ? { keyIndex: base.keyIndex } : {}),
  };
  switch (outcome.status) {
    case 'recorded':
    case 'duplicate': {
      const c = outcome.conversion;
      const conflict = outcome.status === 'duplicate' ? outcome.conflict : undefined;
      return {
        ...entry,
        clickId: c.clickId,
        type: c.type,
        revenue: c.revenue,
        currency: c.currency,
        ...(c.txid !== undefined ? { txid: c.txid } : {}),
        ...(conflict ? { reason: 'amount_conflict', detail: conflictDetail(conflict) } : {}),
      };
    }
    case 'test':
    case 'queued':
    case 'capped': {
      const p = outcome.params;
      return {
        ...entry,
        clickId: clickKey(p.clickId),
        ...(p.type !== undefined ? { type: p.type } : {}),
        ...(p.txid !== undefined ? { txid: p.txid } : {}),
        ...(outcome.status === 'queued' ? { reason: outcome.reason } : {}),
        ...(outcome.status === 'capped' ? { reason: `dead_letters_capped:${outcome.reason}` } : {}),
      };
    }
    case 'rejected':
      return { ...entry, reason: `${outcome.reason}:${outcome.parameter}` };
    case 'forbidden':
    case 'unavailable':
      return { ...entry, reason: outcome.reason };
  }
}

export function ipnEntry(outcome: IpnOutcome, base: { receivedAt: string; requestId: string }): InboundEntry {
  return {
    clickId: clickKey(outcome.clickId),
    receivedAt: base.receivedAt,
    requestId: base.requestId,
    channel: 'ipn',
    outcome: outcome.status,
    httpStatus: outcome.httpStatus,
    answer: answer(outcome.message.replace(/\n/g, ' | ')),
    ...(outcome.detail !== undefined ? { detail: detail(outcome.detail) } : {}),
    ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
    ...(outcome.txid !== undefined ? { txid: outcome.txid } : {}),
    ...(outcome.results.length > 0 ? { type: outcome.results.map((r) => r.type).join(',') } : outcome.event ? { type: outcome.event } : {}),
  };
}
