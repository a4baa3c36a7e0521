/**
 * Meta Conversions API: one website event per conversion.
 *
 * `POST {apiBaseUrl}/{apiVersion}/{pixelId}/events` with a JSON body `{ data: [event],
 * access_token, test_event_code? }` and the same token as `Authorization: Bearer` — never in the
 * URL (URLs end up in logs). developers.facebook.com/docs/marketing-api/conversions-api:
 * using-the-api, parameters/server-event, parameters/customer-information-parameters,
 * parameters/fbp-and-fbc, deduplicate-pixel-and-server-events.
 */
import type { MetaApi } from '../../config/schema';
import { answerText, eventId, jsonDecimal, sha256, toJson, unixSeconds, type buyerContact } from './platform-common';
import { META } from './platforms';
import type { HttpAnswer, HttpRequest, SendClick, SendConversion, SendOutcome } from './send-model';

export interface MetaEventInput {
  conversion: SendConversion;
  click: SendClick;
  eventName: string;
  /** The full address, when it is still kept. */
  ip?: string;
  sourceUrl?: string;
  buyer: ReturnType<typeof buyerContact>;
}

/**
 * `fb.1.<creation ms>.<fbclid>`: the stored `_fbc` cookie when t.js recorded one, else built from
 * the fbclid exactly as received (it is case-sensitive) and the click's time.
 */
export function fbcOf(click: Pick<SendClick, 'fbc' | 'channelClickId' | 'createdAt'>): string | undefined {
  if (click.fbc !== undefined && /^fb\.\d\.\d+\..+/.test(click.fbc)) return click.fbc;
  if (!click.channelClickId) return undefined;
  const ms = Date.parse(click.createdAt);
  return Number.isFinite(ms) ? `fb.1.${ms}.${click.channelClickId}` : undefined;
}

/** Why an event cannot be sent to Meta, or undefined when it can. */
export function metaSkipReason(input: Pick<MetaEventInput, 'conversion' | 'click'>, now: Date): string | undefined {
  const age = now.getTime() - Date.parse(input.conversion.createdAt);
  if (age > META.maxEventAgeMs - META.ageMarginMs) {
    return `older than Meta's 7-day limit (recorded ${input.conversion.createdAt}): Meta refuses such events, so it is not sent`;
  }
  if (!input.click.userAgent) return 'the click has no user agent, and Meta requires client_user_agent for website events';
  if (fbcOf(input.click) === undefined && !input.click.fbp) return 'the click carried no fbclid and has no _fbc/_fbp cookie: nothing for Meta to match';
  return undefined;
}

/** The event as Meta takes it, and what trace may show of it (no address, no hashes' values). */
export function metaEvent(input: MetaEventInput): { event: Record<string, unknown>; summary: Record<string, unknown> } {
  const { conversion, click } = input;
  const fbc = fbcOf(click);
  const userData: Record<string, unknown> = {
    ...(input.ip !== undefined ? { client_ip_address: input.ip } : {}),
    client_user_agent: click.userAgent,
    ...(fbc !== undefined ? { fbc } : {}),
    ...(click.fbp !== undefined ? { fbp: click.fbp } : {}),
    ...(input.buyer.email !== undefined ? { em: [sha256(input.buyer.email)] } : {}),
    ...(input.buyer.phone !== undefined ? { ph: [sha256(input.buyer.phone)] } : {}),
  };
  const event = {
    event_name: input.eventName,
    event_time: unixSeconds(conversion.createdAt),
    event_id: eventId(conversion),
    action_source: 'website',
    ...(input.sourceUrl !== undefined ? { event_source_url: input.sourceUrl } : {}),
    user_data: userData,
    custom_data: {
      value: jsonDecimal(conversion.revenue),
      currency: conversion.currency,
      ...(conversion.txid !== undefined ? { order_id: conversion.txid } : {}),
    },
  };
  const summary = {
    event_name: event.event_name,
    event_time: event.event_time,
    event_id: event.event_id,
    event_source_url: input.sourceUrl,
    value: conversion.revenue,
    currency: conversion.currency,
    ...(fbc !== undefined ? { fbc } : {}),
    ...(click.fbp !== undefined ? { fbp: click.fbp } : {}),
    user_data: Object.keys(userData),
  };
  return { event, summary };
}

export function metaRequest(api: MetaApi, token: string, events: readonly Record<string, unknown>[], timeoutMs: number): HttpRequest {
  const base = (api.apiBaseUrl ?? META.apiBaseUrl).replace(/\/+$/, '');
  return {
    method: 'POST',
    url: `${base}/${api.apiVersion ?? META.apiVersion}/${api.pixelId}/events`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: toJson({ data: events, access_token: token, ...(api.testEventCode !== undefined ? { test_event_code: api.testEventCode } : {}) }),
    timeoutMs,
  };
}

interface MetaError {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  error_user_msg?: string;
  fbtrace_id?: string;
}

/**
 * What Meta's answer means. 2xx with `events_received` = sent. Errors come as 4xx/5xx with
 * `error`: throttling and temporary errors (`is_transient`, codes 1, 2, 4, 17, 32, 341, 613,
 * 80004) and 5xx are retried; token and permission errors (190, 10, 200...) too, since the user
 * can fix them and redrive; anything else (an invalid parameter) is final.
 */
export function metaOutcome(answer: HttpAnswer, expected: number, secrets: readonly string[]): SendOutcome {
  if ('error' in answer) return { kind: 'retry', reason: `Meta: ${answer.timedOut ? 'no answer' : 'no connection'} (${answer.error})` };
  const text = answerText(answer.body, secrets);
  let parsed: { events_received?: number; messages?: unknown[]; fbtrace_id?: string; error?: MetaError } | undefined;
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (answer.status >= 200 && answer.status < 300) {
    if (parsed && typeof parsed.events_received === 'number' && parsed.events_received >= expected) {
      return { kind: 'sent', answer: `HTTP ${answer.status}: events_received ${parsed.events_received}${parsed.fbtrace_id ? `, fbtrace_id ${parsed.fbtrace_id}` : ''}` };
    }
    return { kind: 'retry', reason: `Meta answered HTTP ${answer.status} without events_received ${expected}`, answer: text };
  }
  const error = parsed?.error;
  const what = error
    ? `Meta error ${error.code ?? '?'}${error.error_subcode !== undefined ? `/${error.error_subcode}` : ''}${error.type ? ` (${error.type})` : ''}: ${answerText(error.error_user_msg ?? error.message ?? '', secrets, 300)}`
    : `Meta answered HTTP ${answer.status}`;
  const code = error?.code;
  if (answer.status >= 500 || answer.status === 429 || error?.is_transient === true || (code !== undefined && META.transientCodes.includes(code))) {
    return { kind: 'retry', reason: what, answer: text };
  }
  if (answer.status === 401 || answer.status === 403 || (code !== undefined && META.authCodes.includes(code))) {
    return { kind: 'retry', reason: `${what} — check the access token and its permissions, then redrive`, answer: text };
  }
  return { kind: 'failed', reason: what, answer: text };
}
