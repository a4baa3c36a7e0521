/**
 * GET|HEAD /t.js: the direct-tracking script for landers (web/t.ts, built into
 * lambda/static/tracker-script.ts). The same text for everyone, so it is the one answer the
 * tracker lets be cached: by browsers and by CloudFront (its own behaviour) for
 * SCRIPT_MAX_AGE_SECONDS. No table, no queue, no secret: this function has no grants.
 */
import { createHash } from 'node:crypto';
import { logger } from '../logger';
import { publish, refusalMetrics } from '../metrics';
import { TRACKER_SCRIPT } from '../static/tracker-script';
import { FORBIDDEN_ORIGIN, fromTrustedOrigin, header, requestId, text, type HttpEvent, type HttpResult } from './http';
import { ENV, HANDLER_DEADLINE_MS } from '../contract';
import { withDeadline, type InvocationContext } from './deadline';

/** How long browsers and CloudFront may keep t.js: a deploy reaches every lander within this time. */
export const SCRIPT_MAX_AGE_SECONDS = 300;

const ETAG = `"${createHash('sha256').update(TRACKER_SCRIPT).digest('base64url').slice(0, 22)}"`;

export interface ScriptHandlerOptions {
  originSecret?: string;
}

export function createScriptHandler(options: ScriptHandlerOptions = {}) {
  const handle = async (event: HttpEvent): Promise<HttpResult> => {
    if (!fromTrustedOrigin(event, options.originSecret)) {
      logger.warn('script refused', { requestId: requestId(event), outcome: 'forbidden', reason: 'origin_verify_failed' });
      await publish(refusalMetrics('origin_verify_failed'));
      return text(403, FORBIDDEN_ORIGIN);
    }
    const headers = {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': `public, max-age=${SCRIPT_MAX_AGE_SECONDS}`,
      etag: ETAG,
      // Landers on other sites load it (also under Cross-Origin-Embedder-Policy).
      'cross-origin-resource-policy': 'cross-origin',
      'x-content-type-options': 'nosniff',
    };
    const method = event.requestContext?.http?.method ?? 'GET';
    if (header(event, 'if-none-match') === ETAG) return { statusCode: 304, headers, body: '' };
    return { statusCode: 200, headers, body: method === 'HEAD' ? '' : TRACKER_SCRIPT };
  };
  // No outside call but the refusal's metric line: the deadline is the pattern, and a backstop.
  return withDeadline(HANDLER_DEADLINE_MS.script, handle);
}

// No DynamoDB client or config in this bundle: only the origin secret from the environment.
const fromEnv = () => createScriptHandler({ originSecret: process.env[ENV.originVerifySecret] || undefined });
let built: ReturnType<typeof createScriptHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? fromEnv() : undefined;

/** Lambda entry point. */
export const handler = async (event: HttpEvent, context?: InvocationContext): Promise<HttpResult> => {
  built ??= fromEnv();
  return built(event, context);
};
