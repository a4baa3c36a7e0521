/**
 * Local HTTP stand-ins for the three conversion APIs and Google's OAuth token endpoint, on
 * loopback. Each checks a request exactly as the platform documents it — path, method, auth,
 * every field and its format — and answers like the platform: a request that breaks a rule gets
 * the platform's own error shape and the rule is recorded in `violations` (tests expect none).
 * Tests script answers with `next` (a queue of answers per platform).
 *
 * Sources: developers.facebook.com/docs/marketing-api/conversions-api (using-the-api,
 * parameters/server-event, customer-information-parameters, fbp-and-fbc); TikTok Events API 1.3
 * (event/track, web); developers.google.com/google-ads/api (upload-clicks, ClickConversion v26,
 * UploadClickConversionsResponse, partial failures; OAuth 2.0 token endpoint).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const TOKENS = {
  meta: 'meta-token-EAAB123secret',
  tiktok: 'tiktok-token-abc123secret',
  googleDeveloper: 'google-dev-token-XYZ',
  googleClientId: 'client-123.apps.googleusercontent.com',
  googleClientSecret: 'google-client-secret-shh',
  googleRefresh: '1//google-refresh-token',
} as const;

export const META_PIXEL = '123456789012345';
export const TIKTOK_PIXEL = 'C4ABCDEF12345678';
export const GOOGLE_CUSTOMER = '1234567890';
export const GOOGLE_LOGIN_CUSTOMER = '9876543210';

export interface Received {
  platform: 'meta' | 'tiktok' | 'google-ads' | 'oauth';
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: unknown;
}

export interface Answer {
  status: number;
  body: unknown;
  /**
   * Answer only after this many ms: the request is taken (recorded, and for Google its rows
   * counted as uploaded) but a client with a shorter timeout never hears it — the lost answer.
   */
  delayMs?: number;
}

type Platform = Received['platform'];

const SHA256 = /^[0-9a-f]{64}$/;
const ISO_CURRENCY = /^[A-Z]{3}$/;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export class PlatformStandIns {
  readonly received: Received[] = [];
  readonly violations: string[] = [];
  /** Scripted answers per platform, taken in order; afterwards the platform's success answer. */
  readonly next: Record<Platform, Answer[]> = { meta: [], tiktok: [], 'google-ads': [], oauth: [] };
  /** Delays of the next answers per platform, taken in order (a lost answer: see Answer.delayMs). */
  readonly delays: Record<Platform, number[]> = { meta: [], tiktok: [], 'google-ads': [], oauth: [] };
  /** Access tokens the OAuth stand-in has issued (the latest is the valid one). */
  readonly issued: string[] = [];
  /** Seconds an issued access token lives. */
  tokenLifetime = 3600;
  /** Google rows to answer with a per-row error: index -> [error code enum field, value, message]. */
  googleRowErrors: ((row: Record<string, unknown>, index: number) => [string, string, string] | undefined) | undefined;
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void (async () => {
        const raw = await readBody(req);
        const url = new URL(req.url ?? '/', 'http://stand-in');
        const answer = this.handle(req, url, raw);
        if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      })();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  reset(): void {
    this.received.length = 0;
    this.violations.length = 0;
    for (const k of Object.keys(this.next) as Platform[]) {
      this.next[k] = [];
      this.delays[k] = [];
    }
    this.googleRowErrors = undefined;
  }

  of(platform: Platform): Received[] {
    return this.received.filter((r) => r.platform === platform);
  }

  private violation(platform: Platform, rule: string): void {
    this.violations.push(`${platform}: ${rule}`);
  }

  private handle(req: IncomingMessage, url: URL, raw: string): Answer {
    const path = url.pathname;
    let platform: Platform | undefined;
    if (/^\/v\d+\.\d\/\d+\/events$/.test(path)) platform = 'meta';
    else if (/^\/open_api\/v\d+\.\d+\/event\/track\/$/.test(path)) platform = 'tiktok';
    else if (/^\/v\d+\/customers\/\d+:uploadClickConversions$/.test(path)) platform = 'google-ads';
    else if (path === '/token') platform = 'oauth';
    if (!platform) {
      this.violations.push(`unknown path ${req.method ?? ''} ${path}`);
      return { status: 404, body: { error: 'not found' } };
    }
    let body: unknown;
    try {
      body = platform === 'oauth' ? Object.fromEntries(new URLSearchParams(raw)) : JSON.parse(raw);
    } catch {
      body = undefined;
    }
    this.received.push({ platform, method: req.method ?? '', path, query: url.search, headers: req.headers, raw, body });
    if (req.method !== 'POST') this.violation(platform, `method ${req.method ?? ''} instead of POST`);
    for (const t of Object.values(TOKENS)) {
      if (url.search.includes(encodeURIComponent(t)) || url.search.includes(t)) this.violation(platform, 'a token in the URL');
    }
    const scripted = this.next[platform].shift();
    const delayMs = this.delays[platform].shift();
    const answer = ((): Answer => {
      switch (platform) {
        case 'meta':
          return this.meta(req, path, body, scripted);
        case 'tiktok':
          return this.tiktok(req, body, scripted);
        case 'google-ads':
          return this.google(req, path, body, scripted);
        case 'oauth':
          return this.oauth(req, body as Record<string, string> | undefined, scripted);
      }
    })();
    return delayMs !== undefined ? { ...answer, delayMs } : answer;
  }

  /** Meta: POST /{version}/{pixel}/events, token in the body (`access_token`) or `Authorization: Bearer`. */
  private meta(req: IncomingMessage, path: string, body: unknown, scripted: Answer | undefined): Answer {
    const v = (rule: string) => this.violation('meta', rule);
    if (!path.endsWith(`/${META_PIXEL}/events`)) v(`pixel id in the path: ${path}`);
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) v('content-type is not application/json');
    const b = (body ?? {}) as Record<string, unknown>;
    const auth = req.headers.authorization;
    if (b.access_token !== TOKENS.meta && auth !== `Bearer ${TOKENS.meta}`) {
      v('no valid access token (body access_token or Authorization: Bearer)');
      return { status: 400, body: { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190, fbtrace_id: 'AbC' } } };
    }
    if (!Array.isArray(b.data) || b.data.length < 1 || b.data.length > 1000) v('data must be an array of 1..1000 events');
    const now = Math.floor(Date.now() / 1000);
    for (const [i, raw] of (Array.isArray(b.data) ? b.data : []).entries()) {
      const e = raw as Record<string, unknown>;
      const at = (rule: string) => v(`data[${i}] ${rule}`);
      if (typeof e.event_name !== 'string' || e.event_name === '') at('event_name missing');
      if (typeof e.event_time !== 'number' || !Number.isInteger(e.event_time)) at('event_time must be Unix seconds (an integer)');
      else if (now - e.event_time > 7 * 86400) {
        // Meta: one event older than 7 days fails the whole request.
        return { status: 400, body: { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100, error_subcode: 2804003, error_user_msg: 'event_time too old', fbtrace_id: 'AbC' } } };
      } else if (e.event_time - now > 60) at('event_time in the future');
      if (e.action_source !== 'website') at('action_source must be website');
      if (typeof e.event_id !== 'string' || e.event_id === '') at('event_id missing');
      if (typeof e.event_source_url !== 'string' || !/^https?:\/\//.test(e.event_source_url)) at('event_source_url (required for website events) missing or not a URL');
      const u = (e.user_data ?? {}) as Record<string, unknown>;
      if (typeof u.client_user_agent !== 'string' || u.client_user_agent === '') at('user_data.client_user_agent is required for website events');
      if (u.fbc !== undefined && !/^fb\.[0-2]\.\d{13}\..+$/.test(String(u.fbc))) at(`user_data.fbc must be fb.<subdomain index>.<creation ms>.<fbclid>, got ${String(u.fbc)}`);
      if (u.client_ip_address !== undefined && !/^[0-9a-f.:]+$/i.test(String(u.client_ip_address))) at('user_data.client_ip_address is not an address (it is sent unhashed)');
      for (const k of ['em', 'ph'] as const) {
        if (u[k] === undefined) continue;
        const values = Array.isArray(u[k]) ? (u[k] as unknown[]) : [u[k]];
        if (!values.every((x) => typeof x === 'string' && SHA256.test(x))) at(`user_data.${k} must be SHA-256 hex`);
      }
      const c = (e.custom_data ?? {}) as Record<string, unknown>;
      if (c.value !== undefined && typeof c.value !== 'number') at('custom_data.value must be a number');
      if (c.value !== undefined && (typeof c.currency !== 'string' || !ISO_CURRENCY.test(c.currency))) at('custom_data.currency must be an ISO 4217 code with value');
    }
    if (scripted) return scripted;
    return { status: 200, body: { events_received: Array.isArray(b.data) ? b.data.length : 0, messages: [], fbtrace_id: 'AxYz' } };
  }

  /** TikTok: POST /open_api/v1.3/event/track/ with `Access-Token`; errors are HTTP 200 with a non-zero code. */
  private tiktok(req: IncomingMessage, body: unknown, scripted: Answer | undefined): Answer {
    const v = (rule: string) => this.violation('tiktok', rule);
    if (req.headers['access-token'] !== TOKENS.tiktok) {
      v('no valid Access-Token header');
      return { status: 200, body: { code: 40105, message: 'Access token is incorrect or has been revoked.', request_id: 'r1', data: {} } };
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) v('content-type is not application/json');
    const b = (body ?? {}) as Record<string, unknown>;
    if (b.event_source !== 'web') v('event_source must be web');
    if (b.event_source_id !== TIKTOK_PIXEL) v(`event_source_id must be the pixel code, got ${String(b.event_source_id)}`);
    if (!Array.isArray(b.data) || b.data.length < 1) v('data must be a non-empty array');
    for (const [i, raw] of (Array.isArray(b.data) ? b.data : []).entries()) {
      const e = raw as Record<string, unknown>;
      const at = (rule: string) => v(`data[${i}] ${rule}`);
      if (typeof e.event !== 'string' || e.event === '') at('event missing');
      if (typeof e.event_time !== 'number' || !Number.isInteger(e.event_time)) at('event_time must be Unix seconds');
      if (typeof e.event_id !== 'string' || e.event_id === '') at('event_id missing');
      const u = (e.user ?? {}) as Record<string, unknown>;
      if (typeof u.ttclid !== 'string' || u.ttclid === '') at('user.ttclid missing');
      for (const k of ['email', 'phone'] as const) if (u[k] !== undefined && !(typeof u[k] === 'string' && SHA256.test(u[k]))) at(`user.${k} must be SHA-256 hex`);
      const p = (e.properties ?? {}) as Record<string, unknown>;
      if (typeof p.value !== 'number') at('properties.value must be a number');
      if (typeof p.currency !== 'string' || !ISO_CURRENCY.test(p.currency)) at('properties.currency must be ISO 4217');
      const page = (e.page ?? {}) as Record<string, unknown>;
      if (page.url !== undefined && !/^https?:\/\//.test(String(page.url))) at('page.url is not a URL');
    }
    if (scripted) return scripted;
    return { status: 200, body: { code: 0, message: 'OK', request_id: 'req-123', data: {} } };
  }

  /** Google Ads: POST /{version}/customers/{id}:uploadClickConversions, Bearer + developer-token (+ login-customer-id). */
  private google(req: IncomingMessage, path: string, body: unknown, scripted: Answer | undefined): Answer {
    const v = (rule: string) => this.violation('google-ads', rule);
    const auth = String(req.headers.authorization ?? '');
    const latest = this.issued[this.issued.length - 1];
    if (!auth.startsWith('Bearer ') || auth.slice(7) !== latest) {
      return {
        status: 401,
        body: { error: { code: 401, message: 'Request is missing required authentication credential.', status: 'UNAUTHENTICATED', details: [{ '@type': 'type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure', errors: [{ errorCode: { authenticationError: 'OAUTH_TOKEN_INVALID' }, message: 'Invalid OAuth token' }] }] } },
      };
    }
    if (req.headers['developer-token'] !== TOKENS.googleDeveloper) v('developer-token header missing or wrong');
    if (!path.includes(`/customers/${GOOGLE_CUSTOMER}:`)) v(`customer id in the path (digits only): ${path}`);
    const b = (body ?? {}) as Record<string, unknown>;
    if (b.partialFailure !== true) v('partialFailure must be true');
    const rows = Array.isArray(b.conversions) ? (b.conversions as Record<string, unknown>[]) : [];
    if (rows.length < 1 || rows.length > 2000) v(`conversions must hold 1..2000 rows, got ${rows.length}`);
    const errors: unknown[] = [];
    rows.forEach((row, i) => {
      const at = (rule: string) => v(`conversions[${i}] ${rule}`);
      const ids = ['gclid', 'gbraid', 'wbraid'].filter((k) => row[k] !== undefined);
      if (ids.length !== 1) at(`exactly one of gclid, gbraid, wbraid, got ${ids.join(',') || 'none'}`);
      if (typeof row.conversionAction !== 'string' || !/^customers\/\d+\/conversionActions\/\d+$/.test(row.conversionAction)) at('conversionAction must be a resource name');
      if (typeof row.conversionDateTime !== 'string' || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/.test(row.conversionDateTime)) at(`conversionDateTime must be yyyy-mm-dd hh:mm:ss+hh:mm, got ${String(row.conversionDateTime)}`);
      if (typeof row.conversionValue !== 'number') at('conversionValue must be a number');
      if (typeof row.currencyCode !== 'string' || !ISO_CURRENCY.test(row.currencyCode)) at('currencyCode must be ISO 4217');
      if (typeof row.orderId !== 'string' || row.orderId === '') at('orderId missing (re-uploads are idempotent only with it)');
      const error = this.googleRowErrors?.(row, i);
      if (error) errors.push({ errorCode: { [error[0]]: error[1] }, message: error[2], trigger: { stringValue: String(row.orderId) }, location: { fieldPathElements: [{ fieldName: 'conversions', index: i }] } });
    });
    if (scripted) return scripted;
    return {
      status: 200,
      body: {
        results: rows.map((row, i) => (errors.some((e) => (e as { location: { fieldPathElements: { index: number }[] } }).location.fieldPathElements[0]?.index === i) ? {} : { gclid: row.gclid, conversionAction: row.conversionAction, conversionDateTime: row.conversionDateTime })),
        ...(errors.length > 0
          ? { partialFailureError: { code: 3, message: 'Partial failure.', details: [{ '@type': 'type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure', errors, requestId: 'rq1' }] } }
          : {}),
        jobId: '123456',
      },
    };
  }

  /** Google's OAuth token endpoint: form-encoded refresh_token grant. */
  private oauth(req: IncomingMessage, body: Record<string, string> | undefined, scripted: Answer | undefined): Answer {
    const v = (rule: string) => this.violation('oauth', rule);
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) v('content-type is not application/x-www-form-urlencoded');
    if (body?.grant_type !== 'refresh_token') v('grant_type must be refresh_token');
    if (scripted) return scripted;
    if (body?.client_id !== TOKENS.googleClientId || body.client_secret !== TOKENS.googleClientSecret || body.refresh_token !== TOKENS.googleRefresh) {
      return { status: 400, body: { error: 'invalid_grant', error_description: 'Bad Request' } };
    }
    const token = `ya29.access-${this.issued.length + 1}`;
    this.issued.push(token);
    return { status: 200, body: { access_token: token, expires_in: this.tokenLifetime, token_type: 'Bearer', scope: 'https://www.googleapis.com/auth/adwords' } };
  }
}

/** The environment the tokens are read from locally (the config names these variables). */
export const STAND_IN_ENV: Record<string, string> = {
  META_TOKEN: TOKENS.meta,
  TIKTOK_TOKEN: TOKENS.tiktok,
  GADS_DEV_TOKEN: TOKENS.googleDeveloper,
  GADS_CLIENT_SECRET: TOKENS.googleClientSecret,
  GADS_REFRESH_TOKEN: TOKENS.googleRefresh,
};

/** The three conversion API channels pointed at the stand-ins. */
export function standInChannels(base: string) {
  return [
    { id: 'meta', name: 'Meta', clickIdParam: 'fbclid', conversionApi: { platform: 'meta' as const, pixelId: META_PIXEL, accessToken: { env: 'META_TOKEN' }, testEventCode: 'TEST123', apiBaseUrl: base } },
    { id: 'tiktok', name: 'TikTok', clickIdParam: 'ttclid', conversionApi: { platform: 'tiktok' as const, pixelCode: TIKTOK_PIXEL, accessToken: { env: 'TIKTOK_TOKEN' }, apiBaseUrl: base } },
    {
      id: 'google',
      name: 'Google',
      clickIdParam: ['gclid', 'gbraid', 'wbraid'],
      conversionApi: {
        platform: 'google-ads' as const,
        customerId: '123-456-7890',
        loginCustomerId: '987-654-3210',
        developerToken: { env: 'GADS_DEV_TOKEN' },
        clientId: TOKENS.googleClientId,
        clientSecret: { env: 'GADS_CLIENT_SECRET' },
        refreshToken: { env: 'GADS_REFRESH_TOKEN' },
        apiBaseUrl: base,
        tokenUrl: `${base}/token`,
      },
    },
  ];
}
