/**
 * Conversions that arrive after their click is gone (a chargeback 100 days after the payment,
 * under a 90-day retention) and refunds that name no currency, through the real postback
 * handler on dynalite, wired as every function wires it (runtime conversionDeps).
 */
import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoConversionHistory } from '../../lambda/adapters/conversion-history';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, clickKey } from '../../lambda/adapters/dynamodb-store';
import type { DeadLetterMessage, DeadLetterSink } from '../../lambda/core/model';
import { HISTORY_LIMIT } from '../../lambda/core/conversion';
import { buildReport, formatJson, startOfDay } from '../../lambda/core/report';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { conversionDeps } from '../../lambda/handlers/runtime';
import { logger } from '../../lambda/logger';
import type { TableNames } from '../../lambda/local/tables';
import { loadReportData } from '../../lambda/adapters/report-data';
import { testConfig } from '../support/config';
import { countingClient, freshTables, scanAll } from '../support/dynamo';
import { httpEvent } from '../support/events';

const DAY = 86400_000;
const config = testConfig({ clickRetentionDays: 90 });
const CLICKED = '2026-03-01T10:00:00.000Z';

let client: DynamoDBClient;
let calls: string[];
let tables: TableNames;
let queued: DeadLetterMessage[];
let now: Date;
/** The Limit of every history read. */
let limits: number[];

beforeEach(async () => {
  ({ client, tables } = await freshTables());
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  ({ client, calls } = countingClient());
  queued = [];
  limits = [];
  now = new Date(CLICKED);
});

const sink: DeadLetterSink = {
  send: async (m) => {
    queued.push(m);
    return { status: 'queued', messageId: m.id };
  },
};

function postback() {
  const deps = conversionDeps(
    config,
    {
      clicks: new DynamoClickStore(client, tables.clicks),
      conversions: new DynamoConversionStore(client, tables.conversions),
      history: {
        conversionsOf: (clickId: string, limit: number) => {
          limits.push(limit);
          return new DynamoConversionHistory(client, tables.conversions).conversionsOf(clickId, limit);
        },
      },
      types: new DynamoConversionTypes(client, tables.conversionTypes, 0),
    },
    () => sink,
  );
  return createPostbackHandler(deps, { now: () => now });
}

async function click(query: string, campaign = 'demo'): Promise<string> {
  const handler = createClickHandler({ config: compileConfig(config), clicks: new DynamoClickStore(client, tables.clicks), deadLetters: () => sink, log: logger, random: () => 0 }, { now: () => now });
  const r = await handler(httpEvent({ path: `/click/${campaign}`, query, pathParameters: { campaignId: campaign }, headers: { 'cloudfront-viewer-country': 'DE' } }));
  return new URL(String(r.headers?.location)).searchParams.get('cid') ?? '';
}

async function send(at: number, query: string) {
  now = new Date(at);
  calls.length = 0;
  return postback()(httpEvent({ path: '/postback', query }));
}

/** What DynamoDB's TTL does some time after expiresAt. */
const ttlDeletes = (clickId: string) => client.send(new DeleteItemCommand({ TableName: tables.clicks, Key: clickKey(clickId) }));
const stored = async () => (await scanAll(client, tables.conversions)).sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));

describe('a conversion for a click that expired', () => {
  it('attributes a chargeback 100 days after the payment to the sale\'s campaign, offer, channel, subs and day, and nets it', async () => {
    const cid = await click('sub1=adset-7&sub2=ad-3&fbclid=FB.9');
    const t0 = Date.parse(CLICKED);
    expect((await send(t0 + DAY, `clickid=${cid}&type=payment&sum=47.00&currency=USD&txid=T1`)).body).toBe('OK\n');
    await ttlDeletes(cid);

    const late = await send(t0 + 101 * DAY, `clickid=${cid}&type=chargeback&sum=47.00&currency=USD&txid=T1C`);
    expect([late.statusCode, late.body]).toEqual([200, 'OK\n']);
    // The rare path: one Query for the click's conversions, after the click was not found
    // (the first GetItem reads the type, the second the click).
    expect(calls).toEqual(['GetItemCommand', 'GetItemCommand', 'QueryCommand', 'PutItemCommand']);
    expect(limits).toEqual([1]);
    expect(queued).toEqual([]);

    const [payment, chargeback] = await stored();
    const attribution = ['campaignId', 'offerId', 'channelId', 'channelClickId', 'clickCreatedAt', 'country', 'sub1', 'sub2'];
    for (const field of attribution) expect([field, chargeback?.[field]]).toEqual([field, payment?.[field]]);
    expect(chargeback).toMatchObject({ clickId: cid, campaignId: 'demo', channelClickId: 'FB.9', sub1: 'adset-7', clickCreatedAt: CLICKED, revenue: -47, currency: 'USD', attributed: true });

    // In the report the chargeback nets against its payment: same row, the click's day.
    const data = await loadReportData({ client, tables, campaigns: ['demo'], from: startOfDay('2026-03-01', 'UTC'), to: startOfDay('2026-03-02', 'UTC'), includeUnattributed: false });
    expect(JSON.parse(formatJson(buildReport(data.clicks, data.conversions, { by: ['campaign', 'day', 'sub1'], timeZone: 'UTC', costCurrency: 'EUR' })))).toEqual([
      { campaignId: 'demo', retired: false, day: '2026-03-01', sub1: 'adset-7', clicks: 0, bots: 0, lpClicks: 0, lpCtr: null, conversions: { chargeback: 1, payment: 1 }, revenue: { USD: 0 }, cr: 0, epc: { USD: 0 }, partial: false },
    ]);
  });

  it('attributes a rebill and a refund while the expired click is still stored (TTL deletes late)', async () => {
    const cid = await click('sub1=s');
    const t0 = Date.parse(CLICKED);
    await send(t0 + 10 * DAY, `clickid=${cid}&type=payment&sum=30&currency=EUR&txid=R1`);
    expect((await send(t0 + 95 * DAY, `clickid=${cid}&type=payment&sum=30&currency=EUR&txid=R2`)).body).toBe('OK\n');
    expect((await send(t0 + 96 * DAY, `clickid=${cid}&type=refund&sum=30&currency=EUR&txid=R2R`)).body).toBe('OK\n');
    expect((await stored()).map((c) => [c.conversionKey, c.campaignId, c.sub1, c.clickCreatedAt])).toEqual([
      ['payment|R1', 'demo', 's', CLICKED],
      ['payment|R2', 'demo', 's', CLICKED],
      ['refund|R2R', 'demo', 's', CLICKED],
    ]);
    // A repeat of the late one is still a duplicate.
    expect((await send(t0 + 97 * DAY, `clickid=${cid}&type=refund&sum=30&currency=EUR&txid=R2R`)).body).toMatch(/^OK duplicate/);
  });

  it('queues a conversion for an expired click with no conversions as unknown_click, as before', async () => {
    const cid = await click('sub1=s');
    const t0 = Date.parse(CLICKED);
    const stillStored = await send(t0 + 91 * DAY, `clickid=${cid}&type=payment&sum=30&currency=EUR&txid=X1`);
    expect(stillStored.statusCode).toBe(202);
    expect(stillStored.body).toContain('expired on 2026-05-30');
    await ttlDeletes(cid);
    const deleted = await send(t0 + 92 * DAY, `clickid=${cid}&type=payment&sum=30&currency=EUR&txid=X2`);
    expect(deleted.statusCode).toBe(202);
    expect(queued.map((m) => m.reason)).toEqual(['unknown_click', 'unknown_click']);
    expect(await stored()).toEqual([]);
  });

  it('never attributes from a test order (stored apart under ~test:<campaign>), nor takes its currency', async () => {
    const cid = await click('sub1=t');
    const t0 = Date.parse(CLICKED);
    // A Digistore24 test order as the IPN stores it, sorting before the live sale.
    const testOrder = { clickId: cid, conversionKey: 'payment|P0|test', type: 'payment', revenue: 1, currency: 'CHF', counted: true, test: true, source: 'ipn', attributed: true, campaignId: '~test:demo', clickCreatedAt: CLICKED, createdAt: new Date(t0 + DAY).toISOString() };
    await client.send(new PutItemCommand({ TableName: tables.conversions, Item: marshall(testOrder) }));
    const only = await click('sub1=u');
    await client.send(new PutItemCommand({ TableName: tables.conversions, Item: marshall({ ...testOrder, clickId: only }) }));
    await send(t0 + 2 * DAY, `clickid=${cid}&type=payment&sum=20&currency=USD&txid=P1`);
    await ttlDeletes(cid);
    await ttlDeletes(only);

    expect((await send(t0 + 120 * DAY, `clickid=${cid}&type=refund&sum=20&txid=P1R`)).body).toBe('OK\n');
    expect(limits.slice(-1)).toEqual([HISTORY_LIMIT]);
    const refund = (await stored()).find((c) => c.conversionKey === 'payment|P1' ? false : c.type === 'refund');
    expect(refund).toMatchObject({ campaignId: 'demo', sub1: 't', currency: 'USD', revenue: -20 });
    limits = [];
    expect((await send(t0 + 121 * DAY, `clickid=${cid}&type=chargeback&sum=20&currency=USD&txid=P1C`)).body).toBe('OK\n');
    expect(limits).toEqual([1, HISTORY_LIMIT]);
    // A click whose only conversion is a test order has nothing to attribute from.
    expect((await send(t0 + 121 * DAY, `clickid=${only}&type=payment&sum=20&currency=USD&txid=Q1`)).statusCode).toBe(202);
    expect(queued.map((m) => m.reason)).toEqual(['unknown_click']);
  });

  it('reads nothing more on the common path: a live click, a refund that names its currency', async () => {
    const cid = await click('');
    await send(Date.parse(CLICKED) + DAY, `clickid=${cid}&type=payment&sum=10&currency=EUR&txid=N1`);
    expect(calls).toEqual(['GetItemCommand', 'GetItemCommand', 'PutItemCommand']);
    await send(Date.parse(CLICKED) + 2 * DAY, `clickid=${cid}&type=refund&sum=10&currency=EUR&txid=N1R`);
    expect(calls).toEqual(['GetItemCommand', 'GetItemCommand', 'PutItemCommand']);
  });
});

describe('a refund without currency', () => {
  it('takes its payment\'s currency, not the default', async () => {
    const cid = await click('');
    const t0 = Date.parse(CLICKED);
    await send(t0 + DAY, `clickid=${cid}&type=payment&sum=47.00&currency=USD&txid=P1`);
    expect((await send(t0 + 2 * DAY, `clickid=${cid}&type=refund&sum=47.00&txid=P1R`)).body).toBe('OK\n');
    expect(calls).toEqual(['GetItemCommand', 'GetItemCommand', 'QueryCommand', 'PutItemCommand']);
    // ...also after the click expired, and for a chargeback.
    await ttlDeletes(cid);
    expect((await send(t0 + 120 * DAY, `clickid=${cid}&type=chargeback&sum=47.00&txid=P1C`)).body).toBe('OK\n');
    expect((await stored()).map((c) => [c.type, c.revenue, c.currency])).toEqual([
      ['payment', 47, 'USD'],
      ['refund', -47, 'USD'],
      ['chargeback', -47, 'USD'],
    ]);
  });

  it('finds the payment behind many conversions that sort before it (a subscription\'s status postbacks)', async () => {
    const cid = await click('');
    const t0 = Date.parse(CLICKED);
    await send(t0 + DAY, `clickid=${cid}&type=payment&sum=100&currency=USD&txid=P1`);
    // 30 items whose keys (`InitiateCheckout|...`) come before `payment|...` in the partition.
    for (let i = 1; i <= 30; i++) await send(t0 + DAY + i * 1000, `clickid=${cid}&type=InitiateCheckout&txid=IC${i}`);
    expect((await send(t0 + 2 * DAY, `clickid=${cid}&type=refund&sum=100&txid=RF1`)).body).toBe('OK\n');
    expect((await stored()).filter((c) => c.type === 'refund').map((c) => [c.revenue, c.currency])).toEqual([[-100, 'USD']]);
  });

  it('takes the latest payment\'s currency when the click paid in several, and the default when none is stored', async () => {
    const cid = await click('');
    const other = await click('');
    const t0 = Date.parse(CLICKED);
    await send(t0 + DAY, `clickid=${cid}&type=payment&sum=10&currency=USD&txid=A`);
    await send(t0 + 2 * DAY, `clickid=${cid}&type=payment&sum=10&currency=CHF&txid=B`);
    await send(t0 + 3 * DAY, `clickid=${cid}&type=refund&sum=10&txid=BR`);
    await send(t0 + 3 * DAY, `clickid=${other}&type=refund&sum=10&txid=OR`);
    const refunds = (await stored()).filter((c) => c.type === 'refund').map((c) => [c.clickId === cid ? 'paid' : 'unpaid', c.currency]).sort();
    expect(refunds).toEqual([
      ['paid', 'CHF'],
      ['unpaid', 'EUR'],
    ]);
  });
});
