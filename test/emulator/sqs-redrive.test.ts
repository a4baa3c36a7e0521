/**
 * Against a real SQS API (moto_server): send -> list -> redrive -> delete, end to end.
 * `.ci/run` starts moto_server on loopback and sets MOTO_ENDPOINT; without it this suite is
 * reported as skipped and says so.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { SqsDeadLetterQueue } from '../../lambda/adapters/sqs-dead-letter';
import { handlePostback } from '../../lambda/core/postback';
import { redrive, type ReplayDeps } from '../../lambda/core/replay';
import type { TableNames } from '../../lambda/local/tables';
import { testConfig } from '../support/config';
import { freshTables, scanAll } from '../support/dynamo';

const endpoint = process.env.MOTO_ENDPOINT;
if (!endpoint) {
  // eslint-disable-next-line no-console
  console.warn('SQS emulator suite NOT RUN: MOTO_ENDPOINT is not set (.ci/run starts moto_server and sets it).');
}
const suite = endpoint ? describe : describe.skip;

suite('dead-letter queue on a real SQS API (moto)', () => {
  const sqs = () => new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  let client: DynamoDBClient;
  let tables: TableNames;
  let queueUrl: string;

  beforeAll(async () => {
    ({ client, tables } = await freshTables());
    await syncConversionTypes(client, tables.conversionTypes, testConfig().conversionTypes);
    await new DynamoClickStore(client, tables.clicks).putClick({
      clickId: '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7', campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {},
    });
    const created = await sqs().send(new CreateQueueCommand({ QueueName: `cv-dlq-${Date.now()}` }));
    queueUrl = String(created.QueueUrl);
  });

  const deps = (): ReplayDeps => {
    const clicks = new DynamoClickStore(client, tables.clicks);
    return { clicks, clickStore: clicks, conversions: new DynamoConversionStore(client, tables.conversions), types: new DynamoConversionTypes(client, tables.conversionTypes, 0), defaultCurrency: 'EUR' };
  };
  const depth = async () => {
    const out = await sqs().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  };

  it('sends, lists, redrives and deletes', async () => {
    const queue = new SqsDeadLetterQueue(queueUrl, sqs, 30);
    for (const [type, txid] of [['payment', 'S1'], ['Nope', 'S2'], ['upsell', 'S3']] as const) {
      const outcome = await handlePostback(
        { request: { method: 'GET', path: '/postback', query: `clickid=01JDZ8Q3V6W0K1X2Y3Z4A5B6C7&type=${type}&sum=10&txid=${txid}`, body: '', headers: {} }, now: new Date() },
        // A conversion store that throws, as DynamoDB does when it is unreachable.
        { ...deps(), conversions: { putConversion: async () => { throw new Error('DynamoDB down'); } }, deadLetters: () => queue },
      );
      expect(outcome.status).toBe('queued');
    }
    expect(await depth()).toBe(3);

    // List (what npm run dlq does): receive and release, the messages stay.
    const listed = await queue.receive(10);
    expect(listed.map((r) => r.message.reason).sort()).toEqual(['storage_error', 'storage_error', 'unknown_type']);
    await Promise.all(listed.map((r) => queue.release(r.handle)));
    expect(await depth()).toBe(3);

    const summary = await redrive(queue, deps(), { limit: 10, dryRun: false });
    expect(summary).toMatchObject({ received: 3, replayed: 2, outcomes: { recorded: 2 }, stillFailing: { unknown_type: 1 } });
    expect((await scanAll(client, tables.conversions)).map((c) => c.conversionKey).sort()).toEqual(['payment|S1', 'upsell|S3']);

    // The failing one was replaced by its updated copy; the replayed ones are gone.
    const left = await queue.receive(10);
    expect(left.map((r) => [r.message.reason, r.message.attempts])).toEqual([['unknown_type', 1]]);
    await Promise.all(left.map((r) => queue.release(r.handle)));
    expect(await depth()).toBe(1);

    // Replaying again changes nothing.
    await redrive(queue, deps(), { limit: 10, dryRun: false });
    expect(await scanAll(client, tables.conversions)).toHaveLength(2);
  });
});
