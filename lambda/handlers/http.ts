/**
 * API Gateway HTTP API (payload 2.0) in and out: turn the event into the core's RawRequest, and
 * the core's answers into responses. Shared by the handlers; nothing here decides anything.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ORIGIN_VERIFY_HEADER } from '../contract';
import type { RawRequest } from '../core/model';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/** Headers kept with a queued request (enough to replay it and explain it; no cookies, no auth). */
const KEPT_HEADERS = ['content-type', 'user-agent', 'referer', 'cloudfront-viewer-country'];

export function header(event: HttpEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

export function toRawRequest(event: HttpEvent): RawRequest {
  const body = event.body === undefined || event.body === null ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = header(event, name);
    if (value !== undefined) headers[name] = value;
  }
  return {
    method: event.requestContext?.http?.method ?? 'GET',
    path: event.rawPath ?? '/',
    query: event.rawQueryString ?? '',
    body,
    headers,
  };
}

/**
 * The visitor's address: CloudFront-Viewer-Address ("ip:port", IPv6 too) when CloudFront sent
 * it, else the address API Gateway saw.
 */
export function viewerIp(event: HttpEvent): string | undefined {
  const viewer = header(event, 'cloudfront-viewer-address');
  if (viewer) {
    const cut = viewer.lastIndexOf(':');
    const ip = cut > 0 ? viewer.slice(0, cut) : viewer;
    return ip.replace(/^\[|\]$/g, '');
  }
  return event.requestContext?.http?.sourceIp;
}

export function requestId(event: HttpEvent): string {
  return event.requestContext?.requestId ?? 'unknown';
}

export function text(statusCode: number, body: string, extraHeaders: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extraHeaders },
    body: `${body}\n`,
  };
}

/**
 * A plain-text answer that is exactly `body`, with no line after it: Digistore24 reads an IPN
 * answer's lines after `OK` as data for the buyer. `body: false` answers a HEAD (no body).
 */
export function exactText(statusCode: number, body: string | false): HttpResult {
  const result = text(statusCode, body === false ? '' : body);
  return { ...result, body: body === false ? '' : body };
}

/** 1x1 transparent GIF (43 bytes). */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export function gif(): HttpResult {
  return {
    statusCode: 200,
    headers: { 'content-type': 'image/gif', 'cache-control': 'no-store', 'content-length': String(PIXEL.length) },
    body: PIXEL.toString('base64'),
    isBase64Encoded: true,
  };
}

/** A JSON answer that no one may store (every tracking answer is no-store). */
export function json(statusCode: number, body: unknown, extraHeaders: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...extraHeaders },
    body: JSON.stringify(body),
  };
}

/** The answer to a HEAD request: the same status and headers, no body. */
export function withoutBody(result: HttpResult): HttpResult {
  const headers = { ...(result.headers ?? {}) };
  delete headers['content-length'];
  return { ...result, headers, body: '', isBase64Encoded: false };
}

export function redirect(location: string): HttpResult {
  return { statusCode: 302, headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer-when-downgrade' }, body: '' };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * True when the request came through CloudFront: the origin-verify header equals the secret.
 * Compared in constant time (over fixed-length digests, so length leaks nothing either). With
 * no secret configured (local run) every request passes.
 */
export function fromTrustedOrigin(event: HttpEvent, secret: string | undefined): boolean {
  if (secret === undefined || secret === '') return true;
  const given = header(event, ORIGIN_VERIFY_HEADER);
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(secret));
}

/** The answer to a browser prefetch (Sec-Purpose: prefetch): 503, no-store, nothing recorded. */
export const PREFETCH_ANSWER = 'Prefetch not served: the click is recorded when the page is really opened.';

export const FORBIDDEN_ORIGIN = 'Forbidden: use the tracking domain, not the API Gateway URL';
