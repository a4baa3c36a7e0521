/**
 * Google Ads click conversions: `ConversionUploadService.UploadClickConversions` over REST,
 * `POST {apiBaseUrl}/{apiVersion}/customers/{customerId}:uploadClickConversions` with
 * `partialFailure: true`, at most 2,000 conversions a request, an OAuth access token from the
 * refresh token (cached until it expires), the `developer-token` header and `login-customer-id`
 * when a manager account acts. Errors of single rows come back in `partialFailureError` of a
 * 200 answer, each located by its index in `conversions`.
 * (developers.google.com/google-ads/api/docs/conversions/upload-clicks; reference/rpc/v26
 * ClickConversion, UploadClickConversionsResponse, ConversionUploadError; docs/oauth.)
 */
import type { GoogleAdsApi } from '../../config/schema';
import { answerText, jsonDecimal, toJson } from './platform-common';
import { GOOGLE_ADS } from './platforms';
import type { HttpAnswer, HttpClient, HttpRequest, SendClick, SendConversion, SendOutcome } from './send-model';

/** `yyyy-mm-dd hh:mm:ss+00:00` (UTC): the format ClickConversion.conversion_date_time takes. */
export function googleDateTime(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')}+00:00`;
}

export interface GoogleRowInput {
  conversion: SendConversion;
  /** The click, when still stored (its consent); the conversion carries the click id and time. */
  click?: SendClick;
  /** Which parameter the click id came from: gclid, gbraid or wbraid. */
  clickIdParam: string;
  /** The conversion action's resource name. */
  conversionAction: string;
}

export function googleSkipReason(input: Pick<GoogleRowInput, 'conversion' | 'clickIdParam'>): string | undefined {
  if (!input.conversion.channelClickId) return 'the click carried no gclid, gbraid or wbraid';
  if (!GOOGLE_ADS.clickIdParams.includes(input.clickIdParam)) return `the click id came from "${input.clickIdParam}", which Google Ads does not take`;
  return undefined;
}

/** One ClickConversion (REST JSON names), and what trace may show of it. */
export function googleRow(input: GoogleRowInput): { row: Record<string, unknown>; summary: Record<string, unknown> } {
  const { conversion } = input;
  // Google wants the conversion after the click; a second later at least, at second precision.
  const clickMs = Date.parse(conversion.clickCreatedAt ?? input.click?.createdAt ?? conversion.createdAt);
  const at = Math.max(Date.parse(conversion.createdAt), Math.floor(clickMs / 1000) * 1000 + 1000);
  const conversionDateTime = googleDateTime(new Date(at).toISOString());
  const orderId = conversion.txid ?? `${conversion.clickId}:${conversion.type}`;
  const consent = input.click?.consent ?? conversion.consent;
  const row = {
    [input.clickIdParam]: conversion.channelClickId,
    conversionAction: input.conversionAction,
    conversionDateTime,
    conversionValue: jsonDecimal(conversion.revenue),
    currencyCode: conversion.currency,
    orderId,
    // Only said when t.js asked for consent and got it (absent: consent was not asked for).
    ...(consent === 'granted' ? { consent: { adUserData: 'GRANTED' } } : {}),
  };
  const summary = {
    [input.clickIdParam]: conversion.channelClickId,
    conversionAction: input.conversionAction,
    conversionDateTime,
    conversionValue: conversion.revenue,
    currencyCode: conversion.currency,
    orderId,
  };
  return { row, summary };
}

export function googleUploadRequest(api: GoogleAdsApi, headers: GoogleHeaders, rows: readonly Record<string, unknown>[], timeoutMs: number): HttpRequest {
  if (rows.length > GOOGLE_ADS.maxBatch) throw new RangeError(`at most ${GOOGLE_ADS.maxBatch} conversions per upload, got ${rows.length}`);
  const base = (api.apiBaseUrl ?? GOOGLE_ADS.apiBaseUrl).replace(/\/+$/, '');
  return {
    method: 'POST',
    url: `${base}/${api.apiVersion ?? GOOGLE_ADS.apiVersion}/customers/${api.customerId}:uploadClickConversions`,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${headers.accessToken}`,
      'developer-token': headers.developerToken,
      ...(api.loginCustomerId !== undefined ? { 'login-customer-id': api.loginCustomerId } : {}),
    },
    body: toJson({ conversions: rows, partialFailure: true }),
    timeoutMs,
  };
}

export interface GoogleHeaders {
  accessToken: string;
  developerToken: string;
}

/** Per-row errors that mean "already uploaded": the sale is in Google Ads. */
const ALREADY_THERE = new Set(['ORDER_ID_ALREADY_IN_USE', 'CLICK_CONVERSION_ALREADY_EXISTS', 'DUPLICATE_ORDER_ID', 'DUPLICATE_CLICK_CONVERSION_IN_REQUEST']);
/** Per-row errors that mean "not yet": the click or the action is younger than 6 hours. */
const NOT_YET = new Set(['TOO_RECENT_EVENT', 'TOO_RECENT_CONVERSION_ACTION']);

interface GoogleError {
  errorCode?: Record<string, string>;
  message?: string;
  location?: { fieldPathElements?: { fieldName?: string; index?: number }[] };
}

/** The error codes of a Google failure, e.g. `conversionUploadError: TOO_RECENT_EVENT`. */
function codesOf(error: GoogleError): string[] {
  return Object.values(error.errorCode ?? {}).filter((v): v is string => typeof v === 'string');
}

function failuresOf(status: unknown): GoogleError[] {
  const details = (status as { details?: unknown[] } | undefined)?.details;
  if (!Array.isArray(details)) return [];
  return details.flatMap((d) => ((d as { errors?: unknown }).errors && Array.isArray((d as { errors: unknown[] }).errors) ? ((d as { errors: GoogleError[] }).errors) : []));
}

/**
 * Each row's outcome from an upload's answer. A 200 answer holds per-row errors in
 * `partialFailureError` (by index); rows without one are uploaded. `TOO_RECENT_EVENT` means
 * "later" (6 hours after the click), `ORDER_ID_ALREADY_IN_USE` means "already there" (sent).
 * A request-level error applies to every row: quota, 5xx, no answer and authentication or
 * authorization errors (a token or account to fix, then redrive) are retried; anything else is final.
 */
export function googleOutcomes(
  answer: HttpAnswer,
  rows: readonly { clickCreatedAt?: string }[],
  now: Date,
  secrets: readonly string[],
): SendOutcome[] {
  const all = (outcome: SendOutcome): SendOutcome[] => rows.map(() => outcome);
  if ('error' in answer) return all({ kind: 'retry', reason: `Google Ads: ${answer.timedOut ? 'no answer' : 'no connection'} (${answer.error})` });
  const text = answerText(answer.body, secrets);
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  if (answer.status < 200 || answer.status >= 300) {
    const error = parsed?.error as { code?: number; status?: string; message?: string } | undefined;
    const codes = failuresOf(error).flatMap(codesOf);
    const what = `Google Ads HTTP ${answer.status}${error?.status ? ` ${error.status}` : ''}${codes.length ? ` (${codes.join(', ')})` : ''}: ${answerText(error?.message ?? '', secrets, 300)}`;
    if (answer.status >= 500 || answer.status === 429 || error?.status === 'RESOURCE_EXHAUSTED' || error?.status === 'UNAVAILABLE' || error?.status === 'DEADLINE_EXCEEDED') {
      return all({ kind: 'retry', reason: what, answer: text });
    }
    if (answer.status === 401 || answer.status === 403 || error?.status === 'UNAUTHENTICATED' || error?.status === 'PERMISSION_DENIED') {
      return all({ kind: 'retry', reason: `${what} — check the developer token, OAuth client and customer ids, then redrive`, answer: text });
    }
    return all({ kind: 'failed', reason: what, answer: text });
  }
  const jobId = parsed?.jobId !== undefined ? `, jobId ${String(parsed.jobId)}` : '';
  const byRow = new Map<number, GoogleError[]>();
  const unplaced: GoogleError[] = [];
  for (const error of failuresOf(parsed?.partialFailureError)) {
    const first = error.location?.fieldPathElements?.[0];
    if (first?.fieldName === 'conversions' && typeof first.index === 'number') byRow.set(first.index, [...(byRow.get(first.index) ?? []), error]);
    else unplaced.push(error);
  }
  const pfe = parsed?.partialFailureError as { message?: string } | undefined;
  return rows.map((row, i): SendOutcome => {
    const errors = [...(byRow.get(i) ?? []), ...unplaced];
    if (errors.length === 0) {
      // A partial failure that names no row cannot be placed: nothing is claimed uploaded.
      if (pfe && failuresOf(pfe).length === 0) return { kind: 'retry', reason: `Google Ads partial failure without row details: ${answerText(pfe.message ?? '', secrets, 300)}`, answer: text };
      return { kind: 'sent', answer: `HTTP ${answer.status}: uploaded${jobId}` };
    }
    const codes = errors.flatMap(codesOf);
    const what = `Google Ads ${codes.join(', ') || 'error'}: ${answerText(errors.map((e) => e.message ?? '').join('; '), secrets, 300)}`;
    if (codes.length > 0 && codes.every((c) => ALREADY_THERE.has(c))) return { kind: 'sent', answer: `HTTP ${answer.status}: already uploaded (${codes.join(', ')})${jobId}` };
    if (codes.some((c) => NOT_YET.has(c))) {
      const clickMs = Date.parse(row.clickCreatedAt ?? '');
      const sixHoursAfter = Number.isFinite(clickMs) ? clickMs + GOOGLE_ADS.minClickAgeMs + 10 * 60_000 : 0;
      return { kind: 'later', until: new Date(Math.max(sixHoursAfter, now.getTime() + 3_600_000)), reason: what };
    }
    if (codes.some((c) => c === 'INTERNAL_ERROR' || c === 'TRANSIENT_ERROR' || c === 'RESOURCE_EXHAUSTED')) return { kind: 'retry', reason: what, answer: text };
    return { kind: 'failed', reason: what, answer: text };
  });
}

/**
 * OAuth access tokens from the refresh token, cached per client and refresh token until a
 * minute before they expire. A 401 from the API drops the cached token (`forget`).
 */
export class GoogleTokens {
  private readonly cache = new Map<string, { token: string; until: number }>();

  constructor(
    private readonly http: HttpClient,
    private readonly now: () => number = Date.now,
  ) {}

  async accessToken(api: Pick<GoogleAdsApi, 'tokenUrl'>, creds: { clientId: string; clientSecret: string; refreshToken: string }, timeoutMs: number): Promise<{ token: string } | { error: SendOutcome }> {
    const key = `${api.tokenUrl ?? GOOGLE_ADS.tokenUrl}|${creds.clientId}|${creds.refreshToken}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return { token: hit.token };
    const answer = await this.http.request({
      method: 'POST',
      url: api.tokenUrl ?? GOOGLE_ADS.tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: creds.clientId, client_secret: creds.clientSecret, refresh_token: creds.refreshToken }).toString(),
      timeoutMs,
    });
    const secrets = [creds.clientSecret, creds.refreshToken];
    if ('error' in answer) return { error: { kind: 'retry', reason: `Google OAuth: ${answer.timedOut ? 'no answer' : 'no connection'} (${answer.error})` } };
    let parsed: { access_token?: string; expires_in?: number; error?: string; error_description?: string } | undefined;
    try {
      parsed = JSON.parse(answer.body) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    if (answer.status === 200 && typeof parsed?.access_token === 'string' && parsed.access_token !== '') {
      const seconds = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 3600;
      this.cache.set(key, { token: parsed.access_token, until: this.now() + Math.max(0, seconds - 60) * 1000 });
      return { token: parsed.access_token };
    }
    const what = `Google OAuth HTTP ${answer.status}${parsed?.error ? ` ${parsed.error}` : ''}: ${answerText(parsed?.error_description ?? '', secrets, 200)}`;
    // invalid_grant (revoked refresh token), invalid_client: the user fixes the secret, then redrives.
    return { error: { kind: 'retry', reason: `${what} — renew the refresh token or the OAuth client, then redrive`, answer: answerText(answer.body, secrets) } };
  }

  forget(api: Pick<GoogleAdsApi, 'tokenUrl'>, creds: { clientId: string; refreshToken: string }): void {
    this.cache.delete(`${api.tokenUrl ?? GOOGLE_ADS.tokenUrl}|${creds.clientId}|${creds.refreshToken}`);
  }
}
