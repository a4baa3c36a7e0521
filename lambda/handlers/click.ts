/**
 * GET /click/{campaignId}: thin handler over core/click. Built once per process by `handler`
 * (Lambda, from the environment) or by `createClickHandler` (local server and tests).
 */
import { handleClick, type ClickDeps } from '../core/click';
import { quote } from '../core/quote';
import { logger } from '../logger';
import { clickMetrics, publish } from '../metrics';
import { FORBIDDEN_ORIGIN, fromTrustedOrigin, header, redirect, requestId, text, toRawRequest, viewerIp, type HttpEvent, type HttpResult } from './http';
import { clickDepsFromEnv, originSecretFromEnv } from './runtime';
import { HANDLER_DEADLINE_MS } from '../contract';
import { withDeadline, type InvocationContext } from './deadline';

export interface ClickHandlerOptions {
  originSecret?: string;
  now?: () => Date;
}

export function createClickHandler(deps: ClickDeps, options: ClickHandlerOptions = {}) {
  const handle = async (event: HttpEvent): Promise<HttpResult> => {
    const reqId = requestId(event);
    if (!fromTrustedOrigin(event, options.originSecret)) {
      // Not through CloudFront (the raw execute-api URL): one log line, nothing written anywhere.
      logger.warn('click refused', { requestId: reqId, outcome: 'forbidden', httpStatus: 403, reason: 'origin_verify_failed' });
      return text(403, FORBIDDEN_ORIGIN);
    }
    const campaignId = event.pathParameters?.campaignId ?? '';
    const outcome = await handleClick(
      {
        campaignId,
        request: toRawRequest(event),
        userAgent: header(event, 'user-agent'),
        referer: header(event, 'referer'),
        country: header(event, 'cloudfront-viewer-country'),
        ip: viewerIp(event),
        now: (options.now ?? (() => new Date()))(),
      },
      deps,
    );
    await publish(clickMetrics(outcome));
    if (outcome.kind === 'not_found') {
      logger.info('click refused', { requestId: reqId, outcome: 'not_found', campaignId: quote(campaignId, 64) });
      return text(404, `${outcome.message}: "${quote(campaignId, 64)}" is not a campaign of this tracker`);
    }
    const { click } = outcome;
    // A stored click is in DynamoDB already: its log line is DEBUG, so the per-click log bytes
    // (a line in the cost per million clicks) stay small. Queued or lost clicks are logged by
    // the core at WARN/ERROR.
    logger.debug('click', {
      requestId: reqId,
      clickId: click.clickId,
      campaignId: click.campaignId,
      offerId: click.offerId,
      outcome: outcome.stored,
    });
    return redirect(outcome.location);
  };
  return withDeadline(HANDLER_DEADLINE_MS.click, handle);
}

const build = () => createClickHandler(clickDepsFromEnv(), { originSecret: originSecretFromEnv() });

// In Lambda the dependencies are built during the init phase (module load), which runs at full
// CPU before the first request; anywhere else (tests, the local server) only on first use.
let built: ReturnType<typeof createClickHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? build() : undefined;

/** Lambda entry point. */
export const handler = async (event: HttpEvent, context?: InvocationContext): Promise<HttpResult> => {
  built ??= build();
  return built(event, context);
};
