import type { HttpEvent } from '../../lambda/handlers/http';
import { DESKTOP_UA } from './browser';

let sequence = 0;

/**
 * An API Gateway HTTP API payload 2.0 event, as CloudFront + API Gateway would send it (each with
 * its own request id), from a desktop browser unless `headers` name another user agent.
 */
export function httpEvent(options: {
  method?: string;
  path: string;
  query?: string;
  body?: string;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  base64?: boolean;
}): HttpEvent {
  const method = options.method ?? 'GET';
  const body = options.body;
  return {
    version: '2.0',
    routeKey: `${method} ${options.path}`,
    rawPath: options.path,
    rawQueryString: options.query ?? '',
    headers: { 'user-agent': DESKTOP_UA, ...(options.headers ?? {}) },
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    isBase64Encoded: options.base64 ?? false,
    ...(body !== undefined ? { body: options.base64 ? Buffer.from(body).toString('base64') : body } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'trk.example.com',
      domainPrefix: 'trk',
      http: { method, path: options.path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.23', userAgent: DESKTOP_UA },
      requestId: `req-${++sequence}`,
      routeKey: `${method} ${options.path}`,
      stage: '$default',
      time: '25/Nov/2026:10:00:00 +0000',
      timeEpoch: 1795600000000,
    },
  };
}
