/**
 * GET|POST /postback: thin handler over core/postback. Answers plain text with the outcome, or
 * a 1x1 GIF for the pixel (format=img) whatever happened inside.
 */
import { handlePostback, type PostbackDeps, type PostbackOutcome } from '../core/postback';
import { logger } from '../logger';
import type { AuthResult } from '../core/protection';
import { FORBIDDEN_ORIGIN, fromTrustedOrigin, gif, requestId, text, toRawRequest, viewerIp, type HttpEvent, type HttpResult } from './http';
import { originSecretFromEnv, postbackAuthFromEnv, postbackDepsFromEnv } from './runtime';

export interface PostbackHandlerOptions {
  originSecret?: string;
  now?: () => Date;
  /** Postback protection (core/protection createProtection); absent: postbacks are not authenticated. */
  authenticate?: (key: string | undefined, ip: string | undefined) => Promise<AuthResult>;
}

function wantsImage(event: HttpEvent): boolean {
  return new URLSearchParams(event.rawQueryString ?? '').get('format') === 'img';
}

/** The fields of one outcome's log line: what arrived, what was done. */
function logFields(outcome: PostbackOutcome): Record<string, unknown> {
  switch (outcome.status) {
    case 'recorded':
    case 'duplicate': {
      const c = outcome.conversion;
      const forward = outcome.status === 'recorded' ? outcome.forward : undefined;
      return {
        clickId: c.clickId,
        type: c.type,
        txid: c.txid,
        revenue: c.revenue,
        currency: c.currency,
        source: c.source,
        campaignId: c.campaignId,
        ...(forward ? { forward: forward.status, ...('detail' in forward ? { forwardDetail: forward.detail } : {}) } : {}),
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
  }
}

export function createPostbackHandler(deps: PostbackDeps, options: PostbackHandlerOptions = {}) {
  return async (event: HttpEvent): Promise<HttpResult> => {
    const reqId = requestId(event);
    const image = wantsImage(event);
    if (!fromTrustedOrigin(event, options.originSecret)) {
      logger.warn('postback refused', { requestId: reqId, outcome: 'forbidden', reason: 'origin_verify_failed' });
      return image ? gif() : text(403, FORBIDDEN_ORIGIN);
    }
    let pixelWithoutKey = false;
    let source: string | undefined;
    if (options.authenticate) {
      const key = event.pathParameters?.key ?? new URLSearchParams(event.rawQueryString ?? '').get('key') ?? undefined;
      const auth = await options.authenticate(key, viewerIp(event));
      if (auth.ok) source = auth.source;
      else if (image && auth.reason === 'missing_key') pixelWithoutKey = true;
      else {
        const status = auth.reason === 'keys_unavailable' ? 503 : 403;
        logger.warn('postback refused', { requestId: reqId, outcome: 'forbidden', httpStatus: status, reason: auth.reason });
        return image ? gif() : text(status, auth.message);
      }
    }
    let outcome: PostbackOutcome;
    try {
      outcome = await handlePostback({ request: toRawRequest(event), now: (options.now ?? (() => new Date()))(), pixelWithoutKey }, deps);
    } catch (err) {
      logger.error('postback failed', { requestId: reqId, outcome: 'error', error: err as Error });
      return image ? gif() : text(500, 'Internal error: nothing was recorded. Please retry.');
    }
    const fields = { requestId: reqId, outcome: outcome.status, httpStatus: outcome.httpStatus, source, ...logFields(outcome) };
    if (outcome.status === 'unavailable') logger.error('postback', fields);
    else if (outcome.status === 'queued' || outcome.status === 'rejected' || outcome.status === 'forbidden') logger.warn('postback', fields);
    else logger.info('postback', fields);
    return image ? gif() : text(outcome.httpStatus, outcome.message);
  };
}

let built: ReturnType<typeof createPostbackHandler> | undefined;

/** Lambda entry point. */
export const handler = async (event: HttpEvent): Promise<HttpResult> => {
  built ??= createPostbackHandler(postbackDepsFromEnv(), { originSecret: originSecretFromEnv(), ...postbackAuthFromEnv() });
  return built(event);
};
