/**
 * TikTok Events API 1.3 (web events): one event per conversion.
 *
 * `POST {apiBaseUrl}/open_api/{apiVersion}/event/track/` with the `Access-Token` header and
 * `{ event_source: 'web', event_source_id: <pixel code>, test_event_code?, data: [event] }`.
 * TikTok answers HTTP 200 with a JSON `code` (0 = success) and `message`: a non-zero code is an
 * error although the status is 200. (TikTok for Business, Events API 1.3 "Report web events".)
 */
import type { TikTokApi } from '../../config/schema';
import { answerText, eventId, jsonDecimal, sha256, toJson, unixSeconds, type buyerContact } from './platform-common';
import { TIKTOK } from './platforms';
import type { HttpAnswer, HttpRequest, SendClick, SendConversion, SendOutcome } from './send-model';

export interface TikTokEventInput {
  conversion: SendConversion;
  click: SendClick;
  eventName: string;
  ip?: string;
  sourceUrl?: string;
  buyer: ReturnType<typeof buyerContact>;
}

export function tiktokSkipReason(input: Pick<TikTokEventInput, 'conversion' | 'click'>): string | undefined {
  if (!input.click.channelClickId) return 'the click carried no ttclid: nothing for TikTok to match';
  return undefined;
}

export function tiktokEvent(input: TikTokEventInput): { event: Record<string, unknown>; summary: Record<string, unknown> } {
  const { conversion, click } = input;
  const user: Record<string, unknown> = {
    ttclid: click.channelClickId,
    ...(input.ip !== undefined ? { ip: input.ip } : {}),
    ...(click.userAgent !== undefined ? { user_agent: click.userAgent } : {}),
    ...(input.buyer.email !== undefined ? { email: sha256(input.buyer.email) } : {}),
    // TikTok hashes phone numbers in E.164 form, with the plus.
    ...(input.buyer.phone !== undefined ? { phone: sha256(`+${input.buyer.phone}`) } : {}),
  };
  const event = {
    event: input.eventName,
    event_time: unixSeconds(conversion.createdAt),
    event_id: eventId(conversion),
    user,
    properties: { value: jsonDecimal(conversion.revenue), currency: conversion.currency },
    ...(input.sourceUrl !== undefined ? { page: { url: input.sourceUrl } } : {}),
  };
  const summary = {
    event: event.event,
    event_time: event.event_time,
    event_id: event.event_id,
    ttclid: click.channelClickId,
    value: conversion.revenue,
    currency: conversion.currency,
    page_url: input.sourceUrl,
    user: Object.keys(user),
  };
  return { event, summary };
}

export function tiktokRequest(api: TikTokApi, token: string, events: readonly Record<string, unknown>[], timeoutMs: number): HttpRequest {
  const base = (api.apiBaseUrl ?? TIKTOK.apiBaseUrl).replace(/\/+$/, '');
  return {
    method: 'POST',
    url: `${base}/open_api/${api.apiVersion ?? TIKTOK.apiVersion}/event/track/`,
    headers: { 'content-type': 'application/json', 'access-token': token },
    body: toJson({
      event_source: 'web',
      event_source_id: api.pixelCode,
      ...(api.testEventCode !== undefined ? { test_event_code: api.testEventCode } : {}),
      data: events,
    }),
    timeoutMs,
  };
}

/**
 * What TikTok's answer means: `code` 0 = sent (whatever the status says otherwise is checked
 * too); 40100 (too many requests) and 5xxxx or HTTP 5xx are retried; token and permission codes
 * (40001, 40104, 40105, 40106) are retried so a fixed token can be redriven; any other code
 * (invalid parameters...) is final, with TikTok's message.
 */
export function tiktokOutcome(answer: HttpAnswer, secrets: readonly string[]): SendOutcome {
  if ('error' in answer) return { kind: 'retry', reason: `TikTok: ${answer.timedOut ? 'no answer' : 'no connection'} (${answer.error})` };
  const text = answerText(answer.body, secrets);
  let parsed: { code?: number; message?: string; request_id?: string } | undefined;
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const code = typeof parsed?.code === 'number' ? parsed.code : undefined;
  if (answer.status >= 200 && answer.status < 300 && code === 0) {
    return { kind: 'sent', answer: `HTTP ${answer.status}: code 0${parsed?.message ? ` ${answerText(parsed.message, secrets, 100)}` : ''}${parsed?.request_id ? `, request_id ${parsed.request_id}` : ''}` };
  }
  const what =
    code !== undefined
      ? `TikTok code ${code}${answer.status !== 200 ? ` (HTTP ${answer.status})` : ''}: ${answerText(parsed?.message ?? '', secrets, 300)}`
      : `TikTok answered HTTP ${answer.status} without a code`;
  if (answer.status >= 500 || answer.status === 429 || code === undefined || TIKTOK.transientCodes.includes(code) || (code >= 50000 && code < 60000)) {
    return { kind: 'retry', reason: what, answer: text };
  }
  if (TIKTOK.authCodes.includes(code) || answer.status === 401 || answer.status === 403) {
    return { kind: 'retry', reason: `${what} — check the access token and the pixel code, then redrive`, answer: text };
  }
  return { kind: 'failed', reason: what, answer: text };
}
