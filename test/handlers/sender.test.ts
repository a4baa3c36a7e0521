/**
 * The sender function's handler: an SQS batch (each job sent once, a damaged body dropped, a job
 * that throws reported alone as a batch item failure), and the hourly schedule (day keys made and
 * deleted, the sweep run). Against the platform stand-ins and dynalite.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { parseConfig, type TrackerConfig } from '../../config/schema';
import { digistore24ConversionTypes } from '../../config/digistore24';
import { DynamoClickStore, DynamoConversionStore } from '../../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../../lambda/adapters/file-dead-letter';
import { DynamoIpKeyStore } from '../../lambda/adapters/ip-keys';
import type { ConversionRecord } from '../../lambda/core/model';
import { keyDay } from '../../lambda/core/sealed-ip';
import type { SendConversion } from '../../lambda/core/send-model';
import { createSenderHandler } from '../../lambda/handlers/sender';
import { publish, sendMetrics } from '../../lambda/metrics';
import type { TableNames } from '../../lambda/local/tables';
import { TEST_PROTECTION } from '../support/config';
import { freshTables, scanAll } from '../support/dynamo';
import { PlatformStandIns, STAND_IN_ENV, standInChannels } from '../support/platform-stand-ins';
import { testSender } from '../support/sender';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

let standIns: PlatformStandIns;
let client: DynamoDBClient;
let tables: TableNames;
let config: TrackerConfig;

beforeAll(async () => {
  standIns = await new PlatformStandIns().start();
});
afterAll(() => standIns.close());

beforeEach(async () => {
  standIns.reset();
  ({ client, tables } = await freshTables());
  config = parseConfig({
    trafficChannels: standInChannels(standIns.url),
    offers: [{ id: 'o', name: 'O', source: 'custom', url: 'https://shop.example.com/?c={clickid}' }],
    campaigns: [
      { id: 'fb', name: 'FB', trafficChannel: 'meta', offers: [{ offer: 'o' }] },
      { id: 'gg', name: 'GG', trafficChannel: 'google', offers: [{ offer: 'o' }] },
    ],
    conversionTypes: digistore24ConversionTypes.map((t) => (t.name === 'payment' ? { ...t, platformEvents: { meta: 'Purchase', 'google-ads': 'customers/1234567890/conversionActions/1' } } : t)),
    postbackProtection: TEST_PROTECTION,
  });
});

/** A Meta click and its recorded sale, marked as recording marks it. */
async function metaSale(n: number, clickAt = new Date()): Promise<ConversionRecord> {
  const clickId = `01JDZ8Q3V6W0K1X2Y3Z4A5B6C${n}`;
  await new DynamoClickStore(client, tables.clicks).putClick({ clickId, campaignId: 'fb', offerId: 'o', channelId: 'meta', channelClickId: `fbclid${n}`, createdAt: clickAt.toISOString(), expiresAt: 1900000000, subs: {}, userAgent: 'UA' });
  const conversion: SendConversion = {
    clickId, conversionKey: `payment|T${n}`, type: 'payment', revenue: '10', currency: 'EUR', counted: true, txid: `T${n}`, source: 'postback', createdAt: new Date().toISOString(), attributed: true,
    campaignId: 'fb', offerId: 'o', channelId: 'meta', channelClickId: `fbclid${n}`, clickCreatedAt: clickAt.toISOString(), forwardTo: 'meta', sendQueue: 'meta', sendDue: new Date().toISOString(),
  };
  await new DynamoConversionStore(client, tables.conversions).putConversion(conversion);
  return conversion;
}

const record = (messageId: string, body: string): SQSRecord => ({ messageId, body, receiptHandle: messageId, attributes: {} as SQSRecord['attributes'], messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:1:send', awsRegion: 'us-east-1' });

describe('the sender function', () => {
  it('sends each job of a batch once, drops a damaged body, and reports only the job that threw', async () => {
    const queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-sender-')));
    const sender = testSender(config, client, tables, () => queue, { env: STAND_IN_ENV });
    sender.queue.stop();
    const a = await metaSale(1);
    const b = await metaSale(2);
    const state = sender.deps.state;
    // The store fails for one conversion (as a throttled or unreachable DynamoDB would).
    const flaky = { ...sender.deps, state: Object.assign(Object.create(Object.getPrototypeOf(state) as object) as typeof state, state, { get: async (clickId: string, key: string) => (clickId === b.clickId ? Promise.reject(new Error('ProvisionedThroughputExceededException')) : state.get(clickId, key)) }) };
    const handler = createSenderHandler(flaky);
    const event: SQSEvent = {
      Records: [
        record('m1', JSON.stringify({ clickId: a.clickId, conversionKey: a.conversionKey })),
        record('m2', 'not json'),
        record('m3', JSON.stringify({ clickId: b.clickId, conversionKey: b.conversionKey })),
        record('m4', JSON.stringify({ clickId: a.clickId, conversionKey: a.conversionKey })),
      ],
    };
    expect(await handler(event, { getRemainingTimeInMillis: () => 300_000 })).toEqual({ batchItemFailures: [{ itemIdentifier: 'm3' }] });
    expect(standIns.of('meta')).toHaveLength(1);
    // Redelivered with the store back: sent, once.
    expect(await createSenderHandler(sender.deps)({ Records: [record('m3', JSON.stringify({ clickId: b.clickId, conversionKey: b.conversionKey }))] })).toEqual({ batchItemFailures: [] });
    expect(standIns.of('meta')).toHaveLength(2);
    expect((await scanAll(client, tables.conversions)).map((c) => c.forwardState)).toEqual(['sent', 'sent']);
  });

  it('starts no send in the last 45 s before its deadline: the jobs go back to SQS, nothing half-done', async () => {
    const queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-sender-')));
    const sender = testSender(config, client, tables, () => queue, { env: STAND_IN_ENV });
    sender.queue.stop();
    const a = await metaSale(4);
    const handler = createSenderHandler(sender.deps);
    // Lambda says 40 s are left (a batch that waited, or a short timeout): below the 45 s margin.
    const late = await handler({ Records: [record('late', JSON.stringify({ clickId: a.clickId, conversionKey: a.conversionKey }))] }, { getRemainingTimeInMillis: () => 40_000 });
    expect(late).toEqual({ batchItemFailures: [{ itemIdentifier: 'late' }] });
    expect(standIns.of('meta')).toHaveLength(0);
    expect((await scanAll(client, tables.conversions)).find((c) => c.clickId === a.clickId)).not.toHaveProperty('forwardState');
    // With time: sent.
    expect(await handler({ Records: [record('again', JSON.stringify({ clickId: a.clickId, conversionKey: a.conversionKey }))] }, { getRemainingTimeInMillis: () => 300_000 })).toEqual({ batchItemFailures: [] });
    expect(standIns.of('meta')).toHaveLength(1);
  });

  it('on its schedule makes today\'s and tomorrow\'s IP keys, deletes expired ones, and sweeps', async () => {
    const queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-sender-')));
    const sender = testSender(config, client, tables, () => queue, { env: STAND_IN_ENV });
    sender.queue.stop();
    const keys = new DynamoIpKeyStore(client, tables.ipKeys);
    await keys.createKey('2020-01-01', Buffer.alloc(32, 1), 0);
    // A send whose job was lost 20 minutes ago.
    const lost = await metaSale(3);
    await client.send(
      new (await import('@aws-sdk/client-dynamodb')).UpdateItemCommand({
        TableName: tables.conversions,
        Key: { clickId: { S: lost.clickId }, conversionKey: { S: lost.conversionKey } },
        UpdateExpression: 'SET sendDue = :d',
        ExpressionAttributeValues: { ':d': { S: new Date(Date.now() - 20 * 60_000).toISOString() } },
      }),
    );
    const result = await createSenderHandler(sender.deps, { keys })({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, { getRemainingTimeInMillis: () => 300_000 });
    expect(result).toEqual({ swept: { meta: { sent: 1 } } });
    expect(standIns.of('meta')).toHaveLength(1);
    expect(await keys.listKeyDays()).toEqual([keyDay(new Date()), keyDay(new Date(Date.now() + 86_400_000))]);
  });

  it('counts sends by platform and outcome (PlatformSends), postback URL forwards as Forwards', () => {
    expect(
      sendMetrics([
        { clickId: 'a', conversionKey: 'k', to: 'meta', outcome: 'sent' },
        { clickId: 'a', conversionKey: 'k', to: 'google-ads', outcome: 'later' },
        { clickId: 'a', conversionKey: 'k', to: 'postback', outcome: 'queued' },
        { clickId: 'a', conversionKey: 'k', to: 'meta', outcome: 'busy' },
      ]),
    ).toEqual([
      { name: 'PlatformSends', value: 1, unit: 'Count', dimensions: [{ name: 'platform', value: 'meta' }, { name: 'outcome', value: 'sent' }] },
      { name: 'PlatformSends', value: 1, unit: 'Count', dimensions: [{ name: 'platform', value: 'google-ads' }, { name: 'outcome', value: 'later' }] },
      { name: 'Forwards', value: 1, unit: 'Count', dimension: { name: 'status', value: 'queued' } },
    ]);
    void publish;
  });
});
