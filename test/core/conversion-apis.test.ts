/**
 * The pure parts of the conversion APIs: what each platform's answer means, the formats each
 * platform wants, hashing, the sealed address, the send mark, and the config rules.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, parseConfig } from '../../config/schema';
import { digistore24ConversionTypes } from '../../config/digistore24';
import type { ConversionRecord } from '../../lambda/core/model';
import { eventId, normalizeEmail, normalizePhone, sha256, sourceUrl, toJson, jsonDecimal, answerText } from '../../lambda/core/platform-common';
import { googleDateTime, googleOutcomes, googleRow, GoogleTokens } from '../../lambda/core/platform-google-ads';
import { fbcOf, metaOutcome, metaSkipReason } from '../../lambda/core/platform-meta';
import { tiktokOutcome } from '../../lambda/core/platform-tiktok';
import { API_VERSIONS, platformEventFor } from '../../lambda/core/platforms';
import { IpKeyRing, ipReadable, keyDay, keyExpiry, maintainIpKeys, openIp, sealIp, type IpKeyStore } from '../../lambda/core/sealed-ip';
import { sendConfig, sendMark } from '../../lambda/core/send';
import { needsFullIp } from '../../lambda/core/click';
import { compileConfig } from '../../lambda/core/tracker-config';
import { traceSafeClick, traceSafeConversion, traceSafeMessage } from '../../lambda/core/trace';
import type { HttpAnswer, SendClick, SendConversion } from '../../lambda/core/send-model';
import { TEST_PROTECTION } from '../support/config';

const ok = (status: number, body: unknown): HttpAnswer => ({ status, body: JSON.stringify(body) });

describe('what each platform answer means', () => {
  it('Meta: events_received = sent; is_transient and codes 4/17/32/613 = retry; token errors = retry until fixed; the rest = failed', () => {
    expect(metaOutcome(ok(200, { events_received: 1, fbtrace_id: 'A' }), 1, [])).toMatchObject({ kind: 'sent', answer: 'HTTP 200: events_received 1, fbtrace_id A' });
    expect(metaOutcome(ok(200, { events_received: 0 }), 1, [])).toMatchObject({ kind: 'retry' });
    for (const code of [4, 17, 32, 613]) expect(metaOutcome(ok(400, { error: { code, message: 'limit' } }), 1, [])).toMatchObject({ kind: 'retry' });
    expect(metaOutcome(ok(400, { error: { code: 1, is_transient: true, message: 'x' } }), 1, [])).toMatchObject({ kind: 'retry' });
    expect(metaOutcome(ok(503, {}), 1, [])).toMatchObject({ kind: 'retry' });
    expect(metaOutcome(ok(400, { error: { code: 190, type: 'OAuthException', message: 'Error validating access token' } }), 1, [])).toMatchObject({ kind: 'retry', reason: expect.stringContaining('check the access token') });
    expect(metaOutcome(ok(400, { error: { code: 100, message: 'Invalid parameter', error_user_msg: 'bad fbc' } }), 1, [])).toEqual({ kind: 'failed', reason: 'Meta error 100: bad fbc', answer: expect.any(String) });
    expect(metaOutcome({ error: 'no answer within 5000 ms', timedOut: true }, 1, [])).toMatchObject({ kind: 'retry', reason: expect.stringContaining('no answer') });
  });

  it('TikTok: HTTP 200 with a non-zero code is an error; 40100 and 5xxxx are retried', () => {
    expect(tiktokOutcome(ok(200, { code: 0, message: 'OK', request_id: 'r' }), [])).toMatchObject({ kind: 'sent' });
    expect(tiktokOutcome(ok(200, { code: 40002, message: 'bad event_time' }), [])).toEqual({ kind: 'failed', reason: 'TikTok code 40002: bad event_time', answer: expect.any(String) });
    expect(tiktokOutcome(ok(200, { code: 40100, message: 'Too many requests' }), [])).toMatchObject({ kind: 'retry' });
    expect(tiktokOutcome(ok(200, { code: 51000, message: 'internal' }), [])).toMatchObject({ kind: 'retry' });
    expect(tiktokOutcome(ok(200, { code: 40105, message: 'Access token invalid' }), [])).toMatchObject({ kind: 'retry', reason: expect.stringContaining('check the access token') });
    expect(tiktokOutcome(ok(200, { message: 'no code' }), [])).toMatchObject({ kind: 'retry' });
  });

  it('Google: per row from partialFailureError; TOO_RECENT_EVENT = later (6 h after the click); already there = sent; request errors apply to every row', () => {
    const now = new Date('2026-11-26T12:00:00Z');
    const rows = [{ clickCreatedAt: '2026-11-26T11:00:00Z' }, { clickCreatedAt: '2026-11-26T01:00:00Z' }, {}, {}];
    const error = (index: number, code: string) => ({ errorCode: { conversionUploadError: code }, message: code, location: { fieldPathElements: [{ fieldName: 'conversions', index }, { fieldName: 'gclid' }] } });
    const out = googleOutcomes(
      ok(200, { results: [{}, {}, {}, { gclid: 'x' }], partialFailureError: { code: 3, message: 'Partial failure', details: [{ errors: [error(0, 'TOO_RECENT_EVENT'), error(1, 'ORDER_ID_ALREADY_IN_USE'), error(2, 'EXPIRED_EVENT')] }] }, jobId: '7' }),
      rows,
      now,
      [],
    );
    expect(out[0]).toEqual({ kind: 'later', until: new Date('2026-11-26T17:10:00Z'), reason: 'Google Ads TOO_RECENT_EVENT: TOO_RECENT_EVENT' });
    expect(out[1]).toMatchObject({ kind: 'sent', answer: 'HTTP 200: already uploaded (ORDER_ID_ALREADY_IN_USE), jobId 7' });
    expect(out[2]).toMatchObject({ kind: 'failed', reason: 'Google Ads EXPIRED_EVENT: EXPIRED_EVENT' });
    expect(out[3]).toMatchObject({ kind: 'sent', answer: 'HTTP 200: uploaded, jobId 7' });
    expect(googleOutcomes(ok(429, { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota' } }), rows, now, []).every((o) => o.kind === 'retry')).toBe(true);
    expect(googleOutcomes(ok(403, { error: { code: 403, status: 'PERMISSION_DENIED', message: 'DEVELOPER_TOKEN_NOT_APPROVED' } }), rows, now, [])[0]).toMatchObject({ kind: 'retry', reason: expect.stringContaining('developer token') });
    expect(googleOutcomes(ok(400, { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'bad' } }), rows, now, [])[0]).toMatchObject({ kind: 'failed' });
  });

  it('never keeps a secret the platform echoes', () => {
    expect(answerText('token EAAB-secret-123 is invalid', ['EAAB-secret-123'])).toBe('token [secret] is invalid');
    expect(metaOutcome(ok(400, { error: { code: 100, message: 'bad token EAAB-secret-123' } }), 1, ['EAAB-secret-123']).kind === 'failed' && JSON.stringify(metaOutcome(ok(400, { error: { code: 100, message: 'bad token EAAB-secret-123' } }), 1, ['EAAB-secret-123']))).not.toContain('EAAB-secret-123');
  });
});

describe('formats', () => {
  const click: SendClick = { clickId: '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7XXXX', campaignId: 'c', offerId: 'o', channelId: 'm', createdAt: '2026-11-25T10:00:00.123Z', expiresAt: 0, subs: { sub1: 'a b' }, channelClickId: 'IwAR_AbC-xyz' };

  it('fbc: the stored _fbc cookie, else fb.1.<click ms>.<fbclid exactly as received>', () => {
    expect(fbcOf(click)).toBe('fb.1.1795600800123.IwAR_AbC-xyz');
    expect(fbcOf({ ...click, fbc: 'fb.1.1700000000000.FromCookie' })).toBe('fb.1.1700000000000.FromCookie');
    expect(fbcOf({ ...click, channelClickId: undefined } as SendClick)).toBeUndefined();
  });

  it("Meta's 7-day limit (with a margin), and what a website event needs", () => {
    const conversion = { createdAt: '2026-11-18T10:00:00Z' } as SendConversion;
    expect(metaSkipReason({ conversion, click: { ...click, userAgent: 'UA' } }, new Date('2026-11-25T09:55:00Z'))).toContain("older than Meta's 7-day limit");
    expect(metaSkipReason({ conversion, click: { ...click, userAgent: 'UA' } }, new Date('2026-11-25T09:40:00Z'))).toBeUndefined();
    expect(metaSkipReason({ conversion, click }, new Date('2026-11-19T00:00:00Z'))).toContain('client_user_agent');
  });

  it('event_id: <clickid>:<txid>, or <clickid>:<type> without a txid', () => {
    expect(eventId({ clickId: 'C', txid: 'T', type: 'payment' })).toBe('C:T');
    expect(eventId({ clickId: 'C', type: 'lead' })).toBe('C:lead');
  });

  it('normalises e-mail (trim, lower case) and phone (digits with the country code) before hashing', () => {
    expect(normalizeEmail('  Jane.Doe@Example.COM ')).toBe('jane.doe@example.com');
    expect(normalizeEmail('not an email')).toBeUndefined();
    expect(normalizePhone('+49 (170) 123-4567', undefined)).toBe('491701234567');
    expect(normalizePhone('0049 170 1234567', 'AT')).toBe('491701234567');
    expect(normalizePhone('0170 1234567', 'DE')).toBe('491701234567');
    expect(normalizePhone('06 1234 5678', 'IT')).toBe('390612345678');
    expect(normalizePhone('(415) 555-0100', 'US')).toBe('14155550100');
    expect(normalizePhone('0170 1234567', 'XX')).toBeUndefined();
    expect(sha256('jane.doe@example.com')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('writes money as the exact number literal of its decimal text', () => {
    // A float would write 123456789012.12346.
    expect(toJson({ value: jsonDecimal('123456789012.123456'), currency: 'EUR' })).toBe('{"value":123456789012.123456,"currency":"EUR"}');
    expect(toJson({ a: jsonDecimal('47') })).toBe('{"a":47}');
  });

  it('Google: yyyy-mm-dd hh:mm:ss+00:00, after the click, one click id field, orderId', () => {
    expect(googleDateTime('2026-11-25T10:00:05.900Z')).toBe('2026-11-25 10:00:05+00:00');
    const conversion = { clickId: 'C', conversionKey: 'payment|T9', type: 'payment', revenue: '12.3', currency: 'USD', txid: 'T9', channelClickId: 'GB', clickCreatedAt: '2026-11-25T10:00:05.900Z', createdAt: '2026-11-25T10:00:05.950Z' } as SendConversion;
    const { row } = googleRow({ conversion, clickIdParam: 'gbraid', conversionAction: 'customers/1/conversionActions/2' });
    expect(toJson(row)).toBe('{"gbraid":"GB","conversionAction":"customers/1/conversionActions/2","conversionDateTime":"2026-11-25 10:00:06+00:00","conversionValue":12.3,"currencyCode":"USD","orderId":"T9"}');
  });

  it('event_source_url: the lander t.js recorded, else the offer page without its query', () => {
    const offers = new Map([['o', { id: 'o', name: 'O', source: 'custom' as const, url: 'https://shop.example.com/{sub1}/lp?c={clickid}' }]]);
    expect(sourceUrl({ ...click, page: 'https://lander.example/p?x=1' }, offers, 'o')).toBe('https://lander.example/p?x=1');
    expect(sourceUrl(click, offers, 'o')).toBe('https://shop.example.com/a%20b/lp');
    // A lander campaign's click that never went through /go has no offer: its lander's page.
    const landers = new Map([['bridge', { id: 'bridge', name: 'B', url: 'https://lander.example/{sub1}/bridge?c={clickid}' }]]);
    expect(sourceUrl({ ...click, landerId: 'bridge' }, offers, undefined, landers)).toBe('https://lander.example/a%20b/bridge');
    expect(sourceUrl({ ...click, landerId: 'bridge' }, offers, 'o', landers)).toBe('https://shop.example.com/a%20b/lp');
  });

  it('API versions: one constant per platform (checked against the platforms on 2026-11-26)', () => {
    expect(API_VERSIONS).toEqual({ meta: 'v26.0', tiktok: 'v1.3', 'google-ads': 'v26' });
  });
});

describe('the OAuth token cache', () => {
  it('asks once while the token lives, again after it expired or was forgotten', async () => {
    let calls = 0;
    let t = 0;
    const http = { request: async () => ({ status: 200, body: JSON.stringify({ access_token: `tok${++calls}`, expires_in: 3600 }) }) };
    const tokens = new GoogleTokens(http, () => t);
    const creds = { clientId: 'c', clientSecret: 's', refreshToken: 'r' };
    expect(await tokens.accessToken({}, creds, 1000)).toEqual({ token: 'tok1' });
    t = 3_539_000;
    expect(await tokens.accessToken({}, creds, 1000)).toEqual({ token: 'tok1' });
    t = 3_540_001;
    expect(await tokens.accessToken({}, creds, 1000)).toEqual({ token: 'tok2' });
    tokens.forget({}, creds);
    expect(await tokens.accessToken({}, creds, 1000)).toEqual({ token: 'tok3' });
  });
});

describe('the sealed address (crypto-shredding)', () => {
  const key = randomBytes(32);

  it('opens only with its key and for its click; altered text does not open', () => {
    const sealed = sealIp('2001:db8::1', 'CLICK1', '2026-11-25', key);
    expect(sealed).toMatch(/^v1\.2026-11-25\./);
    expect(sealed).not.toContain('2001');
    expect(openIp(sealed, 'CLICK1', key)).toBe('2001:db8::1');
    expect(openIp(sealed, 'CLICK2', key)).toBeUndefined();
    expect(openIp(sealed, 'CLICK1', randomBytes(32))).toBeUndefined();
    const parts = sealed.split('.');
    const data = Buffer.from(parts[3] ?? '', 'base64url');
    data[0] = (data[0] ?? 0) ^ 1;
    expect(openIp([...parts.slice(0, 3), data.toString('base64url')].join('.'), 'CLICK1', key)).toBeUndefined();
  });

  it('is readable for 7 days after the click; a day key lives until its last click is 7 days old', () => {
    expect(ipReadable('2026-11-01T23:59:00Z', new Date('2026-11-08T23:58:59Z'))).toBe(true);
    expect(ipReadable('2026-11-01T23:59:00Z', new Date('2026-11-08T23:59:00Z'))).toBe(false);
    expect(new Date(keyExpiry('2026-11-01')).toISOString()).toBe('2026-11-09T00:00:00.000Z');
    expect(keyDay(new Date('2026-11-01T23:59:59Z'))).toBe('2026-11-01');
  });

  it('makes today and tomorrow a key, deletes the keys whose clicks are all older than 7 days, and never hands out an expired key', async () => {
    const keys = new Map<string, Buffer>();
    const store: IpKeyStore = {
      getKey: async (d) => keys.get(d),
      createKey: async (d, k) => {
        if (!keys.has(d)) keys.set(d, k);
        return keys.get(d) ?? k;
      },
      listKeyDays: async () => [...keys.keys()].sort(),
      deleteKey: async (d) => void keys.delete(d),
    };
    keys.set('2026-10-31', key);
    keys.set('2026-11-01', key);
    keys.set('2026-11-02', key);
    const now = new Date('2026-11-09T00:30:00Z');
    expect(await maintainIpKeys(store, now)).toEqual({ created: ['2026-11-09', '2026-11-10'], deleted: ['2026-10-31', '2026-11-01'] });
    const ring = new IpKeyRing(store);
    expect(await ring.key('2026-11-02', new Date('2026-11-10T00:00:00Z'))).toBeUndefined();
    const sealed = sealIp('198.51.100.9', 'C', '2026-11-02', key);
    expect(await ring.open(sealed, 'C', '2026-11-02T10:00:00Z', new Date('2026-11-09T09:00:00Z'))).toEqual({ ip: '198.51.100.9' });
    expect(await ring.open(sealed, 'C', '2026-11-02T10:00:00Z', new Date('2026-11-09T10:00:01Z'))).toEqual({ unavailable: expect.stringContaining('older than 7 days') });
  });
});

describe('what the CLIs print of stored items', () => {
  it('never the sealed address (only that one is kept) nor a store token; a queued click neither', () => {
    const click = { clickId: 'C', campaignId: 'fb', sealedIp: 'v1.2026-11-25.aaaa.bbbb', userAgent: 'UA' };
    expect(traceSafeClick(click)).toEqual({ clickId: 'C', campaignId: 'fb', userAgent: 'UA', fullAddressKept: true });
    expect(traceSafeClick({ clickId: 'C' })).toEqual({ clickId: 'C' });
    const message = { id: 'M', kind: 'click', click };
    expect(JSON.stringify(traceSafeMessage(message))).not.toContain('sealedIp');
    expect(traceSafeMessage(message).click).toMatchObject({ fullAddressKept: true });
    const plain: { id: string; kind: string; click?: unknown } = { id: 'N', kind: 'postback' };
    expect(traceSafeMessage(plain)).toBe(plain);
    expect(traceSafeConversion({ clickId: 'C', writeToken: 'w', forwardClaimToken: 'f', forwardState: 'sent' })).toEqual({ clickId: 'C', forwardState: 'sent' });
  });
});

describe('which clicks keep their full address', () => {
  const input = (ipStorage: 'full' | 'truncated' | 'none') =>
    compileConfig(
      parseConfig({
        defaults: { ipStorage },
        trafficChannels: [
          { id: 'meta', name: 'M', clickIdParam: 'fbclid', conversionApi: { platform: 'meta', pixelId: '123456', accessToken: { env: 'T' } } },
          { id: 'tt', name: 'T', clickIdParam: 'ttclid', conversionApi: { platform: 'tiktok', pixelCode: 'ABCDEFGH12', accessToken: { env: 'T' } } },
          { id: 'g', name: 'G', clickIdParam: 'gclid', conversionApi: { platform: 'google-ads', customerId: '1234567890', developerToken: { env: 'D' }, clientId: 'c', clientSecret: { env: 'S' }, refreshToken: { env: 'R' } } },
          { id: 'pb', name: 'P', clickIdParam: 'cid', postbackUrl: 'https://x.example/pb?c={clickid}' },
        ],
        offers: [{ id: 'o', name: 'O', source: 'custom', url: 'https://x.example/?c={clickid}' }],
        campaigns: ['meta', 'tt', 'g', 'pb'].map((ch) => ({ id: ch, name: ch, trafficChannel: ch, offers: [{ offer: 'o' }] })),
        conversionTypes: digistore24ConversionTypes,
        postbackProtection: TEST_PROTECTION,
      }),
    );
  const click = (campaignId: string, extra: Record<string, unknown> = {}) =>
    ({ clickId: 'C', campaignId, offerId: 'o', channelId: campaignId, createdAt: '2026-11-25T12:00:00Z', expiresAt: 0, subs: {}, channelClickId: 'X', ...extra }) as ConversionRecord & Parameters<typeof needsFullIp>[0];

  it('only a Meta or TikTok click that carries the click id, where addresses are stored at all, and never a bot', () => {
    const config = input('truncated');
    expect(needsFullIp(click('meta'), config)).toBe(true);
    expect(needsFullIp(click('tt'), config)).toBe(true);
    expect(needsFullIp(click('meta', { channelClickId: undefined }), config)).toBe(false);
    // Google's click conversions take no address; a postback URL neither.
    expect(needsFullIp(click('g'), config)).toBe(false);
    expect(needsFullIp(click('pb'), config)).toBe(false);
    expect(needsFullIp(click('meta'), input('none'))).toBe(false);
    // A link previewer (facebookexternalhit) carries the fbclid too (issue 12 flags it bot: true).
    expect(needsFullIp(click('meta', { bot: true }), config)).toBe(false);
  });
});

describe('where a recorded conversion goes (the send mark)', () => {
  const config = parseConfig({
    trafficChannels: [
      { id: 'meta', name: 'M', clickIdParam: 'fbclid', conversionApi: { platform: 'meta', pixelId: '123456', accessToken: { env: 'T' } } },
      { id: 'tt', name: 'T', clickIdParam: 'ttclid', conversionApi: { platform: 'tiktok', pixelCode: 'ABCDEFGH12', accessToken: { env: 'T' } } },
      { id: 'g', name: 'G', clickIdParam: ['gclid', 'wbraid'], conversionApi: { platform: 'google-ads', customerId: '1234567890', developerToken: { env: 'D' }, clientId: 'c', clientSecret: { env: 'S' }, refreshToken: { env: 'R' } } },
      { id: 'pb', name: 'P', clickIdParam: 'cid', postbackUrl: 'https://x.example/pb?c={clickid}' },
    ],
    offers: [{ id: 'o', name: 'O', source: 'custom', url: 'https://x.example/?c={clickid}' }],
    campaigns: [{ id: 'c', name: 'C', trafficChannel: 'meta', offers: [{ offer: 'o' }] }],
    conversionTypes: [
      ...digistore24ConversionTypes.map((t) => (t.name === 'payment' ? { ...t, platformEvents: { meta: 'Purchase', tiktok: 'CompletePayment', 'google-ads': 'customers/1/conversionActions/2' } } : t)),
      { name: 'lead', revenue: 'ignore' },
    ],
    postbackProtection: TEST_PROTECTION,
  });
  const indexed = sendConfig(config);
  const now = new Date('2026-11-25T12:00:00Z');
  const conversion = (channelId: string, extra: Partial<ConversionRecord> = {}): ConversionRecord => ({
    clickId: 'C', conversionKey: 'payment|T', type: 'payment', revenue: '10', currency: 'EUR', counted: true, source: 'postback', createdAt: now.toISOString(), attributed: true, channelId, channelClickId: 'X', clickCreatedAt: '2026-11-25T11:00:00Z', ...extra,
  });
  const type = (name: string) => config.conversionTypes.find((t) => t.name === name) ?? config.conversionTypes[0]!;

  it('Meta/TikTok/postback due now, Google 6 hours after the click, skipped without a click id', () => {
    expect(sendMark(conversion('meta'), type('payment'), indexed, now)).toEqual({ to: 'meta', due: now.toISOString() });
    expect(sendMark(conversion('tt'), type('payment'), indexed, now)).toEqual({ to: 'tiktok', due: now.toISOString() });
    expect(sendMark(conversion('g'), type('payment'), indexed, now)).toEqual({ to: 'google-ads', due: '2026-11-25T17:00:00.000Z' });
    expect(sendMark(conversion('pb'), type('payment'), indexed, now)).toEqual({ to: 'postback', due: now.toISOString() });
    expect(sendMark(conversion('tt', { channelClickId: undefined }), type('payment'), indexed, now)).toEqual({ to: 'tiktok', skipped: 'the click carried no ttclid' });
    expect(sendMark(conversion('meta', { channelClickId: undefined }), type('payment'), indexed, now)).toEqual({ to: 'meta', due: now.toISOString() });
  });

  it('never: refunds, test orders, organic sales, types without an event for the platform', () => {
    expect(sendMark(conversion('meta', { type: 'refund' }), type('refund'), indexed, now)).toBeUndefined();
    expect(sendMark(conversion('meta', { test: true }), type('payment'), indexed, now)).toBeUndefined();
    expect(sendMark(conversion('meta', { attributed: false }), type('payment'), indexed, now)).toBeUndefined();
    expect(sendMark(conversion('meta', { type: 'lead' }), type('lead'), indexed, now)).toBeUndefined();
  });

  it('only payment maps by default (Meta Purchase, TikTok CompletePayment; Google none)', () => {
    expect(platformEventFor({ name: 'payment' }, 'meta')).toBe('Purchase');
    expect(platformEventFor({ name: 'payment' }, 'tiktok')).toBe('CompletePayment');
    expect(platformEventFor({ name: 'payment' }, 'google-ads')).toBeUndefined();
    expect(platformEventFor({ name: 'upsell' }, 'meta')).toBeUndefined();
    // Per platform: mapping payment to a Google Ads action keeps its Meta and TikTok defaults.
    expect(platformEventFor({ name: 'payment', platformEvents: { 'google-ads': 'customers/1/conversionActions/2' } }, 'meta')).toBe('Purchase');
    expect(platformEventFor({ name: 'payment', platformEvents: { 'google-ads': 'customers/1/conversionActions/2' } }, 'tiktok')).toBe('CompletePayment');
    expect(platformEventFor({ name: 'payment', platformEvents: { meta: 'Subscribe' } }, 'meta')).toBe('Subscribe');
    expect(platformEventFor({ name: 'lead', platformEvents: { meta: 'Lead' } }, 'tiktok')).toBeUndefined();
  });
});

describe('config rules of the conversion APIs', () => {
  const problems = (channel: Record<string, unknown>, types?: unknown[]): string[] => {
    try {
      parseConfig({
        trafficChannels: [channel],
        offers: [{ id: 'o', name: 'O', source: 'custom', url: 'https://x.example/?c={clickid}' }],
        campaigns: [{ id: 'c', name: 'C', trafficChannel: String(channel.id), offers: [{ offer: 'o' }] }],
        conversionTypes: types ?? [...digistore24ConversionTypes],
        postbackProtection: TEST_PROTECTION,
      });
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };
  const meta = { platform: 'meta', pixelId: '123456', accessToken: { env: 'T' } };

  it('takes https only for apiBaseUrl and tokenUrl, except loopback; no query, no credentials', () => {
    expect(problems({ id: 'm', name: 'M', clickIdParam: 'fbclid', conversionApi: { ...meta, apiBaseUrl: 'http://127.0.0.1:9999' } })).toEqual([]);
    expect(problems({ id: 'm', name: 'M', clickIdParam: 'fbclid', conversionApi: { ...meta, apiBaseUrl: 'http://[::1]:9999' } })).toEqual([]);
    expect(problems({ id: 'm', name: 'M', clickIdParam: 'fbclid', conversionApi: { ...meta, apiBaseUrl: 'http://graph.example.com' } })).toEqual([
      'trafficChannels[0].conversionApi.apiBaseUrl: apiBaseUrl must use https:// (plain http only on a loopback address such as 127.0.0.1), got "http://graph.example.com"',
    ]);
    expect(problems({ id: 'm', name: 'M', clickIdParam: 'fbclid', conversionApi: { ...meta, apiBaseUrl: 'https://proxy.example/meta?access_token=x' } })[0]).toContain('must not carry credentials, a query or a fragment');
  });

  it('a channel has either a postbackUrl or a conversionApi; the click id parameter fits the platform', () => {
    expect(problems({ id: 'm', name: 'M', clickIdParam: 'fbclid', postbackUrl: 'https://x.example/pb?c={clickid}', conversionApi: meta })).toEqual([
      'trafficChannels[0].conversionApi: a channel has either a postbackUrl or a conversionApi, not both',
    ]);
    expect(problems({ id: 'm', name: 'M', clickIdParam: 'gclid', conversionApi: meta })[0]).toContain('a Meta channel takes its click id from "fbclid"');
    const google = { platform: 'google-ads', customerId: '123-456-7890', developerToken: { env: 'D' }, clientId: 'c', clientSecret: { env: 'S' }, refreshToken: { env: 'R' } };
    expect(problems({ id: 'g', name: 'G', clickIdParam: ['gclid', 'gbraid', 'wbraid'], conversionApi: google })).toEqual([]);
    expect(problems({ id: 'g', name: 'G', clickIdParam: ['gclid', 'msclkid'], conversionApi: google })[0]).toContain('gclid, gbraid and/or wbraid');
  });

  it('refuses a refund mapped to a platform, a Google action that is not a resource name, a generated platform token', () => {
    const google = { platform: 'google-ads', customerId: '1234567890', developerToken: { env: 'D' }, clientId: 'c', clientSecret: { env: 'S' }, refreshToken: { env: 'R' } };
    const types = digistore24ConversionTypes.map((t) =>
      t.name === 'refund' ? { ...t, platformEvents: { meta: 'Refund' } } : t.name === 'payment' ? { ...t, platformEvents: { 'google-ads': 'Purchase' } } : t,
    );
    expect(problems({ id: 'g', name: 'G', clickIdParam: 'gclid', conversionApi: google }, types)).toEqual([
      'conversionTypes[0].platformEvents.google-ads: the google-ads conversionApi uploads to a conversion action by its resource name customers/{customerId}/conversionActions/{id}, got "Purchase"',
      'conversionTypes[1].platformEvents: "refund" takes revenue back (a refund or chargeback), and those are never sent to an ad platform: remove platformEvents',
    ]);
    expect(problems({ id: 'm', name: 'M', clickIdParam: 'fbclid', conversionApi: { ...meta, accessToken: { generated: true } } })[0]).toContain('accessToken comes from the platform and cannot be generated');
  });
});
