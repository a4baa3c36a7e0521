/**
 * GET|POST /postback: thin handler over core/postback. Answers plain text with the outcome, or
 * a 1x1 GIF for the pixel (format=img) whatever happened inside.
 */
import { handlePostback, keyOf, type PostbackDeps, type PostbackOutcome } from '../core/postback';
import { collectParams } from '../core/postback-params';
import { logger } from '../logger';
import type { AuthResult } from '../core/protection';
import { postbackEntry } from '../core/inbound';
import { postbackMetrics, publish, refusalMetrics } from '../metrics';
import { keepInbound, type InboundSink } from './inbound';
import { FORBIDDEN_ORIGIN, fromTrustedOrigin, gif, requestId, text, toRawRequest, viewerIp, type HttpEvent, type HttpResult } from './http';
import { inboundFromEnv, originSecretFromEnv, postbackAuthFromEnv, postbackDepsFromEnv } from './runtime';
import { HANDLER_DEADLINE_MS } from '../contract';
import { withDeadline, type InvocationContext } from './deadline';

export interface PostbackHandlerOptions {
  originSecret?: string;
  now?: () => Date;
  /** Where each request's outcome is kept for `npm run trace`; entries expire after retentionDays. */
  inbound?: InboundSink;
  /** Postback protection (core/protection createProtection); absent: postbacks are not authenticated. */
  authenticate?: (key: string | undefined, ip: string | undefined) => Promise<AuthResult>;
}

/** Whether the request is the pixel (format=img in the query, or in a POSTed body). */
function wantsImage(event: HttpEvent): boolean {
  if (new URLSearchParams(event.rawQueryString ?? '').get('format') === 'img') return true;
  if (!event.body) return false;
  try {
    return collectParams(toRawRequest(event)).get('format') === 'img';
  } catch {
    return false;
  }
}

/** The fields of one outcome's log line: what arrived, what was done. */
function logFields(outcome: PostbackOutcome): Record<string, unknown> {
  switch (outcome.status) {
    case 'recorded':
    case 'duplicate': {
      const c = outcome.conversion;
      const send = outcome.status === 'recorded' ? outcome.send : undefined;
      return {
        clickId: c.clickId,
        type: c.type,
        txid: c.txid,
        revenue: c.revenue,
        currency: c.currency,
        source: c.source,
        campaignId: c.campaignId,
        ...(send ? { sendTo: send.to, send: send.status, ...(send.detail !== undefined ? { sendDetail: send.detail } : {}) } : {}),
        ...(outcome.status === 'duplicate' && outcome.conflict ? { reason: 'amount_conflict', conflict: outcome.conflict } : {}),
      };
    }
    case 'test':
      return { clickId: outcome.params.clickId, type: outcome.params.type, answer: outcome.message };
    case 'queued':
      return { clickId: outcome.params.clickId, type: outcome.params.type, reason: outcome.reason, answer: outcome.message };
    case 'rejected':
      return { reason: outcome.reason, parameter: outcome.parameter, answer: outcome.message };
    case 'forbidden':
      return { reason: outcome.reason, answer: outcome.message };
    case 'unavailable':
      return { reason: outcome.reason, answer: outcome.message };
    case 'capped':
      return { clickId: outcome.params.clickId, type: outcome.params.type, reason: outcome.reason, capSource: outcome.source, answer: outcome.message };
  }
}

export function createPostbackHandler(deps: PostbackDeps, options: PostbackHandlerOptions = {}) {
  const handle = async (event: HttpEvent): Promise<HttpResult> => {
    const reqId = requestId(event);
    // A request that did not come through CloudFront (the raw execute-api URL) is answered
    // before anything else: one log line, nothing written anywhere.
    if (!fromTrustedOrigin(event, options.originSecret)) {
      logger.warn('postback refused', { requestId: reqId, outcome: 'forbidden', httpStatus: 403, reason: 'origin_verify_failed' });
      return text(403, FORBIDDEN_ORIGIN);
    }
    const image = wantsImage(event);
    const now = (options.now ?? (() => new Date()))();
    const query = event.rawQueryString ?? '';
    const request = toRawRequest(event);
    // A request that did not authenticate is refused with one log line and a metric, and is not
    // kept in the inbound log: anyone can send it, and storing it would let them grow the table
    // (and fill a buyer's click trace when they know its id).
    const refuse = async (httpStatus: number, reason: string, answer: string) => {
      logger.warn('postback refused', { requestId: reqId, outcome: 'forbidden', httpStatus, reason, channel: image ? 'pixel' : 'postback', answer });
      await publish(refusalMetrics(reason));
      return image ? gif() : text(httpStatus, answer);
    };
    // The protection source that authenticated this request, and which of its keys matched (an
    // index into its keys, never the key): logged, so a key rotation can be watched.
    let source: string | undefined;
    let keyIndex: number | undefined;
    if (options.authenticate) {
      const auth = await options.authenticate(keyOf(request, event.pathParameters?.key), viewerIp(event));
      if (auth.ok) {
        source = auth.source;
        keyIndex = auth.keyIndex;
      } else if (!(image && (auth.reason === 'missing_key' || auth.reason === 'bad_key'))) {
        // A pixel with a wrong key is a pixel without one (the keyless rules below), not a way
        // around them.
        return refuse(auth.reason === 'keys_unavailable' ? 503 : 403, auth.reason, auth.message);
      }
    }
    // The pixel runs in the buyer's browser: without a valid key it is anonymous, whatever the
    // protection mode, and gets the pixel's restrictions (core/postback).
    const pixelWithoutKey = image && source === undefined;
    let outcome: PostbackOutcome;
    try {
      const ip = viewerIp(event);
      // The cap on distinct queued failures counts per protection source, or per network without a key.
      const sender = { ...(source !== undefined ? { protectionSource: source } : {}), ...(ip !== undefined ? { ip } : {}) };
      // Accepted without a valid key (protection not required): recorded, never sent to an ad platform.
      const unauthenticated = source === undefined && !pixelWithoutKey;
      outcome = await handlePostback({ request, now, pixelWithoutKey, sender, ...(unauthenticated ? { unauthenticated } : {}) }, deps);
    } catch (err) {
      logger.error('postback failed', { requestId: reqId, outcome: 'error', error: err as Error });
      return image ? gif() : text(500, 'Internal error: nothing was recorded. Please retry.');
    }
    const fields = {
      requestId: reqId,
      outcome: outcome.status,
      httpStatus: outcome.httpStatus,
      ...logFields(outcome),
      // Which protection source and which of its keys (an index, never the key) let it in.
      protectionSource: source,
      keyIndex,
      ...(pixelWithoutKey ? { keyless: true } : {}),
    };
    if (outcome.status === 'unavailable') logger.error('postback', fields);
    else if (
      outcome.status === 'queued' ||
      outcome.status === 'rejected' ||
      outcome.status === 'forbidden' ||
      outcome.status === 'capped' ||
      (outcome.status === 'duplicate' && outcome.conflict)
    )
      logger.warn('postback', fields);
    else logger.info('postback', fields);
    // An anonymous pixel leaves an inbound entry only when it recorded something (at most one
    // per click and type) or our storage failed and it was queued now: repeating it (also a
    // repeat answered as queued already), aiming it at clicks or types that do not exist, or
    // passing its network's cap grows nothing.
    const keep =
      !pixelWithoutKey ||
      outcome.status === 'recorded' ||
      (outcome.status === 'queued' && outcome.duplicateOf === undefined) ||
      outcome.status === 'unavailable';
    await Promise.all([
      keep
        ? keepInbound(
            options.inbound,
            postbackEntry(outcome, { receivedAt: now.toISOString(), requestId: reqId, pixel: image, query, ...(source ? { source } : {}), ...(keyIndex !== undefined ? { keyIndex } : {}) }),
          )
        : undefined,
      publish(postbackMetrics(outcome)),
    ]);
    if (image) return gif();
    // Refused by the cap: nothing was kept, so the sender must come back after the hour.
    return text(outcome.httpStatus, outcome.message, outcome.status === 'capped' ? { 'retry-after': String(outcome.retryAfterSeconds) } : {});
  };
  return withDeadline(HANDLER_DEADLINE_MS.postback, handle);
}

const build = () => createPostbackHandler(postbackDepsFromEnv(), { originSecret: originSecretFromEnv(), ...postbackAuthFromEnv(), ...inboundFromEnv() });

// In Lambda the dependencies are built during the init phase (module load), which runs at full
// CPU before the first request; anywhere else (tests, the local server) only on first use.
let built: ReturnType<typeof createPostbackHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? build() : undefined;

/** Lambda entry point. */
export const handler = async (event: HttpEvent, context?: InvocationContext): Promise<HttpResult> => {
  built ??= build();
  return built(event, context);
};
