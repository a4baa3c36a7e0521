/**
 * GET|POST /postback: thin handler over core/postback. Answers plain text with the outcome, or
 * a 1x1 GIF for the pixel (format=img) whatever happened inside.
 */
import { handlePostback, type PostbackDeps, type PostbackOutcome } from '../core/postback';
import { logger } from '../logger';
import { FORBIDDEN_ORIGIN, fromTrustedOrigin, gif, requestId, text, toRawRequest, type HttpEvent, type HttpResult } from './http';
import { originSecretFromEnv, postbackDepsFromEnv } from './runtime';

export interface PostbackHandlerOptions {
  originSecret?: string;
  now?: () => Date;
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
      return { clickId: c.clickId, type: c.type, txid: c.txid, revenue: c.revenue, currency: c.currency, source: c.source, campaignId: c.campaignId };
    }
    case 'test':
      return { clickId: outcome.params.clickId, type: outcome.params.type, answer: outcome.message };
    case 'queued':
      return { clickId: outcome.params.clickId, type: outcome.params.type, reason: outcome.reason, answer: outcome.message };
    case 'rejected':
      return { reason: outcome.reason, parameter: outcome.parameter, answer: outcome.message };
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
    let outcome: PostbackOutcome;
    try {
      outcome = await handlePostback({ request: toRawRequest(event), now: (options.now ?? (() => new Date()))() }, deps);
    } catch (err) {
      logger.error('postback failed', { requestId: reqId, outcome: 'error', error: err as Error });
      return image ? gif() : text(500, 'Internal error: nothing was recorded. Please retry.');
    }
    const fields = { requestId: reqId, outcome: outcome.status, httpStatus: outcome.httpStatus, ...logFields(outcome) };
    if (outcome.status === 'unavailable') logger.error('postback', fields);
    else if (outcome.status === 'queued' || outcome.status === 'rejected') logger.warn('postback', fields);
    else logger.info('postback', fields);
    return image ? gif() : text(outcome.httpStatus, outcome.message);
  };
}

let built: ReturnType<typeof createPostbackHandler> | undefined;

/** Lambda entry point. */
export const handler = async (event: HttpEvent): Promise<HttpResult> => {
  built ??= createPostbackHandler(postbackDepsFromEnv(), { originSecret: originSecretFromEnv() });
  return built(event);
};
