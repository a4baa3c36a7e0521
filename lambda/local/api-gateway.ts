/**
 * A small stand-in for API Gateway HTTP API: routes a Node HTTP request to the same handlers
 * Lambda runs, as a payload 2.0 event, and writes their result back.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpEvent, HttpResult } from '../handlers/http';

export type RouteHandler = (event: HttpEvent) => Promise<HttpResult>;

export interface Route {
  method: string;
  /** `/click/{campaignId}` style pattern. */
  path: string;
  handler: RouteHandler;
}

const MAX_BODY = 256 * 1024;

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? '';
    const g = got[i] ?? '';
    if (w.startsWith('{') && w.endsWith('}')) {
      if (g === '') return undefined;
      try {
        params[w.slice(1, -1)] = decodeURIComponent(g);
      } catch {
        params[w.slice(1, -1)] = g;
      }
    } else if (w !== g) return undefined;
  }
  return params;
}

export interface RouterOptions {
  /**
   * Pass `CloudFront-Viewer-*` headers (viewer address and country) on to the handlers. Off by
   * default: without CloudFront in front, anyone can send them and choose the address an
   * allowlist checks and the country a click records (TRUST_CLOUDFRONT_HEADERS=1 turns it on,
   * e.g. behind a proxy that sets them).
   */
  trustCloudFrontHeaders?: boolean;
}

export function toEvent(req: IncomingMessage, body: Buffer, route: Route, pathParameters: Record<string, string>, options: RouterOptions = {}): HttpEvent {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQueryString = q === -1 ? '' : url.slice(q + 1);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    const lower = name.toLowerCase();
    if (lower.startsWith('cloudfront-viewer-') && options.trustCloudFrontHeaders !== true) continue;
    if (value !== undefined) headers[lower] = Array.isArray(value) ? value.join(',') : value;
  }
  const queryStringParameters: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) {
    queryStringParameters[k] = queryStringParameters[k] === undefined ? v : `${queryStringParameters[k]},${v}`;
  }
  const now = new Date();
  const method = (req.method ?? 'GET').toUpperCase();
  return {
    version: '2.0',
    routeKey: `${route.method} ${route.path}`,
    rawPath,
    rawQueryString,
    headers,
    queryStringParameters,
    pathParameters,
    isBase64Encoded: body.length > 0,
    ...(body.length > 0 ? { body: body.toString('base64') } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${route.method} ${route.path}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, result: HttpResult): void {
  const headers: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
  const body = result.body === undefined ? Buffer.alloc(0) : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');
  headers['content-length'] = body.length;
  res.writeHead(result.statusCode ?? 200, headers as Record<string, string>);
  res.end(body);
}

/** A request listener that dispatches to routes, answering like API Gateway when none matches. */
export function router(routes: Route[], onError: (err: unknown) => void, options: RouterOptions = {}) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      try {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const method = (req.method ?? 'GET').toUpperCase();
        for (const route of routes) {
          if (route.method !== method) continue;
          const params = matchPath(route.path, path);
          if (!params) continue;
          const body = await readBody(req);
          if (body === undefined) {
            send(res, { statusCode: 413, headers: { 'content-type': 'application/json' }, body: '{"message":"Request Entity Too Large"}' });
            return;
          }
          send(res, await route.handler(toEvent(req, body, route, params, options)));
          return;
        }
        send(res, { statusCode: 404, headers: { 'content-type': 'application/json' }, body: '{"message":"Not Found"}' });
      } catch (err) {
        onError(err);
        if (!res.headersSent) send(res, { statusCode: 500, headers: { 'content-type': 'application/json' }, body: '{"message":"Internal Server Error"}' });
        else res.destroy();
      }
    })();
  };
}
