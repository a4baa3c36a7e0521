/**
 * POST /ipn/digistore24: thin handler over core/ipn. Plain-text answers: exactly `OK` whenever
 * Digistore24 should not retry (the detail goes to the log line and the inbound record).
 * GET and HEAD answer `OK` (Digistore24's URL check) and store nothing.
 */
import { handleIpn, IPN_OK, type IpnDeps, type IpnOutcome } from '../core/ipn';
import { logger } from '../logger';
import { ipnEntry } from '../core/inbound';
import { ipnMetrics, publish } from '../metrics';
import { keepInbound, type InboundSink } from './inbound';
import { FORBIDDEN_ORIGIN, exactText, fromTrustedOrigin, requestId, text, toRawRequest, type HttpEvent, type HttpResult } from './http';
import { inboundFromEnv, ipnDepsFromEnv, originSecretFromEnv } from './runtime';
import { HANDLER_DEADLINE_MS } from '../contract';
import { withDeadline, type InvocationContext } from './deadline';

export interface IpnHandlerOptions {
  originSecret?: string;
  now?: () => Date;
  inbound?: InboundSink;
}

const NOT_CONFIGURED = 'Not found: this tracker has no digistore24.ipn section in its config.';

export function createIpnHandler(deps: IpnDeps | undefined, options: IpnHandlerOptions = {}) {
  const handle = async (event: HttpEvent): Promise<HttpResult> => {
    const reqId = requestId(event);
    const method = (event.requestContext?.http?.method ?? 'POST').toUpperCase();
    const check = method === 'GET' || method === 'HEAD';
    // Not through CloudFront (the raw execute-api URL), whatever the method: one log line,
    // nothing written anywhere (no inbound entry, no metric, no queue message).
    if (!fromTrustedOrigin(event, options.originSecret)) {
      logger.warn(check ? 'ipn url check refused' : 'ipn refused', { requestId: reqId, outcome: 'forbidden', httpStatus: 403, reason: 'origin_verify_failed', method });
      return method === 'HEAD' ? exactText(403, false) : text(403, FORBIDDEN_ORIGIN);
    }
    if (check) {
      // Digistore24's URL check (setup and its ipnSetup API): 200 OK, nothing stored.
      if (!deps) {
        logger.warn('ipn url check', { requestId: reqId, outcome: 'not_configured', httpStatus: 404 });
        return method === 'HEAD' ? exactText(404, false) : text(404, NOT_CONFIGURED);
      }
      logger.info('ipn url check', { requestId: reqId, outcome: 'url_check', method, httpStatus: 200 });
      return exactText(200, method === 'HEAD' ? false : IPN_OK);
    }
    const now = (options.now ?? (() => new Date()))();
    if (!deps) {
      logger.warn('ipn refused', { requestId: reqId, outcome: 'not_configured' });
      return text(404, NOT_CONFIGURED);
    }
    let outcome: IpnOutcome;
    try {
      outcome = await handleIpn({ request: toRawRequest(event), now }, deps);
    } catch (err) {
      logger.error('ipn failed', { requestId: reqId, outcome: 'error', error: err as Error });
      return text(500, 'Internal error: nothing was recorded. Please retry.');
    }
    const fields = {
      requestId: reqId,
      outcome: outcome.status,
      httpStatus: outcome.httpStatus,
      event: outcome.event,
      clickId: outcome.clickId,
      txid: outcome.txid,
      reason: outcome.reason,
      detail: outcome.detail,
      signature: outcome.signature,
      test: outcome.test,
      results: outcome.results,
    };
    if (outcome.httpStatus >= 500) logger.error('ipn', fields);
    else if (outcome.httpStatus >= 400 || outcome.status === 'queued' || outcome.reason === 'amount_conflict') logger.warn('ipn', fields);
    else logger.info('ipn', fields);
    // Only what Digistore24 signed is kept in the inbound log: anyone can send a refused one, and
    // storing those would let them grow the table (the log line above says why it was refused).
    const signed = outcome.signature !== undefined;
    await Promise.all([signed ? keepInbound(options.inbound, ipnEntry(outcome, { receivedAt: now.toISOString(), requestId: reqId })) : undefined, publish(ipnMetrics(outcome))]);
    // Success is exactly "OK": Digistore24 shows any line after it to the buyer. Refused by the
    // cap: nothing was kept, so Digistore24 must come back after the hour.
    if (outcome.httpStatus === 200) return exactText(200, IPN_OK);
    return text(outcome.httpStatus, outcome.message, outcome.retryAfterSeconds !== undefined ? { 'retry-after': String(outcome.retryAfterSeconds) } : {});
  };
  return withDeadline(HANDLER_DEADLINE_MS.ipn, handle);
}

const build = () => createIpnHandler(ipnDepsFromEnv(), { originSecret: originSecretFromEnv(), ...inboundFromEnv() });

// In Lambda the dependencies are built during the init phase (module load), which runs at full
// CPU before the first request; anywhere else (tests, the local server) only on first use.
let built: ReturnType<typeof createIpnHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? build() : undefined;

/** Lambda entry point. */
export const handler = async (event: HttpEvent, context?: InvocationContext): Promise<HttpResult> => {
  built ??= build();
  return built(event, context);
};
