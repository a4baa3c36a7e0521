/**
 * GET|HEAD /click/{campaignId}: thin handler over core/click — a redirect, or with
 * `format=json` the same click as JSON for /t.js (CORS for the landers' origins). Built once per
 * process by `handler` (Lambda, from the environment) or by `createClickHandler` (local server
 * and tests).
 */
import { handleClick, type ClickDeps, type ClickOutcome } from '../core/click';
import { quote } from '../core/quote';
import { logger } from '../logger';
import { clickMetrics, publish } from '../metrics';
import { FORBIDDEN_ORIGIN, PREFETCH_ANSWER, fromTrustedOrigin, header, json, redirect, requestId, text, toRawRequest, viewerIp, withoutBody, type HttpEvent, type HttpResult } from './http';
import { clickDepsFromEnv, originSecretFromEnv } from './runtime';
import { HANDLER_DEADLINE_MS } from '../contract';
import { withDeadline, type InvocationContext } from './deadline';

export interface ClickHandlerOptions {
  originSecret?: string;
  now?: () => Date;
}

/** CORS for the JSON click: the allowed Origin reflected (never with credentials), and always Vary: Origin. */
function corsHeaders(outcome: { allowOrigin?: string }): Record<string, string> {
  return { vary: 'Origin', ...(outcome.allowOrigin !== undefined ? { 'access-control-allow-origin': outcome.allowOrigin } : {}) };
}

function answer(outcome: ClickOutcome, campaignId: string): HttpResult {
  switch (outcome.kind) {
    case 'prefetch':
      // Not stored anywhere (no-store), so the navigation that follows reaches us and is the click.
      return text(503, PREFETCH_ANSWER);
    case 'origin_refused':
      return json(
        403,
        { error: `Forbidden: pages on ${quote(outcome.origin, 100)} may not create clicks; add the origin to corsOrigins or use a configured lander` },
        { vary: 'Origin' },
      );
    case 'not_found': {
      const message = `${outcome.message}: "${quote(campaignId, 64)}" is not a campaign of this tracker`;
      return outcome.json ? json(404, { error: message }, corsHeaders(outcome)) : text(404, message);
    }
    case 'redirect': {
      if (!outcome.json) return redirect(outcome.location);
      const { click } = outcome;
      return json(200, { clickid: click.clickId, campaignId: click.campaignId, redirectUrl: outcome.location, bot: click.bot === true }, corsHeaders(outcome));
    }
  }
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
    const request = toRawRequest(event);
    const outcome = await handleClick(
      {
        campaignId,
        request,
        userAgent: header(event, 'user-agent'),
        referer: header(event, 'referer'),
        country: header(event, 'cloudfront-viewer-country'),
        ip: viewerIp(event),
        purpose: header(event, 'sec-purpose'),
        origin: header(event, 'origin'),
        now: (options.now ?? (() => new Date()))(),
      },
      deps,
    );
    await publish(clickMetrics(outcome));
    if (outcome.kind === 'not_found') {
      logger.info('click refused', { requestId: reqId, outcome: 'not_found', campaignId: quote(campaignId, 64) });
    } else if (outcome.kind === 'origin_refused') {
      logger.warn('click refused', { requestId: reqId, outcome: 'forbidden', reason: 'origin_not_allowed', origin: quote(outcome.origin, 100), campaignId: quote(campaignId, 64) });
    } else if (outcome.kind === 'prefetch') {
      logger.debug('click prefetch not served', { requestId: reqId, campaignId: quote(campaignId, 64) });
    } else {
      const { click } = outcome;
      // A stored click is in DynamoDB already: its log line is DEBUG, so the per-click log bytes
      // (a line in the cost per million clicks) stay small. Queued or lost clicks are logged by
      // the core at WARN/ERROR.
      logger.debug('click', {
        requestId: reqId,
        clickId: click.clickId,
        campaignId: click.campaignId,
        offerId: click.offerId,
        landerId: click.landerId,
        bot: click.botReason,
        json: outcome.json === true,
        outcome: outcome.stored,
      });
    }
    const result = answer(outcome, campaignId);
    return request.method === 'HEAD' ? withoutBody(result) : result;
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
