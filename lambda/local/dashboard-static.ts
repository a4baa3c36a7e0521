/**
 * The dashboard on `npm start`: its built files under /dashboard/ (scripts/build-dashboard.ts),
 * with the headers CloudFront gives them in AWS (lib/dashboard-site.ts): the strict Content
 * Security Policy, hashed assets cached for a year, the page itself never cached, and every
 * other /dashboard/ path answered with the page (so a reload of any view works). And the one
 * local defence the login replaces: only a request whose Host is this server's own
 * (127.0.0.1:PORT or localhost:PORT) is answered, so a web page cannot reach the data through
 * DNS rebinding.
 */
import { readFileSync, existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize, sep } from 'node:path';
import { DASHBOARD_PATH, dashboardCsp } from '../contract';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/** The Hosts a local request may name: this server's own address on its port. */
export function localHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

export function hostAllowed(req: IncomingMessage, port: number): boolean {
  const host = (req.headers.host ?? '').toLowerCase();
  return localHosts(port).includes(host);
}

export function refuseHost(res: ServerResponse, port: number): void {
  const body = `Forbidden: the local dashboard and its API answer only on http://127.0.0.1:${port} or http://localhost:${port} (Host header), never under another name.\n`;
  res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Security headers of every dashboard file (as the CloudFront response headers policy sets them). */
export function pageHeaders(): Record<string, string> {
  return {
    'content-security-policy': dashboardCsp(),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

/** The local config the page reads first: no login here (the page says so). */
export const LOCAL_PAGE_CONFIG = { auth: 'none' } as const;

/** Serves one /dashboard request from `dir`; false when the path is not the dashboard's. */
export function serveDashboard(req: IncomingMessage, res: ServerResponse, dir: string): boolean {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === DASHBOARD_PATH.slice(0, -1)) {
    res.writeHead(301, { location: DASHBOARD_PATH, 'cache-control': 'no-store', 'content-length': 0 });
    res.end();
    return true;
  }
  if (!path.startsWith(DASHBOARD_PATH)) return false;
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
    res.end();
    return true;
  }
  const rest = path.slice(DASHBOARD_PATH.length);
  const send = (status: number, type: string, body: Buffer, cache: string) => {
    res.writeHead(status, { ...pageHeaders(), 'content-type': type, 'cache-control': cache, 'content-length': body.length });
    res.end(method === 'HEAD' ? undefined : body);
  };
  if (rest === 'config.json') {
    send(200, TYPES['.json'] ?? '', Buffer.from(JSON.stringify(LOCAL_PAGE_CONFIG)), 'no-store');
    return true;
  }
  if (rest.startsWith('assets/') && /^assets\/[A-Za-z0-9._-]+$/.test(rest)) {
    const file = normalize(join(dir, rest));
    if (file.startsWith(`${normalize(dir)}${sep}`) && existsSync(file)) {
      const ext = file.slice(file.lastIndexOf('.'));
      send(200, TYPES[ext] ?? 'application/octet-stream', readFileSync(file), 'public, max-age=31536000, immutable');
      return true;
    }
    send(404, 'text/plain; charset=utf-8', Buffer.from('Not Found\n'), 'no-store');
    return true;
  }
  // Any other path is a view of the page (query routing): the page, never cached.
  const index = join(dir, 'index.html');
  if (!existsSync(index)) {
    send(503, 'text/plain; charset=utf-8', Buffer.from('The dashboard is not built: npm run build:dashboard\n'), 'no-store');
    return true;
  }
  send(200, TYPES['.html'] ?? '', readFileSync(index), 'no-cache');
  return true;
}
