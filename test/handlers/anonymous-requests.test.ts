/**
 * Issue 10, "Nothing an anonymous request can inflate": what a request without the postback key
 * (or from outside CloudFront) can make the tracker store, queue, forward, log or answer.
 * Every test here runs the real handlers against dynalite; SQS is mocked at the client.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseConfig } from '../../config/schema';
import { digistore24IpnConversionTypes } from '../../config/digistore24';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoConversionHistory } from '../../lambda/adapters/conversion-history';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, DynamoInboundLog } from '../../lambda/adapters/dynamodb-store';
import { SqsDeadLetterSink } from '../../lambda/adapters/sqs-dead-letter';
import { ORIGIN_VERIFY_HEADER } from '../../lambda/contract';
import type { ConversionRecord, DeadLetterMessage } from '../../lambda/core/model';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import type { HttpEvent } from '../../lambda/handlers/http';
import { createIpnHandler } from '../../lambda/handlers/ipn';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { guardedDeadLetters, postbackAuth } from '../../lambda/handlers/runtime';
import { DynamoDeadLetterLedger } from '../../lambda/adapters/dead-letter-ledger';
import { logger } from '../../lambda/logger';
import type { TableNames } from '../../lambda/local/tables';
import { TEST_POSTBACK_KEY, testConfig, testSecrets } from '../support/config';
import { countingClient, freshTables, scanAll, unreachableClient } from '../support/dynamo';
import { httpEvent } from '../support/events';
import { handedToSender } from '../support/sender';
import { formBody, signed } from '../support/ipn';

const sqs = mockClient(SQSClient);
const CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';
const NOW = new Date('2026-11-25T11:00:00.000Z');
const base = testConfig();
// ViewContent: a type a pixel may record (neither counts nor pays) that asks to be forwarded.
const config = parseConfig({
  ...base,
  conversionTypes: [...base.conversionTypes, ...digistore24IpnConversionTypes, { name: 'ViewContent', countsAsConversion: false, revenue: 'ignore', forwardToChannel: true }],
  digistore24: { ipn: { passphrase: { env: 'DS24_IPN_PASSPHRASE' } } },
});

let client: DynamoDBClient;
let tables: TableNames;
let forwarded: ConversionRecord[];

const queued = () => sqs.commandCalls(SendMessageCommand).map((c) => JSON.parse(String(c.args[0].input.MessageBody)) as DeadLetterMessage);
const conversions = () => scanAll(client, tables.conversions);
const inbound = () => scanAll(client, tables.inbound);

/** `guarded`: the queue behind the dead-letter guard and its ledger on the same DynamoDB, as the functions run. */
function stores(dynamo: DynamoDBClient = client, options: { guarded?: boolean } = {}) {
  const queue = new SqsDeadLetterSink('https://sqs.us-east-1.amazonaws.com/1/dlq', () => new SQSClient({}));
  const sink = options.guarded ? guardedDeadLetters(queue, new DynamoDeadLetterLedger(dynamo, tables.deadLetterLedger), config)() : queue;
  return {
    clicks: new DynamoClickStore(dynamo, tables.clicks),
    conversions: new DynamoConversionStore(dynamo, tables.conversions),
    types: new DynamoConversionTypes(dynamo, tables.conversionTypes),
    deadLetters: () => sink,
    defaultCurrency: 'EUR',
    // What would be handed to the sender (marked when recorded, queued once stored).
    sends: handedToSender(forwarded),
  };
}

/** The postback handler as the function builds it: protection from the config, the inbound log. */
function postbackHandler(options: { protectedBy?: typeof config.postbackProtection; dynamo?: DynamoDBClient; originSecret?: string; guarded?: boolean } = {}) {
  const dynamo = options.dynamo ?? client;
  return createPostbackHandler(stores(dynamo, { guarded: options.guarded === true }), {
    now: () => NOW,
    inbound: { log: new DynamoInboundLog(dynamo, tables.inbound), retentionDays: 30 },
    ...postbackAuth(options.protectedBy ?? config.postbackProtection, testSecrets(), config.defaults.ipStorage),
    ...(options.originSecret ? { originSecret: options.originSecret } : {}),
  });
}

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

const get = (query: string) => httpEvent({ path: '/postback', query });

beforeEach(async () => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
  forwarded = [];
  ({ client, tables } = await freshTables());
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  await new DynamoClickStore(client, tables.clicks).putClick({
    clickId: CID, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', channelClickId: 'FB.1', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {},
  });
});

describe('the pixel without a key', () => {
  it('stores one item per click and type from 1,000 keyless pixels with distinct txids, and forwards nothing', async () => {
    const h = postbackHandler();
    await inBatches(Array.from({ length: 1000 }, (_, i) => i), 25, async (i) => {
      const type = i % 2 === 0 ? 'InitiateCheckout' : 'ViewContent';
      const result = await h(get(`format=img&clickid=${CID}&type=${type}&txid=SPAM-${i}&status=s${i}&currency=USD&sum=99`));
      expect(result.headers?.['content-type']).toBe('image/gif');
    });
    const stored = await conversions();
    expect(stored.map((c) => c.conversionKey).sort()).toEqual(['InitiateCheckout|', 'ViewContent|']);
    // Nothing but the click and the type is taken from the request: no txid, status, amount or currency.
    for (const c of stored) {
      expect(c).toMatchObject({ clickId: CID, source: 'pixel', revenue: 0, currency: 'EUR', counted: false });
      expect(c.txid).toBeUndefined();
      expect(c.status).toBeUndefined();
    }
    // ViewContent asks to be forwarded; a keyless pixel never is.
    expect(forwarded).toEqual([]);
    // One inbound entry per stored item, nothing for the 998 repeats; nothing queued.
    expect(await inbound()).toHaveLength(2);
    expect(sqs.calls()).toHaveLength(0);
  }, 60_000);

  it('stores nothing for 1,000 keyless pixels on clicks that do not exist, or on no click at all', async () => {
    const h = postbackHandler();
    await inBatches(Array.from({ length: 1000 }, (_, i) => i), 25, async (i) => {
      const query = i % 4 === 0 ? `format=img&type=InitiateCheckout&txid=O${i}` : `format=img&clickid=01NOCLICK${String(i).padStart(17, '0')}&type=InitiateCheckout&txid=N${i}`;
      expect((await h(get(query))).headers?.['content-type']).toBe('image/gif');
    });
    expect(await conversions()).toEqual([]);
    expect(await inbound()).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
  }, 60_000);

  it('queues nothing for keyless pixels of made-up types and clicks while DynamoDB is down (their click and type are unknown)', async () => {
    const h = postbackHandler({ dynamo: unreachableClient(), guarded: true });
    for (let i = 0; i < 20; i++) {
      const type = i % 2 === 0 ? `whatever${i}` : 'InitiateCheckout';
      const r = await h(get(`format=img&clickid=01NOCLICK${String(i).padStart(17, '0')}&type=${type}&txid=X${i}`));
      expect(r.headers?.['content-type']).toBe('image/gif');
    }
    expect(sqs.calls()).toHaveLength(0);
  });

  it('gets the same rules when postbacks are unprotected on purpose: every pixel is anonymous then', async () => {
    const h = postbackHandler({ protectedBy: { required: false, acknowledgeUnprotected: true } });
    for (let i = 0; i < 50; i++) await h(get(`format=img&clickid=${CID}&type=ViewContent&txid=T${i}`));
    await h(get('format=img&type=InitiateCheckout'));
    await h(get(`format=img&clickid=${CID}&type=payment&sum=500&txid=P`));
    expect((await conversions()).map((c) => c.conversionKey)).toEqual(['ViewContent|']);
    expect(forwarded).toEqual([]);
  });

  it('is a keyed postback when it carries the key: then it may forward (the control for the rule above)', async () => {
    const h = postbackHandler();
    await h(get(`format=img&clickid=${CID}&type=ViewContent&txid=K1&key=${TEST_POSTBACK_KEY}`));
    expect((await conversions()).map((c) => c.conversionKey)).toEqual(['ViewContent|K1']);
    expect(forwarded.map((c) => c.type)).toEqual(['ViewContent']);
  });

  it('is refused on a click that expired or is gone, before its past conversions are read: no attribution, nothing queued', async () => {
    // Late attribution (issue 11) reads a click's stored conversions when the click is gone; a
    // keyless pixel must never reach that read, nor be attributed from it, nor be queued.
    const EXPIRED = '01JDZ8Q3V6W0K1X2Y3Z4EXPIRD';
    const GONE = '01JDZ8Q3V6W0K1X2Y3Z4GONE00';
    const earlier = (clickId: string): ConversionRecord => ({
      clickId, conversionKey: 'payment|OLD', type: 'payment', revenue: '47', currency: 'EUR', counted: true, txid: 'OLD', source: 'postback',
      createdAt: '2026-08-01T10:00:00.000Z', attributed: true, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', channelClickId: 'FB.OLD', clickCreatedAt: '2026-08-01T09:00:00.000Z',
    });
    await new DynamoClickStore(client, tables.clicks).putClick({
      clickId: EXPIRED, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-08-01T09:00:00.000Z', expiresAt: Math.floor(NOW.getTime() / 1000) - 60, subs: {},
    });
    for (const id of [EXPIRED, GONE]) await new DynamoConversionStore(client, tables.conversions).putConversion(earlier(id));
    const { client: counted, calls } = countingClient();
    // As the function runs it: with the history port late attribution reads.
    const h = createPostbackHandler({ ...stores(counted), history: new DynamoConversionHistory(counted, tables.conversions) }, {
      now: () => NOW,
      inbound: { log: new DynamoInboundLog(counted, tables.inbound), retentionDays: 30 },
      ...postbackAuth(config.postbackProtection, testSecrets(), config.defaults.ipStorage),
    });
    for (const clickid of [EXPIRED, GONE]) {
      for (let i = 0; i < 20; i++) expect((await h(get(`format=img&clickid=${clickid}&type=ViewContent&txid=L${i}`))).headers?.['content-type']).toBe('image/gif');
    }
    expect(calls).not.toContain('QueryCommand');
    expect((await conversions()).map((c) => [c.clickId, c.conversionKey]).sort()).toEqual([[EXPIRED, 'payment|OLD'], [GONE, 'payment|OLD']]);
    expect(await inbound()).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
    expect(forwarded).toEqual([]);
    // The control: with the key, the same pixel is attributed from the click's past conversions.
    expect((await h(get(`format=img&clickid=${GONE}&type=ViewContent&txid=K&key=${TEST_POSTBACK_KEY}`))).headers?.['content-type']).toBe('image/gif');
    expect(calls).toContain('QueryCommand');
    expect((await conversions()).find((c) => c.clickId === GONE && c.type === 'ViewContent')).toMatchObject({ campaignId: 'demo', channelClickId: 'FB.OLD', attributed: true });
  });
});

describe('requests that bypass CloudFront (no or wrong origin header)', () => {
  const SECRET = 'origin-secret-from-secrets-manager';
  const events = (origin?: string): [string, HttpEvent][] => {
    const headers: Record<string, string> = origin ? { [ORIGIN_VERIFY_HEADER]: origin } : {};
    return [
      ['click', httpEvent({ path: '/click/demo', query: 'sub1=x', pathParameters: { campaignId: 'demo' }, headers })],
      ['postback', httpEvent({ path: '/postback', query: `clickid=${CID}&type=payment&sum=1&txid=B1&key=${TEST_POSTBACK_KEY}`, headers })],
      ['postback', httpEvent({ path: '/postback', query: `clickid=${CID}&type=Nope&key=${TEST_POSTBACK_KEY}`, headers })],
      ['postback', httpEvent({ path: '/postback', query: `format=img&clickid=${CID}&type=InitiateCheckout`, headers })],
      ['postback', httpEvent({ path: '/postback', query: 'type=payment&sum=1', headers })],
      ['postback', httpEvent({ method: 'POST', path: `/postback/${TEST_POSTBACK_KEY}`, pathParameters: { key: TEST_POSTBACK_KEY }, body: `clickid=${CID}&type=payment`, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } })],
      // Digistore24's URL check too: a GET or HEAD from outside CloudFront is refused like a POST.
      ['ipn', httpEvent({ method: 'GET', path: '/ipn/digistore24', headers })],
      ['ipn', httpEvent({ method: 'HEAD', path: '/ipn/digistore24', headers })],
      ['ipn', httpEvent({ method: 'POST', path: '/ipn/digistore24', body: formBody(signed({ event: 'on_payment', transaction_id: 'T1', cid: CID, amount_netto: '47.00', currency: 'EUR' }, 'pp')), headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } })],
    ];
  };

  it.each([
    ['no origin header', undefined],
    ['a wrong origin header', 'guess'],
  ])('answers %s with 403, one log line, and no DynamoDB, SQS or metric write - for every function', async (_name, origin) => {
    const { client: counted, calls } = countingClient();
    const ipnConfig = config.digistore24?.ipn;
    if (!ipnConfig) throw new Error('no ipn');
    const handlers = {
      click: createClickHandler({ config: compileConfig(config), clicks: new DynamoClickStore(counted, tables.clicks), deadLetters: stores(counted).deadLetters, log: logger }, { originSecret: SECRET }),
      // With the dead-letter guard: not even its ledger (dedupe markers, per-source counts) is asked.
      postback: postbackHandler({ dynamo: counted, originSecret: SECRET, guarded: true }),
      ipn: createIpnHandler({ ...stores(counted, { guarded: true }), ipn: ipnConfig, passphrase: async () => 'pp' }, { originSecret: SECRET, inbound: { log: new DynamoInboundLog(counted, tables.inbound), retentionDays: 30 } }),
    };
    const logged = (['debug', 'info', 'warn', 'error'] as const).map((level) => jest.spyOn(logger, level));
    const stdout = jest.spyOn(process.stdout, 'write');
    const metricsBefore = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    try {
      for (const [name, event] of events(origin)) {
        for (const spy of logged) spy.mockClear();
        const result = await handlers[name as keyof typeof handlers](event);
        const head = event.requestContext?.http?.method === 'HEAD';
        expect([name, result.statusCode, result.body]).toEqual([name, 403, head ? '' : 'Forbidden: use the tracking domain, not the API Gateway URL\n']);
        const lines = logged.flatMap((spy) => spy.mock.calls);
        expect(lines).toEqual([[expect.stringMatching(/refused$/), expect.objectContaining({ reason: 'origin_verify_failed', httpStatus: 403 })]]);
      }
    } finally {
      process.env.POWERTOOLS_METRICS_DISABLED = metricsBefore;
      for (const spy of logged) spy.mockRestore();
    }
    const emf = stdout.mock.calls.map((c) => String(c[0])).filter((line) => line.includes('_aws'));
    stdout.mockRestore();
    expect(calls).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
    expect(emf).toEqual([]);
  });

  it('serves the same requests with the right header (so the test above can fail)', async () => {
    const { client: counted, calls } = countingClient();
    const h = postbackHandler({ dynamo: counted, originSecret: SECRET });
    const result = await h(httpEvent({ path: '/postback', query: `clickid=${CID}&type=payment&sum=1&txid=B1&key=${TEST_POSTBACK_KEY}`, headers: { [ORIGIN_VERIFY_HEADER]: SECRET } }));
    expect(result.statusCode).toBe(200);
    expect(calls).toContain('PutItemCommand');
    // A failing request through the guard asks the ledger (claim, count) on the same client.
    const guarded = countingClient();
    const failing = await postbackHandler({ dynamo: guarded.client, originSecret: SECRET, guarded: true })(
      httpEvent({ path: '/postback', query: `clickid=${CID}&type=Nope&key=${TEST_POSTBACK_KEY}`, headers: { [ORIGIN_VERIFY_HEADER]: SECRET } }),
    );
    expect(failing.statusCode).toBe(202);
    expect(guarded.calls).toContain('UpdateItemCommand');
  });
});

describe('privacy and audit', () => {
  it('logs which source and which of its keys matched (an index), never the key', async () => {
    const info = jest.spyOn(logger, 'info');
    try {
      const rotation = { required: true, sources: [{ id: 'digistore24', keys: [{ env: 'OLD_KEY' }, { generated: true as const }] }] };
      const h = createPostbackHandler(stores(), {
        now: () => NOW,
        inbound: { log: new DynamoInboundLog(client, tables.inbound), retentionDays: 30 },
        ...postbackAuth(rotation, testSecrets({ OLD_KEY: 'the-old-key-2025' })),
      });
      await h(get(`clickid=${CID}&type=payment&sum=1&txid=A&key=the-old-key-2025`));
      await h(get(`clickid=${CID}&type=payment&sum=1&txid=B&key=${TEST_POSTBACK_KEY}`));
      const lines = info.mock.calls.filter((c) => c[0] === 'postback').map((c) => c[1] as Record<string, unknown>);
      expect(lines.map((l) => [l.protectionSource, l.keyIndex])).toEqual([
        ['digistore24', 0],
        ['digistore24', 1],
      ]);
      expect(JSON.stringify(info.mock.calls)).not.toMatch(/the-old-key-2025|test-postback-key/);
      expect((await inbound()).map((e) => [e.txid, e.source, e.keyIndex]).sort()).toEqual([
        ['A', 'digistore24', 0],
        ['B', 'digistore24', 1],
      ]);
    } finally {
      info.mockRestore();
    }
  });

  it('keeps a refused request out of the inbound log, and logs its address only as ipStorage allows', async () => {
    const allowlisted = { required: true, sources: [{ id: 'digistore24', keys: [{ generated: true as const }], allowedIps: ['192.0.2.0/24'] }] };
    const h = postbackHandler({ protectedBy: allowlisted });
    const warn = jest.spyOn(logger, 'warn');
    try {
      const from = (ip: string) => httpEvent({ path: '/postback', query: `clickid=${CID}&type=payment&key=${TEST_POSTBACK_KEY}`, headers: { 'cloudfront-viewer-address': `${ip}:443` } });
      const refused = await h(from('198.51.100.77'));
      expect(refused.statusCode).toBe(403);
      // Anyone can send a refused request: none is stored (nor in the click's trace).
      expect(await inbound()).toEqual([]);
      const logged = JSON.stringify(warn.mock.calls);
      expect(logged).toContain('an address in 198.51.100.0/24 may not send postbacks for source digistore24');
      expect(logged).not.toContain('198.51.100.77');
      expect(logged).not.toContain(TEST_POSTBACK_KEY);
    } finally {
      warn.mockRestore();
    }
  });

  it('stores nothing for refused postbacks, pixels with a wrong key, or forged IPNs', async () => {
    const h = postbackHandler();
    for (let i = 0; i < 5; i++) expect((await h(get(`type=payment&sum=999999&currency=EUR&clickid=${CID}&key=wrong${i}`))).statusCode).toBe(403);
    for (let i = 0; i < 5; i++) expect((await h(get(`type=payment&sum=999999&currency=EUR&clickid=${CID}`))).statusCode).toBe(403);
    // A pixel with a wrong key is a keyless pixel: on a click that is not stored, nothing.
    for (let i = 0; i < 3; i++) expect((await h(get(`format=img&type=InitiateCheckout&clickid=01NOCLICK${String(i).padStart(17, '0')}&key=wrong`))).headers?.['content-type']).toBe('image/gif');
    const ipn = createIpnHandler(
      { ...stores(), ipn: config.digistore24?.ipn ?? (() => { throw new Error('no ipn'); })(), passphrase: async () => 'pass' },
      { inbound: { log: new DynamoInboundLog(client, tables.inbound), retentionDays: 30 } },
    );
    const forged = await ipn(httpEvent({ method: 'POST', path: '/ipn/digistore24', body: formBody({ event: 'on_payment', transaction_id: 'F1', amount_netto: '999', currency: 'EUR', click_id: CID, sha_sign: 'AAAA' }), headers: { 'content-type': 'application/x-www-form-urlencoded' }, base64: true }));
    expect(forged.statusCode).toBe(403);
    expect(await inbound()).toEqual([]);
    expect(await conversions()).toEqual([]);
  });

  it('keeps a key sent in a POST body (form or JSON) out of the dead-letter queue, and accepts it', async () => {
    const h = postbackHandler();
    const form = await h(httpEvent({ method: 'POST', path: '/postback', body: `clickid=${CID}&type=Nope&key=${TEST_POSTBACK_KEY}&sum=1`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, base64: true }));
    const json = await h(httpEvent({ method: 'POST', path: '/postback', body: JSON.stringify({ clickid: CID, type: 'Nope', key: TEST_POSTBACK_KEY }), headers: { 'content-type': 'application/json' } }));
    expect([form.statusCode, json.statusCode]).toEqual([202, 202]);
    const messages = queued();
    expect(messages).toHaveLength(2);
    expect(JSON.stringify(messages)).not.toContain(TEST_POSTBACK_KEY);
    expect(messages.map((m) => m.request.body)).toEqual([`clickid=${CID}&type=Nope&sum=1`, JSON.stringify({ clickid: CID, type: 'Nope' })]);
  });
});

describe('currencies', () => {
  it('refuses a made-up currency with 400 and stores, queues and counts nothing', async () => {
    const h = postbackHandler();
    for (const currency of ['XYZ', 'ZZZ', 'BTC', 'A%1Bb']) {
      const result = await h(get(`clickid=${CID}&type=payment&sum=10&currency=${currency}&txid=C-${currency}&key=${TEST_POSTBACK_KEY}`));
      expect(result.statusCode).toBe(400);
      expect(result.body).toMatch(/^Rejected: currency: ".*" is not an ISO 4217 currency code such as EUR\. Nothing was recorded\.\n$/);
    }
    expect(await conversions()).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
    expect(JSON.stringify(await inbound())).not.toMatch(/"currency":"(XYZ|ZZZ|BTC)"/);
  });

  it('holds to the config allowlist (defaults.currencies) on the postback and the IPN path', async () => {
    const ipnConfig = config.digistore24?.ipn;
    if (!ipnConfig) throw new Error('no ipn');
    const deps = { ...stores(), currencies: new Set(['EUR']) };
    const h = createPostbackHandler(deps, { now: () => NOW, ...postbackAuth(config.postbackProtection, testSecrets()) });
    expect((await h(get(`clickid=${CID}&type=payment&sum=10&currency=USD&txid=U1&key=${TEST_POSTBACK_KEY}`))).statusCode).toBe(400);
    const ipn = createIpnHandler({ ...deps, ipn: ipnConfig, passphrase: async () => 'pp' }, { now: () => NOW });
    const call = (currency: string, txid: string) =>
      ipn(
        httpEvent({
          method: 'POST',
          path: '/ipn/digistore24',
          body: formBody(signed({ event: 'on_refund', transaction_id: txid, cid: CID, amount_netto: '5.00', currency }, 'pp')),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      );
    // Signed money in a currency the tracker does not take (not ISO 4217; not in the allowlist)
    // is never relabelled as the default currency: it waits in the queue for a person, and
    // Digistore24 reads OK (a retry would not help).
    expect(await call('ZZZ', 'IPN-1')).toMatchObject({ statusCode: 200, body: 'OK' });
    expect(await call('USD', 'IPN-2')).toMatchObject({ statusCode: 200, body: 'OK' });
    expect(await conversions()).toEqual([]);
    expect(queued().map((m) => [m.kind, m.reason, m.detail])).toEqual([
      ['ipn', 'invalid_input', 'currency "ZZZ" is not one of this tracker\'s currencies (defaults.currencies: EUR)'],
      ['ipn', 'invalid_input', 'currency "USD" is not one of this tracker\'s currencies (defaults.currencies: EUR)'],
    ]);
    // An accepted one is recorded as sent.
    expect(await call('eur', 'IPN-3')).toMatchObject({ statusCode: 200, body: 'OK' });
    expect((await conversions()).map((c) => [c.txid, c.currency])).toEqual([['IPN-3', 'EUR']]);
  });
});

describe('answers never echo raw input', () => {
  it('cuts and cleans what a refusal quotes: the campaign of a click, a postback parameter', async () => {
    const click = createClickHandler({ config: compileConfig(config), clicks: new DynamoClickStore(client, tables.clicks), deadLetters: stores().deadLetters, log: logger });
    const campaignId = `<script>alert(1)</script>\u001b]0;x\u0007${'a'.repeat(300)}`;
    const notFound = await click(httpEvent({ path: '/click/x', pathParameters: { campaignId } }));
    expect(notFound.statusCode).toBe(404);
    expect(notFound.body).toBe(`Unknown campaign: "scriptalert(1)/script]0;x${'a'.repeat(39)}…" is not a campaign of this tracker\n`);
    const postback = await postbackHandler()(get(`clickid=${CID}&type=payment&sum=%3Cimg%20src%3Dx%3E&key=${TEST_POSTBACK_KEY}`));
    expect(postback.statusCode).toBe(400);
    expect(postback.body).not.toMatch(/[<>]/);
  });
});
