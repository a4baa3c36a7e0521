/**
 * Issue 13: sales back to Meta, TikTok and Google Ads, end to end through the handlers — a click,
 * a postback or IPN, the sender — against local stand-ins that check every request as the
 * platforms document it (test/support/platform-stand-ins.ts). Conversions on dynalite, the
 * dead-letter queue in files, no network.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseConfig, type TrackerConfig, type TrackerConfigInput } from '../../config/schema';
import { digistore24ConversionTypes, digistore24IpnConversionTypes } from '../../config/digistore24';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../../lambda/adapters/file-dead-letter';
import { DynamoIpKeyStore } from '../../lambda/adapters/ip-keys';
import type { ClickRecord } from '../../lambda/core/model';
import { sha256 } from '../../lambda/core/platform-common';
import { redrive } from '../../lambda/core/replay';
import { IpKeyRing, keyDay } from '../../lambda/core/sealed-ip';
import { sweep } from '../../lambda/core/send';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import { createIpnHandler } from '../../lambda/handlers/ipn';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { conversionDeps, postbackAuth } from '../../lambda/handlers/runtime';
import { logger } from '../../lambda/logger';
import type { TableNames } from '../../lambda/local/tables';
import { TEST_POSTBACK_KEY, TEST_PROTECTION, testSecrets } from '../support/config';
import { freshTables, scanAll } from '../support/dynamo';
import { httpEvent } from '../support/events';
import { formBody, signed } from '../support/ipn';
import { META_PIXEL, PlatformStandIns, STAND_IN_ENV, TIKTOK_PIXEL, TOKENS, standInChannels } from '../support/platform-stand-ins';
import { testSender, type TestSender } from '../support/sender';

const ACTION = 'customers/1234567890/conversionActions/555';
const PASS = 'capi-ipn-passphrase';
const FBCLID = 'IwAR2xYz_AbC-dEf0123'; // mixed case: must reach Meta exactly as received
const VISITOR_IP = '203.0.113.77';
const UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1';

let standIns: PlatformStandIns;
let client: DynamoDBClient;
let tables: TableNames;
let queue: FileDeadLetterQueue;
let config: TrackerConfig;
let sender: TestSender;

beforeAll(async () => {
  standIns = await new PlatformStandIns().start();
});
afterAll(() => standIns.close());

function capiConfig(extra: Partial<TrackerConfigInput> = {}, ipn: Record<string, unknown> = {}): TrackerConfig {
  return parseConfig({
    defaults: { currency: 'EUR', clickRetentionDays: 30, ipStorage: 'truncated' },
    trafficChannels: standInChannels(standIns.url),
    offers: [{ id: 'ds24', name: 'DS24', source: 'digistore24', url: 'https://www.digistore24.com/redir/123456/aff/?cid={clickid}&s1={sub1}' }],
    campaigns: [
      { id: 'fb', name: 'FB', trafficChannel: 'meta', offers: [{ offer: 'ds24' }] },
      { id: 'tt', name: 'TT', trafficChannel: 'tiktok', offers: [{ offer: 'ds24' }] },
      { id: 'gg', name: 'GG', trafficChannel: 'google', offers: [{ offer: 'ds24' }] },
    ],
    conversionTypes: [
      ...digistore24ConversionTypes.map((t) => (t.name === 'payment' ? { ...t, platformEvents: { meta: 'Purchase', tiktok: 'CompletePayment', 'google-ads': ACTION } } : t)),
      ...digistore24IpnConversionTypes,
    ],
    postbackProtection: TEST_PROTECTION,
    digistore24: { ipn: { passphrase: { env: 'DS24_IPN_PASSPHRASE' }, ...ipn } },
    ...extra,
  });
}

async function setUp(options: { config?: TrackerConfig; now?: () => Date; retryDelaysSeconds?: number[] } = {}) {
  standIns.reset();
  config = options.config ?? capiConfig();
  ({ client, tables } = await freshTables());
  queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-capi-')));
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  sender = testSender(config, client, tables, () => queue, {
    env: STAND_IN_ENV,
    ...(options.now ? { now: options.now } : {}),
    ...(options.retryDelaysSeconds ? { retryDelaysSeconds: options.retryDelaysSeconds } : {}),
  });
}

const stores = () => ({
  clicks: new DynamoClickStore(client, tables.clicks),
  conversions: new DynamoConversionStore(client, tables.conversions),
  types: new DynamoConversionTypes(client, tables.conversionTypes),
});
const recording = () => conversionDeps(config, stores(), () => queue, sender.queue);
const postback = (query: string, now?: Date) =>
  createPostbackHandler(recording(), { ...postbackAuth(config.postbackProtection, testSecrets()), ...(now ? { now: () => now } : {}) })(
    httpEvent({ path: '/postback', query: `${query}&key=${TEST_POSTBACK_KEY}` }),
  );
const ipnHandler = (storeBuyerData: boolean) => {
  const ipn = config.digistore24?.ipn;
  if (!ipn) throw new Error('no ipn');
  return createIpnHandler({ ...recording(), ipn: { ...ipn, storeBuyerData }, passphrase: async () => PASS });
};

/** A click through the click handler, as CloudFront delivers it: user agent and the visitor's full address. */
async function click(campaign: string, query: string, at?: Date): Promise<ClickRecord> {
  const handler = createClickHandler(
    { config: compileConfig(config), clicks: new DynamoClickStore(client, tables.clicks), deadLetters: () => queue, log: logger, ipKeys: new IpKeyRing(new DynamoIpKeyStore(client, tables.ipKeys)) },
    at ? { now: () => at } : {},
  );
  const result = await handler(
    httpEvent({ path: `/click/${campaign}`, query, pathParameters: { campaignId: campaign }, headers: { 'user-agent': UA, 'cloudfront-viewer-address': `${VISITOR_IP}:51234` } }),
  );
  const cid = new URL(String(result.headers?.location)).searchParams.get('cid');
  const stored = cid ? await new DynamoClickStore(client, tables.clicks).getClick(cid) : undefined;
  if (!stored) throw new Error('click not stored');
  return stored;
}

const conversions = () => scanAll(client, tables.conversions);
const body = (i = 0, platform: 'meta' | 'tiktok' | 'google-ads' = 'meta') => standIns.of(platform)[i]?.body as Record<string, unknown>;
const metaEvent = (i = 0) => (body(i, 'meta').data as Record<string, unknown>[])[0] as Record<string, unknown>;

describe('Meta Conversions API', () => {
  beforeEach(() => setUp());

  it('sends a sale once, as Meta documents it — fbc from the fbclid exactly as received and the click time, the full address, a stable event_id', async () => {
    const c = await click('fb', `fbclid=${FBCLID}&sub1=adset-7`);
    // Only a Meta/TikTok click with its click id keeps the full address, sealed with the day's key.
    expect(c.ip).toBe('203.0.113.0');
    expect(c.sealedIp).toMatch(new RegExp(`^v1\\.${keyDay(new Date(c.createdAt))}\\.`));
    expect(JSON.stringify(c)).not.toContain(VISITOR_IP);

    expect((await postback(`clickid=${c.clickId}&type=payment&sum=47.50&currency=EUR&txid=T1`)).statusCode).toBe(200);
    // Nothing is sent inside the postback request.
    expect(standIns.of('meta')).toHaveLength(0);
    await sender.drain();

    expect(standIns.violations).toEqual([]);
    const [request, ...more] = standIns.of('meta');
    expect(more).toEqual([]);
    expect(request?.path).toBe(`/v26.0/${META_PIXEL}/events`);
    expect(request?.query).toBe('');
    expect(request?.headers.authorization).toBe(`Bearer ${TOKENS.meta}`);
    expect(body()).toMatchObject({ access_token: TOKENS.meta, test_event_code: 'TEST123' });
    // The amount goes as the exact number literal of its decimal text.
    expect(request?.raw).toContain('"value":47.5,');
    expect(metaEvent()).toEqual({
      event_name: 'Purchase',
      event_time: Math.floor(Date.parse(String((await conversions())[0]?.createdAt)) / 1000),
      event_id: `${c.clickId}:T1`,
      action_source: 'website',
      event_source_url: 'https://www.digistore24.com/redir/123456/aff/',
      user_data: { client_ip_address: VISITOR_IP, client_user_agent: UA, fbc: `fb.1.${Date.parse(c.createdAt)}.${FBCLID}` },
      custom_data: { value: 47.5, currency: 'EUR', order_id: 'T1' },
    });

    const [stored] = await conversions();
    expect(stored).toMatchObject({ forwardTo: 'meta', forwardState: 'sent', forwardAnswer: expect.stringContaining('events_received 1') });
    expect(stored).not.toHaveProperty('sendQueue');
    // What trace shows of the send: what went, never the token or the address.
    expect(String(stored?.forwardRequest)).toContain(`"event_id":"${c.clickId}:T1"`);
    expect(JSON.stringify(stored)).not.toContain(VISITOR_IP);
    expect(JSON.stringify(stored)).not.toContain(TOKENS.meta);
    // The sends for the click are done: its sealed address is gone.
    expect((await new DynamoClickStore(client, tables.clicks).getClick(c.clickId))?.sealedIp).toBeUndefined();
  });

  it('keeps event_id stable across a retried postback and the IPN of the same sale: one request', async () => {
    const c = await click('fb', `fbclid=${FBCLID}`);
    await postback(`clickid=${c.clickId}&type=payment&sum=20&currency=EUR&txid=T2`);
    await postback(`clickid=${c.clickId}&type=payment&sum=20&currency=EUR&txid=T2`);
    const form = signed({ event: 'on_payment', transaction_id: 'T2', amount_netto: '20.00', currency: 'EUR', click_id: c.clickId, pay_sequence_no: '1' }, PASS);
    await ipnHandler(false)(httpEvent({ method: 'POST', path: '/ipn/digistore24', body: formBody(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    await sender.drain();
    expect(standIns.of('meta')).toHaveLength(1);
    expect(metaEvent().event_id).toBe(`${c.clickId}:T2`);
  });

  it('sends nothing for a refund, a chargeback, a type without a Meta event, or a sale without a click', async () => {
    const c = await click('fb', `fbclid=${FBCLID}`);
    await postback(`clickid=${c.clickId}&type=refund&sum=20&currency=EUR&txid=R1`);
    await postback(`clickid=${c.clickId}&type=chargeback&sum=20&currency=EUR&txid=R2`);
    await postback(`clickid=${c.clickId}&type=upsell&sum=0&currency=EUR&txid=R3`);
    await postback(`type=payment&sum=20&currency=EUR&txid=ORGANIC`);
    await sender.drain();
    expect(standIns.received).toEqual([]);
    expect((await conversions()).filter((x) => x.forwardTo !== undefined)).toEqual([]);
  });

  it("skips a sale older than Meta's 7 days (the state says why) and it never sinks another send", async () => {
    const eightDaysAgo = new Date(Date.now() - 8 * 86_400_000);
    const old = await click('fb', `fbclid=${FBCLID}`, new Date(eightDaysAgo.getTime() - 60_000));
    const fresh = await click('fb', 'fbclid=fresh123');
    await postback(`clickid=${old.clickId}&type=payment&sum=10&currency=EUR&txid=OLD`, eightDaysAgo);
    await postback(`clickid=${fresh.clickId}&type=payment&sum=11&currency=EUR&txid=NEW`);
    await sender.drain();
    expect(standIns.violations).toEqual([]);
    expect(standIns.of('meta').map((r) => ((r.body as { data: { event_id: string }[] }).data[0] ?? { event_id: '' }).event_id)).toEqual([`${fresh.clickId}:NEW`]);
    const byTx = Object.fromEntries((await conversions()).map((x) => [x.txid, x]));
    expect(byTx.OLD).toMatchObject({ forwardState: 'skipped', forwardError: expect.stringContaining("older than Meta's 7-day limit") });
    expect(byTx.NEW).toMatchObject({ forwardState: 'sent' });
  });

  it('hashes the e-mail and phone (normalised, SHA-256) only when the IPN stores buyer data', async () => {
    const c = await click('fb', `fbclid=${FBCLID}`);
    const buyer = { email: '  Buyer.Name@Example.COM ', address_phone_no: '0170 1234567', address_country: 'DE' };
    const send = async (storeBuyerData: boolean, tx: string) => {
      const form = signed({ event: 'on_payment', transaction_id: tx, amount_netto: '30.00', currency: 'EUR', click_id: c.clickId, pay_sequence_no: '1', ...buyer }, PASS);
      await ipnHandler(storeBuyerData)(httpEvent({ method: 'POST', path: '/ipn/digistore24', body: formBody(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
      await sender.drain();
    };
    await send(false, 'NOBUYER');
    await send(true, 'BUYER');
    expect(standIns.violations).toEqual([]);
    const users = standIns.of('meta').map((r) => ((r.body as { data: { user_data: Record<string, unknown> }[] }).data[0] ?? { user_data: {} }).user_data);
    expect(users[0]).not.toHaveProperty('em');
    expect(users[0]).not.toHaveProperty('ph');
    expect(users[1]).toMatchObject({ em: [sha256('buyer.name@example.com')], ph: [sha256('491701234567')] });
    expect(JSON.stringify(users[1])).not.toContain('Example');
  });

  it("fails a sale Meta refuses for good, with Meta's message — never retried, never queued", async () => {
    standIns.next.meta.push({ status: 400, body: { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100, error_subcode: 2804019, error_user_msg: 'The pixel id is not valid for this token', fbtrace_id: 'Fx' } } });
    const c = await click('fb', `fbclid=${FBCLID}`);
    await postback(`clickid=${c.clickId}&type=payment&sum=10&currency=EUR&txid=P1`);
    await sender.drain();
    expect(standIns.of('meta')).toHaveLength(1);
    expect((await conversions())[0]).toMatchObject({ forwardState: 'failed', forwardError: 'Meta error 100/2804019 (OAuthException): The pixel id is not valid for this token' });
    expect(await queue.receive(10)).toEqual([]);
  });

  it('retries a transient error with backoff, then queues it; redrive sends it once', async () => {
    const transient = { status: 500, body: { error: { message: 'An unexpected error has occurred. Please retry your request later.', type: 'OAuthException', code: 2, is_transient: true, fbtrace_id: 'T' } } };
    await setUp({ config: capiConfig(), retryDelaysSeconds: [30, 60] });
    for (let i = 0; i < 3; i++) standIns.next.meta.push(transient);
    const c = await click('fb', `fbclid=${FBCLID}`);
    await postback(`clickid=${c.clickId}&type=payment&sum=10&currency=EUR&txid=TR1`);
    await sender.drain();
    // One try and two retries, then the dead-letter queue (kind forward).
    expect(standIns.of('meta')).toHaveLength(3);
    expect(sender.results.map((r) => r.outcome)).toEqual(['retry', 'retry', 'queued']);
    const [message, ...others] = (await queue.receive(10)).map((r) => r.message);
    expect(others).toEqual([]);
    expect(message).toMatchObject({ kind: 'forward', reason: 'forward_failed', forward: { clickId: c.clickId, conversionKey: 'payment|TR1', platform: 'meta' } });
    expect(JSON.stringify(message)).not.toContain(TOKENS.meta);
    expect(JSON.stringify(message)).not.toContain(VISITOR_IP);
    expect((await conversions())[0]).toMatchObject({ forwardState: 'failed', forwardAttempts: 2, forwardError: expect.stringContaining('3 attempt(s) failed, last: Meta error 2') });

    // Meta is back: redrive sends it, once; a second redrive has nothing left.
    const replay = { ...stores(), clickStore: stores().clicks, defaultCurrency: 'EUR', sending: sender.deps };
    expect(await redrive(queue, replay, { limit: 10, dryRun: false })).toMatchObject({ outcomes: { 'sent to meta': 1 } });
    expect(standIns.of('meta')).toHaveLength(4);
    expect((await conversions())[0]).toMatchObject({ forwardState: 'sent' });
    expect(await queue.receive(10)).toEqual([]);
    expect(await redrive(queue, replay, { limit: 10, dryRun: false })).toMatchObject({ received: 0 });
    expect(standIns.of('meta')).toHaveLength(4);
    expect(standIns.violations).toEqual([]);
  });

  it('a click lost by storage and queue is logged to restore by hand, without its address, plain or sealed', async () => {
    const lines: { message: string; fields: Record<string, unknown> }[] = [];
    const log = { info: () => undefined, warn: () => undefined, error: (message: string, fields: Record<string, unknown> = {}) => void lines.push({ message, fields }) };
    const down = { putClick: () => Promise.reject(new Error('ServiceUnavailable')) };
    const noQueue = { send: () => Promise.reject(new Error('QueueDoesNotExist')) };
    const handler = createClickHandler({ config: compileConfig(config), clicks: down, deadLetters: () => noQueue, log, ipKeys: new IpKeyRing(new DynamoIpKeyStore(client, tables.ipKeys)) });
    const result = await handler(httpEvent({ path: '/click/fb', query: `fbclid=${FBCLID}`, pathParameters: { campaignId: 'fb' }, headers: { 'user-agent': UA, 'cloudfront-viewer-address': `${VISITOR_IP}:51234` } }));
    expect(result.statusCode).toBe(302);
    const lost = lines.find((l) => l.message.startsWith('click lost'));
    expect(lost?.fields.click).toMatchObject({ campaignId: 'fb', channelClickId: FBCLID });
    expect(JSON.stringify(lost)).not.toContain('sealedIp');
    expect(JSON.stringify(lost)).not.toContain('203.0.113');
  });

  it('a day key that hangs never holds the click: redirected at once, stored without the address', async () => {
    const hanging = { getKey: () => new Promise<undefined>(() => undefined), createKey: () => new Promise<Buffer>(() => undefined), listKeyDays: async () => [], deleteKey: async () => undefined };
    const handler = createClickHandler({ config: compileConfig(config), clicks: new DynamoClickStore(client, tables.clicks), deadLetters: () => queue, log: logger, ipKeys: new IpKeyRing(hanging) });
    // (Were the click to wait for the key, this would never answer: the test would time out.)
    const result = await handler(httpEvent({ path: '/click/fb', query: `fbclid=${FBCLID}`, pathParameters: { campaignId: 'fb' }, headers: { 'user-agent': UA, 'cloudfront-viewer-address': `${VISITOR_IP}:51234` } }));
    expect(result.statusCode).toBe(302);
    const cid = new URL(String(result.headers?.location)).searchParams.get('cid') ?? '';
    const stored = await new DynamoClickStore(client, tables.clicks).getClick(cid);
    expect(stored).toMatchObject({ clickId: cid, channelClickId: FBCLID });
    expect(stored).not.toHaveProperty('sealedIp');
  });

  it('an answer lost after Meta took the event: the retry carries the same event_id, so Meta keeps one', async () => {
    sender.deps.timeouts = { platformMs: 200 };
    standIns.delays.meta.push(1500);
    const c = await click('fb', `fbclid=${FBCLID}`);
    await postback(`clickid=${c.clickId}&type=payment&sum=10&currency=EUR&txid=LOST1`);
    await sender.drain();
    expect(sender.results.map((r) => r.outcome)).toEqual(['retry', 'sent']);
    expect(sender.results[0]?.detail).toContain('Meta: no answer');
    expect(standIns.violations).toEqual([]);
    // Meta got it twice, under one event_name + event_id: it drops the second (deduplication).
    const events = standIns.of('meta').map((r) => ((r.body as { data: { event_name: string; event_id: string }[] }).data[0] ?? { event_name: '', event_id: '' }));
    expect(events).toEqual([
      { ...events[0], event_name: 'Purchase', event_id: `${c.clickId}:LOST1` },
      { ...events[0], event_name: 'Purchase', event_id: `${c.clickId}:LOST1` },
    ]);
    expect((await conversions())[0]).toMatchObject({ forwardState: 'sent', forwardAttempts: 1 });
    expect(await queue.receive(10)).toEqual([]);
  });

  it('sends nothing without consent (t.js consent mode): the click says so', async () => {
    const c = await click('fb', `fbclid=${FBCLID}`);
    const store = new DynamoClickStore(client, tables.clicks);
    // Another click of the same campaign (another last random character), stored with t.js's consent field.
    const consented = { ...c, clickId: `${c.clickId.slice(0, 25)}${c.clickId[25] === 'Z' ? 'Y' : 'Z'}${c.clickId.slice(26)}` };
    await store.putClick({ ...consented, consent: 'denied' } as ClickRecord);
    await postback(`clickid=${consented.clickId}&type=payment&sum=10&currency=EUR&txid=C1`);
    await sender.drain();
    expect(standIns.of('meta')).toEqual([]);
    expect((await conversions())[0]).toMatchObject({ forwardState: 'skipped', forwardError: expect.stringContaining('did not consent') });
  });

  it('never tells Meta a sale that a postback without a valid key recorded (protection not required), replayed ones included', async () => {
    await setUp({ config: capiConfig({ postbackProtection: { required: false, sources: [{ id: 'digistore24', keys: [{ generated: true }] }] } }) });
    const c = await click('fb', `fbclid=${FBCLID}`);
    const unkeyed = createPostbackHandler(recording(), postbackAuth(config.postbackProtection, testSecrets()));
    // Anyone who knows a click id (it is in the offer URL) can send this: recorded, as the config allows, but not sent.
    expect((await unkeyed(httpEvent({ path: '/postback', query: `clickid=${c.clickId}&type=payment&sum=999&currency=EUR&txid=FORGED` }))).statusCode).toBe(200);
    // The same without a key, queued when storage failed and replayed later: still not sent.
    const failing = { ...recording(), conversions: { putConversion: () => Promise.reject(new Error('down')) } } as unknown as ReturnType<typeof recording>;
    expect((await createPostbackHandler(failing, postbackAuth(config.postbackProtection, testSecrets()))(httpEvent({ path: '/postback', query: `clickid=${c.clickId}&type=payment&sum=5&currency=EUR&txid=LATER` }))).statusCode).toBe(202);
    const replay = { ...recording(), clickStore: stores().clicks, sending: sender.deps };
    expect(await redrive(queue, replay, { limit: 10, dryRun: false })).toMatchObject({ received: 1 });
    // With the key: sent.
    await postback(`clickid=${c.clickId}&type=payment&sum=47&currency=EUR&txid=REAL`);
    await sender.drain();
    expect(standIns.violations).toEqual([]);
    expect(standIns.of('meta').map((r) => ((r.body as { data: { event_id: string }[] }).data[0] ?? { event_id: '' }).event_id)).toEqual([`${c.clickId}:REAL`]);
    const byTx = Object.fromEntries((await conversions()).map((x) => [x.txid, x]));
    for (const tx of ['FORGED', 'LATER']) expect(byTx[tx]).toMatchObject({ forwardTo: 'meta', forwardState: 'skipped', forwardError: expect.stringContaining('without a valid key') });
    expect(byTx.REAL).toMatchObject({ forwardState: 'sent' });
  });
});

describe('TikTok Events API', () => {
  beforeEach(() => setUp());

  it('sends as documented: Access-Token, event_source web, the pixel code, ttclid, address, user agent, value, page', async () => {
    const c = await click('tt', 'ttclid=E.C.P.ttclid-9Zx');
    await postback(`clickid=${c.clickId}&type=payment&sum=19.90&currency=USD&txid=TT1`);
    await sender.drain();
    expect(standIns.violations).toEqual([]);
    const [request] = standIns.of('tiktok');
    expect(request?.path).toBe('/open_api/v1.3/event/track/');
    expect(request?.headers['access-token']).toBe(TOKENS.tiktok);
    expect(request?.raw).toContain('"value":19.9,');
    expect(request?.body).toEqual({
      event_source: 'web',
      event_source_id: TIKTOK_PIXEL,
      data: [
        {
          event: 'CompletePayment',
          event_time: Math.floor(Date.parse(String((await conversions())[0]?.createdAt)) / 1000),
          event_id: `${c.clickId}:TT1`,
          user: { ttclid: 'E.C.P.ttclid-9Zx', ip: VISITOR_IP, user_agent: UA },
          properties: { value: 19.9, currency: 'USD' },
          page: { url: 'https://www.digistore24.com/redir/123456/aff/' },
        },
      ],
    });
    expect((await conversions())[0]).toMatchObject({ forwardState: 'sent', forwardAnswer: expect.stringContaining('code 0') });
  });

  it("reads an HTTP 200 with a non-zero code as the error it is: failed with TikTok's message", async () => {
    standIns.next.tiktok.push({ status: 200, body: { code: 40002, message: 'Invalid value for field event_time', request_id: 'x', data: {} } });
    const c = await click('tt', 'ttclid=abc');
    await postback(`clickid=${c.clickId}&type=payment&sum=10&currency=EUR&txid=TT2`);
    await sender.drain();
    expect((await conversions())[0]).toMatchObject({ forwardState: 'failed', forwardError: 'TikTok code 40002: Invalid value for field event_time' });
    expect(await queue.receive(10)).toEqual([]);
  });

  it('retries a 200 that says "too many requests" (code 40100)', async () => {
    standIns.next.tiktok.push({ status: 200, body: { code: 40100, message: 'Too many requests', request_id: 'x', data: {} } });
    const c = await click('tt', 'ttclid=abc');
    await postback(`clickid=${c.clickId}&type=payment&sum=10&currency=EUR&txid=TT3`);
    await sender.drain();
    expect(standIns.of('tiktok')).toHaveLength(2);
    expect(sender.results.map((r) => r.outcome)).toEqual(['retry', 'sent']);
    expect((await conversions())[0]).toMatchObject({ forwardState: 'sent', forwardAttempts: 1 });
  });
});

describe('Google Ads click conversions', () => {
  let clock: Date;
  beforeEach(async () => {
    clock = new Date();
    await setUp({ now: () => clock });
  });

  it("waits 6 hours after the click (TOO_RECENT_EVENT = later), then uploads once, with Google's headers and row format", async () => {
    const c = await click('gg', 'gclid=Cj0KCQ-gclid_1');
    clock = new Date(Date.parse(c.createdAt) + 5000);
    await postback(`clickid=${c.clickId}&type=payment&sum=99.00&currency=EUR&txid=G1`, clock);
    await sender.drain();
    // Due 6 hours after the click: the hourly sweep leaves it.
    const [recorded] = await conversions();
    expect(recorded).toMatchObject({ forwardTo: 'google-ads', sendQueue: 'google-ads', sendDue: new Date(Date.parse(c.createdAt) + 6 * 3_600_000).toISOString() });
    expect((await sweep(sender.deps)).results).toEqual([]);
    expect(standIns.received).toEqual([]);

    // Forced now (--min-click-age 0): Google says the click is too recent -> later.
    standIns.googleRowErrors = () => ['conversionUploadError', 'TOO_RECENT_EVENT', 'The click associated with the given identifier occurred less than 6 hours ago.'];
    const early = await sweep(sender.deps, { minClickAgeMs: 0 });
    expect(early.results.map((r) => r.outcome)).toEqual(['later']);
    expect((await conversions())[0]).toMatchObject({ forwardState: 'pending', sendQueue: 'google-ads' });
    expect(String((await conversions())[0]?.sendDue) >= new Date(Date.parse(c.createdAt) + 6 * 3_600_000).toISOString()).toBe(true);

    // Seven hours later the hourly sweep uploads it.
    standIns.googleRowErrors = undefined;
    clock = new Date(Date.parse(c.createdAt) + 7 * 3_600_000);
    expect((await sweep(sender.deps)).results.map((r) => r.outcome)).toEqual(['sent']);
    expect(standIns.violations).toEqual([]);
    const uploads = standIns.of('google-ads');
    expect(uploads).toHaveLength(2);
    const last = uploads[1];
    expect(last?.path).toBe('/v26/customers/1234567890:uploadClickConversions');
    expect(last?.headers.authorization).toBe(`Bearer ${standIns.issued[0]}`);
    expect(last?.headers['developer-token']).toBe(TOKENS.googleDeveloper);
    expect(last?.headers['login-customer-id']).toBe('9876543210');
    const created = String(recorded?.createdAt);
    expect(last?.body).toEqual({
      conversions: [
        {
          gclid: 'Cj0KCQ-gclid_1',
          conversionAction: ACTION,
          conversionDateTime: `${created.slice(0, 10)} ${created.slice(11, 19)}+00:00`,
          conversionValue: 99,
          currencyCode: 'EUR',
          orderId: 'G1',
        },
      ],
      partialFailure: true,
    });
    // One access token for both uploads: cached until it expires.
    expect(standIns.of('oauth')).toHaveLength(1);
    expect((await conversions())[0]).toMatchObject({ forwardState: 'sent' });
    expect((await conversions())[0]).not.toHaveProperty('sendQueue');
  });

  it('an upload whose answer was lost goes again at a later sweep, and ORDER_ID_ALREADY_IN_USE then means sent', async () => {
    clock = new Date(Date.now() + 7 * 3_600_000);
    const a = await click('gg', 'gclid=GCLID-LOST');
    await postback(`clickid=${a.clickId}&type=payment&sum=5&currency=EUR&txid=GLOST`);
    // Google as it is: an orderId it has once taken is refused as already in use.
    const taken = new Set<string>();
    standIns.googleRowErrors = (row) => {
      const id = `${String(row.conversionAction)}|${String(row.orderId)}`;
      if (taken.has(id)) return ['conversionUploadError', 'ORDER_ID_ALREADY_IN_USE', 'The order id is already in use.'];
      taken.add(id);
      return undefined;
    };
    sender.deps.timeouts = { googleMs: 200 };
    standIns.delays['google-ads'].push(1500);
    expect((await sweep(sender.deps)).results.map((r) => r.outcome)).toEqual(['retry']);
    expect((await conversions())[0]).toMatchObject({ forwardState: 'pending', forwardAttempts: 1, forwardError: expect.stringContaining('Google Ads: no answer') });
    // The next sweep (its retry due): uploaded again with the same orderId, which Google already has.
    clock = new Date(clock.getTime() + 2 * 3_600_000);
    expect((await sweep(sender.deps)).results.map((r) => r.outcome)).toEqual(['sent']);
    expect(standIns.of('google-ads').map((r) => ((r.body as { conversions: { orderId: string }[] }).conversions[0] ?? { orderId: '' }).orderId)).toEqual(['GLOST', 'GLOST']);
    expect((await conversions())[0]).toMatchObject({ forwardState: 'sent', forwardAnswer: expect.stringContaining('already uploaded (ORDER_ID_ALREADY_IN_USE)') });
    expect(standIns.violations).toEqual([]);
  });

  it('reads each row of a partial failure: ORDER_ID_ALREADY_IN_USE is sent, another error fails that row only, gbraid goes as gbraid', async () => {
    clock = new Date(Date.now() + 7 * 3_600_000);
    const a = await click('gg', 'gclid=GCLID-A');
    const b = await click('gg', 'gbraid=GBRAID-B');
    const d = await click('gg', 'wbraid=WBRAID-D');
    await postback(`clickid=${a.clickId}&type=payment&sum=1&currency=EUR&txid=A`);
    await postback(`clickid=${b.clickId}&type=payment&sum=2&currency=EUR&txid=B`);
    await postback(`clickid=${d.clickId}&type=payment&sum=3&currency=EUR&txid=D`);
    standIns.googleRowErrors = (row) =>
      row.orderId === 'A'
        ? ['conversionUploadError', 'ORDER_ID_ALREADY_IN_USE', 'The order id is already in use.']
        : row.orderId === 'D'
          ? ['conversionUploadError', 'INVALID_CONVERSION_ACTION_TYPE', "The conversion action isn't set up for uploading conversions."]
          : undefined;
    const run = await sweep(sender.deps);
    expect(standIns.violations).toEqual([]);
    expect(standIns.of('google-ads')).toHaveLength(1);
    const rows = (body(0, 'google-ads').conversions as Record<string, unknown>[]).map((r) => Object.keys(r).find((k) => k.endsWith('clid') || k.endsWith('braid')));
    expect(rows.sort()).toEqual(['gbraid', 'gclid', 'wbraid']);
    expect(run.results.map((r) => `${r.conversionKey} ${r.outcome}`).sort()).toEqual(['payment|A sent', 'payment|B sent', 'payment|D failed']);
    const byTx = Object.fromEntries((await conversions()).map((x) => [x.txid, x]));
    expect(byTx.A).toMatchObject({ forwardState: 'sent', forwardAnswer: expect.stringContaining('already uploaded (ORDER_ID_ALREADY_IN_USE)') });
    expect(byTx.D).toMatchObject({ forwardState: 'failed', forwardError: expect.stringContaining('INVALID_CONVERSION_ACTION_TYPE') });
  });

  it('refreshes the access token when it expires, and once when Google refuses it (401)', async () => {
    clock = new Date(Date.now() + 7 * 3_600_000);
    standIns.tokenLifetime = 60; // cached until a minute before it expires: at once stale
    const first = await click('gg', 'gclid=G-1');
    await postback(`clickid=${first.clickId}&type=payment&sum=1&currency=EUR&txid=T-1`);
    await sweep(sender.deps);
    const second = await click('gg', 'gclid=G-2');
    await postback(`clickid=${second.clickId}&type=payment&sum=1&currency=EUR&txid=T-2`);
    await sweep(sender.deps);
    expect(standIns.of('oauth')).toHaveLength(2);

    // A token revoked while cached: the upload is refused with 401, a new token is asked once.
    standIns.tokenLifetime = 3600;
    const third = await click('gg', 'gclid=G-3');
    await postback(`clickid=${third.clickId}&type=payment&sum=1&currency=EUR&txid=T-3`);
    await sweep(sender.deps);
    const fourth = await click('gg', 'gclid=G-4');
    await postback(`clickid=${fourth.clickId}&type=payment&sum=1&currency=EUR&txid=T-4`);
    standIns.issued.push('ya29.rotated-elsewhere');
    await sweep(sender.deps);
    expect(standIns.of('oauth')).toHaveLength(4);
    expect((await conversions()).map((x) => x.forwardState)).toEqual(['sent', 'sent', 'sent', 'sent']);
    expect(standIns.violations).toEqual([]);
  });

  it('uploads in batches (here 2 rows per request, at most 2,000 in AWS)', async () => {
    clock = new Date(Date.now() + 7 * 3_600_000);
    for (let i = 0; i < 5; i++) {
      const c = await click('gg', `gclid=B-${i}`);
      await postback(`clickid=${c.clickId}&type=payment&sum=${i + 1}&currency=EUR&txid=B${i}`);
    }
    const run = await sweep({ ...sender.deps, googleBatchSize: 2 });
    expect(run.results.filter((r) => r.outcome === 'sent')).toHaveLength(5);
    expect(standIns.of('google-ads').map((r) => (r.body as { conversions: unknown[] }).conversions.length)).toEqual([2, 2, 1]);
  });
});
