/**
 * GET /api/report, /api/inbound, /api/trace/{clickId}, /api/dlq, /api/setup, /api/alerts: thin handler over
 * core/dashboard-api. In AWS API Gateway's JWT authorizer (the Cognito user pool) has already
 * refused every request without a valid token before this runs; the origin secret proves the
 * request came through CloudFront. Locally the server checks the Host instead
 * (lambda/local/server.ts): there is no login.
 */
import { DASHBOARD_API_ROUTES, HANDLER_DEADLINE_MS } from '../contract';
import { withDeadline, type InvocationContext } from './deadline';
import { DASHBOARD_ROUTES, answerDashboard, type DashboardPorts, type DashboardRoute } from '../core/dashboard-api';
import { logger } from '../logger';
import { FORBIDDEN_ORIGIN, fromTrustedOrigin, requestId, text, type HttpEvent, type HttpResult } from './http';
import { dashboardPortsFromEnv } from './dashboard-runtime';
import { originSecretFromEnv } from './runtime';

export interface DashboardApiOptions {
  originSecret?: string;
  now?: () => Date;
}

/** Headers of every API answer: JSON, never cached, never sniffed, no CORS (same origin only). */
export const API_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

/** Which dashboard route an event is for: by its route key (API Gateway and the local router set it). */
export function dashboardRouteOf(event: HttpEvent): DashboardRoute | undefined {
  const key = event.routeKey;
  return DASHBOARD_ROUTES.find((route) => DASHBOARD_API_ROUTES[route] === key);
}

export function createDashboardApiHandler(ports: DashboardPorts, options: DashboardApiOptions = {}) {
  const handle = async (event: HttpEvent): Promise<HttpResult> => {
    const reqId = requestId(event);
    if (!fromTrustedOrigin(event, options.originSecret)) {
      logger.warn('dashboard api refused', { requestId: reqId, outcome: 'forbidden', httpStatus: 403, reason: 'origin_verify_failed' });
      return text(403, FORBIDDEN_ORIGIN);
    }
    const route = dashboardRouteOf(event);
    if (route === undefined) return { statusCode: 404, headers: { ...API_HEADERS }, body: '{"error":"no such API route"}' };
    const params: Record<string, string | undefined> = { ...(event.queryStringParameters ?? {}) };
    if (route === 'trace') params.clickId = event.pathParameters?.clickId;
    const started = Date.now();
    try {
      const answer = await answerDashboard(route, params, ports, (options.now ?? (() => new Date()))());
      logger.info('dashboard api', { requestId: reqId, route, httpStatus: answer.status, ms: Date.now() - started });
      return { statusCode: answer.status, headers: { ...API_HEADERS }, body: answer.json };
    } catch (err) {
      // A read that failed or ran out of time (the deadline aborts every call): say so, no details.
      logger.error('dashboard api failed', { requestId: reqId, route, ms: Date.now() - started, error: (err as Error).message });
      return { statusCode: 503, headers: { ...API_HEADERS }, body: JSON.stringify({ error: 'The data could not be read just now; try again (a long range takes longer).', requestId: reqId }) };
    }
  };
  return withDeadline(HANDLER_DEADLINE_MS.dashboardApi, handle);
}

const build = () => createDashboardApiHandler(dashboardPortsFromEnv(), { originSecret: originSecretFromEnv() });

// Built during the init phase in Lambda; on first use anywhere else.
let built: ReturnType<typeof createDashboardApiHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? build() : undefined;

/** Lambda entry point. */
export const handler = async (event: HttpEvent, context?: InvocationContext): Promise<HttpResult> => {
  built ??= build();
  return built(event, context);
};
