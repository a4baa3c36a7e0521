/**
 * POST /ipn/digistore24: thin handler over core/ipn. Plain-text answers; `OK` first whenever
 * Digistore24 should not retry.
 */
import { handleIpn, type IpnDeps, type IpnOutcome } from '../core/ipn';
import { logger } from '../logger';
import { ipnEntry } from '../core/inbound';
import { ipnMetrics, publish } from '../metrics';
import { keepInbound, type InboundSink } from './inbound';
import { FORBIDDEN_ORIGIN, fromTrustedOrigin, requestId, text, toRawRequest, type HttpEvent, type HttpResult } from './http';
import { inboundFromEnv, ipnDepsFromEnv, originSecretFromEnv } from './runtime';

export interface IpnHandlerOptions {
  originSecret?: string;
  now?: () => Date;
  inbound?: InboundSink;
}

export function createIpnHandler(deps: IpnDeps | undefined, options: IpnHandlerOptions = {}) {
  return async (event: HttpEvent): Promise<HttpResult> => {
    const reqId = requestId(event);
    // Not through CloudFront (the raw execute-api URL): one log line, nothing written anywhere.
    if (!fromTrustedOrigin(event, options.originSecret)) {
      logger.warn('ipn refused', { requestId: reqId, outcome: 'forbidden', httpStatus: 403, reason: 'origin_verify_failed' });
      return text(403, FORBIDDEN_ORIGIN);
    }
    const now = (options.now ?? (() => new Date()))();
    if (!deps) {
      logger.warn('ipn refused', { requestId: reqId, outcome: 'not_configured' });
      return text(404, 'Not found: this tracker has no digistore24.ipn section in its config.');
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
      results: outcome.results,
    };
    if (outcome.httpStatus >= 500) logger.error('ipn', fields);
    else if (outcome.httpStatus >= 400 || outcome.status === 'queued') logger.warn('ipn', fields);
    else logger.info('ipn', fields);
    await Promise.all([keepInbound(options.inbound, ipnEntry(outcome, { receivedAt: now.toISOString(), requestId: reqId })), publish(ipnMetrics(outcome))]);
    return text(outcome.httpStatus, outcome.message);
  };
}

const build = () => createIpnHandler(ipnDepsFromEnv(), { originSecret: originSecretFromEnv(), ...inboundFromEnv() });

// In Lambda the dependencies are built during the init phase (module load), which runs at full
// CPU before the first request; anywhere else (tests, the local server) only on first use.
let built: ReturnType<typeof createIpnHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? build() : undefined;

/** Lambda entry point. */
export const handler = async (event: HttpEvent): Promise<HttpResult> => {
  built ??= build();
  return built(event);
};
