/**
 * GET|HEAD /go: the lander's call to action, a thin handler over core/lander-click. Built once
 * per process by `handler` (Lambda, from the environment) or by `createLanderHandler` (local
 * server and tests).
 */
import { handleLanderClick, type LanderClickDeps, type LanderClickOutcome } from '../core/lander-click';
import { logger } from '../logger';
import { METRIC_NAMES, publish, refusalMetrics, type MetricPoint } from '../metrics';
import { FORBIDDEN_ORIGIN, PREFETCH_ANSWER, fromTrustedOrigin, header, redirect, requestId, text, toRawRequest, viewerIp, withoutBody, type HttpEvent, type HttpResult } from './http';
import { landerDepsFromEnv, originSecretFromEnv } from './runtime';
import { HANDLER_DEADLINE_MS } from '../contract';
import { withDeadline, type InvocationContext } from './deadline';

export interface LanderHandlerOptions {
  originSecret?: string;
  now?: () => Date;
}

export function landerMetrics(outcome: LanderClickOutcome): MetricPoint[] {
  const one = (name: MetricPoint['name']): MetricPoint => ({ name, value: 1, unit: 'Count' });
  switch (outcome.kind) {
    case 'prefetch':
      return [one(METRIC_NAMES.prefetches)];
    case 'rejected':
      return refusalMetrics('invalid_clickid');
    case 'not_found':
      return refusalMetrics('unknown_campaign');
    case 'redirect':
      if (outcome.recorded === 'recorded') return [one(METRIC_NAMES.landerClicks)];
      if (outcome.recorded === 'queued') return [one(outcome.duplicateOf !== undefined ? METRIC_NAMES.deadLetterDuplicates : METRIC_NAMES.landerClicksQueued)];
      if (outcome.recorded === 'capped') return [one(METRIC_NAMES.deadLettersCapped)];
      if (outcome.recorded === 'lost') return [one(METRIC_NAMES.clicksLost)];
      if (outcome.recorded === 'expired') return refusalMetrics('click_expired');
      if (outcome.recorded === 'bot') return [one(METRIC_NAMES.bots)];
      return [];
  }
}

function answer(outcome: LanderClickOutcome): HttpResult {
  switch (outcome.kind) {
    case 'prefetch':
      return text(503, PREFETCH_ANSWER);
    case 'rejected':
      return text(400, `Rejected: ${outcome.message}. Nothing was recorded.`);
    case 'not_found':
      return text(404, outcome.message);
    case 'redirect':
      return redirect(outcome.location);
  }
}

export function createLanderHandler(deps: LanderClickDeps, options: LanderHandlerOptions = {}) {
  const handle = async (event: HttpEvent): Promise<HttpResult> => {
    const reqId = requestId(event);
    if (!fromTrustedOrigin(event, options.originSecret)) {
      // Not through CloudFront (the raw execute-api URL): one log line, nothing written anywhere.
      logger.warn('lander click refused', { requestId: reqId, outcome: 'forbidden', httpStatus: 403, reason: 'origin_verify_failed' });
      await publish(refusalMetrics('origin_verify_failed'));
      return text(403, FORBIDDEN_ORIGIN);
    }
    const request = toRawRequest(event);
    const outcome = await handleLanderClick(
      {
        request,
        userAgent: header(event, 'user-agent'),
        purpose: header(event, 'sec-purpose'),
        ip: viewerIp(event),
        now: (options.now ?? (() => new Date()))(),
      },
      deps,
    );
    await publish(landerMetrics(outcome));
    if (outcome.kind === 'redirect') {
      // Like a click: a recorded lander click is in DynamoDB, so its line is DEBUG; queued or lost
      // ones are logged by the core at WARN/ERROR.
      logger.debug('lander click', { requestId: reqId, clickId: outcome.clickId, campaignId: outcome.campaignId, offerId: outcome.offerId, outcome: outcome.recorded, bot: outcome.bot });
    } else if (outcome.kind === 'prefetch') {
      logger.debug('lander click prefetch not served', { requestId: reqId });
    } else {
      logger.info('lander click refused', { requestId: reqId, outcome: outcome.kind, reason: outcome.kind === 'rejected' ? 'invalid_clickid' : 'unknown_campaign' });
    }
    const result = answer(outcome);
    return request.method === 'HEAD' ? withoutBody(result) : result;
  };
  return withDeadline(HANDLER_DEADLINE_MS.lander, handle);
}

const build = () => createLanderHandler(landerDepsFromEnv(), { originSecret: originSecretFromEnv() });

// Dependencies are built in Lambda's init phase (full CPU), elsewhere on first use.
let built: ReturnType<typeof createLanderHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? build() : undefined;

/** Lambda entry point. */
export const handler = async (event: HttpEvent, context?: InvocationContext): Promise<HttpResult> => {
  built ??= build();
  return built(event, context);
};
