/**
 * POST /ipn/digistore24: thin handler over core/ipn. Plain-text answers; `OK` first whenever
 * Digistore24 should not retry.
 */
import { handleIpn, type IpnDeps, type IpnOutcome } from '../core/ipn';
import { logger } from '../logger';
import { ipnEntry, refusedEntry } from '../core/inbound';
import { ipnMetrics, publish } from '../metrics';
import { keepInbound, type InboundSink } from './inbound';
import { FORBIDDEN_ORIGIN, fromTrustedOrigin, requestId, text, toRawRequest, type HttpEvent, type HttpResult } from './http';
import { inboundFromEnv, ipnDepsFromEnv, originSecretFromEnv } from './runtime';
import { HANDLER_DEADLINE_MS } from '../contract';
import { withDeadline, type InvocationContext } from './deadline';

export interface IpnHandlerOptions {
  originSecret?: string;
  now?: () => Date;
  inbound?: InboundSink;
}

export function createIpnHandler(deps: IpnDeps | undefined, options: IpnHandlerOptions = {}) {
  const handle = async (event: HttpEvent): Promise<HttpResult> => {
    const reqId = requestId(event);
    const now = (options.now ?? (() => new Date()))();
    if (!fromTrustedOrigin(event, options.originSecret)) {
      logger.warn('ipn refused', { requestId: reqId, outcome: 'forbidden', reason: 'origin_verify_failed' });
      await keepInbound(
        options.inbound,
        refusedEntry({ receivedAt: now.toISOString(), requestId: reqId, channel: 'ipn', query: '', httpStatus: 403, reason: 'origin_verify_failed', answer: FORBIDDEN_ORIGIN }),
      );
      return text(403, FORBIDDEN_ORIGIN);
    }
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
