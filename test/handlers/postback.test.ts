import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { SqsDeadLetterSink } from '../../lambda/adapters/sqs-dead-letter';
import type { ClickRecord, DeadLetterMessage } from '../../lambda/core/model';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { postbackAuth } from '../../lambda/handlers/runtime';
import { CachedSecretReader } from '../../lambda/adapters/secrets';
import type { TableNames } from '../../lambda/local/tables';
import { testConfig } from '../support/config';
import { freshTables, scanAll, unreachableClient } from '../support/dynamo';
import { httpEvent } from '../support/events';

const sqs = mockClient(SQSClient);
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/clickvault-dlq';
const config = testConfig();
const CLICK_ID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';

let client: DynamoDBClient;
let tables: TableNames;

async function seedClick(clickId = CLICK_ID): Promise<void> {
  const click: ClickRecord = {
    clickId,
    campaignId: 'demo',
    offerId: 'ds24',
    channelId: 'facebook',
    createdAt: '2026-11-25T10:00:00.000Z',
    expiresAt: 1800000000,
    subs: {},
  };
  await new DynamoClickStore(client, tables.clicks).putClick(click);
}

function handler(options: { clicksClient?: DynamoDBClient; conversionsClient?: DynamoDBClient; typesClient?: DynamoDBClient } = {}) {
  const sink = new SqsDeadLetterSink(QUEUE, () => new SQSClient({}));
  return createPostbackHandler(
    {
      clicks: new DynamoClickStore(options.clicksClient ?? client, tables.clicks),
      conversions: new DynamoConversionStore(options.conversionsClient ?? client, tables.conversions),
      types: new DynamoConversionTypes(options.typesClient ?? client, tables.conversionTypes),
      deadLetters: () => sink,
      defaultCurrency: 'EUR',
    },
    { now: () => new Date('2026-11-25T11:00:00.000Z') },
  );
}

const get = (query: string) => httpEvent({ path: '/postback', query });
const conversions = () => scanAll(client, tables.conversions);
const queued = () => sqs.commandCalls(SendMessageCommand).map((c) => JSON.parse(String(c.args[0].input.MessageBody)) as DeadLetterMessage);

beforeEach(async () => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
  ({ client, tables } = await freshTables());
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  await seedClick();
});

describe('GET|POST /postback', () => {
  it('records a Digistore24 payment with campaign, offer and channel copied from the click', async () => {
    const result = await handler()(get(`clickid=${CLICK_ID}&sum=47.00&currency=EUR&txid=98765431&type=payment`));
    expect(result).toMatchObject({ statusCode: 200, body: 'OK\n' });
    expect(await conversions()).toEqual([
      {
        clickId: CLICK_ID,
        conversionKey: 'payment|98765431',
        type: 'payment',
        revenue: 47,
        currency: 'EUR',
        counted: true,
        txid: '98765431',
        source: 'postback',
        createdAt: '2026-11-25T11:00:00.000Z',
        attributed: true,
        campaignId: 'demo',
        offerId: 'ds24',
        channelId: 'facebook',
        clickCreatedAt: '2026-11-25T10:00:00.000Z',
        // This request's token: a retried write that finds it knows the item is its own.
        writeToken: expect.any(String),
      },
    ]);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('counts a repeat of click id + type + txid once and says so', async () => {
    const h = handler();
    await h(get(`clickid=${CLICK_ID}&type=payment&sum=47&txid=T1`));
    const again = await h(get(`clickid=${CLICK_ID}&type=payment&sum=47&txid=T1`));
    expect(again.statusCode).toBe(200);
    expect(again.body).toMatch(/^OK duplicate: payment for this click and txid T1 was recorded before; nothing changed/);
    await h(get(`clickid=${CLICK_ID}&type=payment&sum=47&txid=T2`));
    await h(get(`clickid=${CLICK_ID}&type=upsell&sum=47&txid=T1`));
    expect((await conversions()).map((c) => c.conversionKey).sort()).toEqual(['payment|T1', 'payment|T2', 'upsell|T1']);
  });

  it('makes exactly one conversion from 100 concurrent identical postbacks', async () => {
    const h = handler();
    const results = await Promise.all(Array.from({ length: 100 }, () => h(get(`clickid=${CLICK_ID}&type=payment&sum=47&txid=RACE`))));
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    expect(results.filter((r) => r.body === 'OK\n')).toHaveLength(1);
    expect(await conversions()).toHaveLength(1);
  });

  it('takes the sign of revenue from the type', async () => {
    const h = handler();
    await h(get(`clickid=${CLICK_ID}&type=refund&sum=47.00&txid=R1`));
    await h(get(`clickid=${CLICK_ID}&type=chargeback&sum=-10.50&txid=C1`));
    await h(get(`clickid=${CLICK_ID}&type=payment&sum=-5&txid=P1`));
    await h(get(`clickid=${CLICK_ID}&type=InitiateCheckout&sum=99`));
    const byKey = Object.fromEntries((await conversions()).map((c) => [c.conversionKey, c]));
    expect(byKey['refund|R1']).toMatchObject({ revenue: -47 });
    expect(byKey['chargeback|C1']).toMatchObject({ revenue: -10.5 });
    expect(byKey['payment|P1']).toMatchObject({ revenue: 5 });
    expect(byKey['InitiateCheckout|']).toMatchObject({ revenue: 0, counted: false });
  });

  it('answers the pixel with a 1x1 GIF and records it as source pixel', async () => {
    const result = await handler()(get(`format=img&clickid=${CLICK_ID}&type=InitiateCheckout`));
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'content-type': 'image/gif', 'cache-control': 'no-store' });
    expect(Buffer.from(String(result.body), 'base64').subarray(0, 6).toString()).toBe('GIF89a');
    expect(await conversions()).toEqual([expect.objectContaining({ type: 'InitiateCheckout', source: 'pixel' })]);
  });

  it('answers the pixel with a GIF even for bad input, unknown clicks and dead storage', async () => {
    for (const event of [
      get('format=img&clickid=%3Cx%3E&type=InitiateCheckout'),
      get('format=img&clickid=__cid__&type=InitiateCheckout'),
      get('format=img&clickid=UNKNOWN&type=InitiateCheckout'),
    ]) {
      const result = await handler()(event);
      expect(result.headers?.['content-type']).toBe('image/gif');
    }
    const down = await handler({ clicksClient: unreachableClient(), typesClient: unreachableClient() })(get(`format=img&clickid=${CLICK_ID}&type=InitiateCheckout`));
    expect(down.headers?.['content-type']).toBe('image/gif');
  });

  it.each([
    ['clickid={cid}&type=payment&sum=47'],
    ['format=img&clickid=__cid__&type=InitiateCheckout'],
    [`clickid=${CLICK_ID}&type=payment&sum=47&is_test=1`],
  ])('explains a Digistore24 test postback (%s) and records nothing', async (query) => {
    const result = await handler()(get(query));
    expect(result.statusCode).toBe(200);
    if (!query.startsWith('format=img')) expect(result.body).toMatch(/^Test postback received: it reached Clickvault, and nothing was recorded/);
    expect(await conversions()).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('records a postback without click id as an unattributed (organic) sale', async () => {
    const h = handler();
    expect((await h(get('type=payment&sum=20&txid=ORG-1'))).statusCode).toBe(200);
    expect((await h(get('type=payment&sum=20&txid=ORG-1'))).body).toMatch(/^OK duplicate/);
    expect(await conversions()).toEqual([expect.objectContaining({ clickId: '~unattributed', attributed: false, revenue: 20, conversionKey: 'payment|ORG-1' })]);
    // Indexed under the campaign id ~unattributed, so reports read organic sales by time.
    expect((await conversions())[0]).toMatchObject({ campaignId: '~unattributed' });
  });

  it('queues an unknown conversion type with the reason, and answers 202', async () => {
    const result = await handler()(get(`clickid=${CLICK_ID}&type=Payment&sum=47&txid=T9`));
    expect(result.statusCode).toBe(202);
    expect(result.body).toContain('unknown conversion type "Payment" (names are case-sensitive)');
    expect(queued()).toEqual([
      expect.objectContaining({ kind: 'postback', reason: 'unknown_type', clickId: CLICK_ID, request: expect.objectContaining({ query: `clickid=${CLICK_ID}&type=Payment&sum=47&txid=T9` }) }),
    ]);
    expect(await conversions()).toEqual([]);
  });

  it('queues a click id with no stored click', async () => {
    const result = await handler()(get('clickid=01JDZ8Q3V6W0K1X2Y3Z4AAAAAA&type=payment&sum=1'));
    expect(result.statusCode).toBe(202);
    expect(queued()).toEqual([expect.objectContaining({ reason: 'unknown_click', clickId: '01JDZ8Q3V6W0K1X2Y3Z4AAAAAA' })]);
  });

  it('queues when storage fails, and answers 503 when the queue fails too', async () => {
    const down = handler({ conversionsClient: unreachableClient() });
    const result = await down(get(`clickid=${CLICK_ID}&type=payment&sum=47&txid=T1`));
    expect(result.statusCode).toBe(202);
    expect(queued()).toEqual([expect.objectContaining({ reason: 'storage_error' })]);

    sqs.reset();
    sqs.on(SendMessageCommand).rejects(new Error('SQS unavailable'));
    const worse = await down(get(`clickid=${CLICK_ID}&type=payment&sum=47&txid=T1`));
    expect(worse.statusCode).toBe(503);
    expect(worse.body).toContain('Please retry');
    expect(await conversions()).toEqual([]);
  });

  it.each([
    ['clickid=a%3Cb&type=payment', 'clickid'],
    [`clickid=${CLICK_ID}&type=payment&sum=forty`, 'sum'],
    [`clickid=${CLICK_ID}&type=payment&txid=${'x'.repeat(200)}`, 'txid'],
    [`clickid=${CLICK_ID}`, 'type'],
  ])('refuses malformed input (%s) with 400 naming %s, and stores nothing', async (query, parameter) => {
    const result = await handler()(get(query));
    expect(result.statusCode).toBe(400);
    expect(result.body).toMatch(new RegExp(`^Rejected: ${parameter}: `));
    expect(await conversions()).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('accepts POST bodies, form-encoded and JSON (base64 as API Gateway sends them)', async () => {
    const h = handler();
    const form = await h(httpEvent({ method: 'POST', path: '/postback', body: `clickid=${CLICK_ID}&type=payment&amount=10&transaction_id=F1`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, base64: true }));
    const json = await h(httpEvent({ method: 'POST', path: '/postback', body: JSON.stringify({ cid: CLICK_ID, type: 'chargeback', payout: '5.5', order_id: 'J1' }), headers: { 'content-type': 'application/json' } }));
    expect([form.statusCode, json.statusCode]).toEqual([200, 200]);
    expect((await conversions()).map((c) => [c.conversionKey, c.revenue]).sort()).toEqual([
      ['chargeback|J1', -5.5],
      ['payment|F1', 10],
    ]);
  });
});

describe('postback protection', () => {
  const protectedHandler = () => {
    const sink = new SqsDeadLetterSink(QUEUE, () => new SQSClient({}));
    return createPostbackHandler(
      {
        clicks: new DynamoClickStore(client, tables.clicks),
        conversions: new DynamoConversionStore(client, tables.conversions),
        types: new DynamoConversionTypes(client, tables.conversionTypes),
        deadLetters: () => sink,
        defaultCurrency: 'EUR',
      },
      postbackAuth(
        { required: true, sources: [{ id: 'ds24', keys: [{ env: 'TEST_PB_KEY_NEW' }, { env: 'TEST_PB_KEY_OLD' }], allowedIps: ['198.51.100.0/24'] }] },
        new CachedSecretReader('local', { TEST_PB_KEY_NEW: 'n3w-s3cret', TEST_PB_KEY_OLD: '0ld-s3cret' }),
      ),
    );
  };

  it('accepts the key as a query parameter or a path token, and keeps it out of the queue', async () => {
    const h = protectedHandler();
    expect((await h(get(`clickid=${CLICK_ID}&type=payment&sum=1&txid=A&key=n3w-s3cret`))).statusCode).toBe(200);
    const path = httpEvent({ path: '/postback/0ld-s3cret', pathParameters: { key: '0ld-s3cret' }, query: `clickid=${CLICK_ID}&type=payment&sum=1&txid=B` });
    expect((await h(path)).statusCode).toBe(200);
    expect(await conversions()).toHaveLength(2);

    const unknown = await h(get(`clickid=${CLICK_ID}&type=Nope&key=n3w-s3cret`));
    expect(unknown.statusCode).toBe(202);
    const queuedPath = await h(httpEvent({ path: '/postback/0ld-s3cret', pathParameters: { key: '0ld-s3cret' }, query: `clickid=${CLICK_ID}&type=Nope` }));
    expect(queuedPath.statusCode).toBe(202);
    const kept = JSON.stringify(queued());
    expect(kept).not.toContain('s3cret');
    expect(queued().map((m) => [m.request.path, m.request.query])).toEqual([
      ['/postback', `clickid=${CLICK_ID}&type=Nope`],
      ['/postback', `clickid=${CLICK_ID}&type=Nope`],
    ]);
  });

  it('refuses a missing or wrong key, or a foreign address, with 403 and stores nothing', async () => {
    const h = protectedHandler();
    const missing = await h(get(`clickid=${CLICK_ID}&type=payment&sum=1`));
    expect(missing.statusCode).toBe(403);
    expect(missing.body).toContain('requires the postback key');
    expect((await h(get(`clickid=${CLICK_ID}&type=payment&sum=1&key=guess`))).statusCode).toBe(403);
    const foreign = httpEvent({ path: '/postback', query: `clickid=${CLICK_ID}&type=payment&key=n3w-s3cret`, headers: { 'cloudfront-viewer-address': '203.0.113.5:443' } });
    expect((await h(foreign)).body).toContain('may not send postbacks for source ds24');
    expect(await conversions()).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('lets the order-form pixel record InitiateCheckout without a key, but nothing that counts or pays', async () => {
    const h = protectedHandler();
    const pixel = await h(get(`format=img&clickid=${CLICK_ID}&type=InitiateCheckout`));
    expect(pixel.headers?.['content-type']).toBe('image/gif');
    const forged = await h(get(`format=img&clickid=${CLICK_ID}&type=payment&sum=999&txid=F`));
    expect(forged.headers?.['content-type']).toBe('image/gif');
    expect((await conversions()).map((c) => c.type)).toEqual(['InitiateCheckout']);
  });
});
