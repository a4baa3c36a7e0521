import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoClickStore } from '../../lambda/adapters/dynamodb-store';
import { SqsDeadLetterSink } from '../../lambda/adapters/sqs-dead-letter';
import { ORIGIN_VERIFY_HEADER } from '../../lambda/contract';
import type { DeadLetterMessage } from '../../lambda/core/model';
import { compileConfig } from '../../lambda/core/tracker-config';
import { campaignCode } from '../../lambda/core/ids';
import { createClickHandler } from '../../lambda/handlers/click';
import { logger } from '../../lambda/logger';
import { DESKTOP_UA } from '../support/browser';
import { testConfig } from '../support/config';
import { countingClient, freshTables, scanAll, unreachableClient } from '../support/dynamo';
import { httpEvent } from '../support/events';

const sqs = mockClient(SQSClient);
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/clickvault-dlq';
const config = compileConfig(testConfig());

function clickEvent(campaignId: string, query = '', headers: Record<string, string> = {}) {
  return httpEvent({ path: `/click/${campaignId}`, query, pathParameters: { campaignId }, headers });
}

function handlerOn(client: ReturnType<typeof unreachableClient>, table: string, options = {}) {
  const sink = new SqsDeadLetterSink(QUEUE, () => new SQSClient({}));
  return createClickHandler({ config, clicks: new DynamoClickStore(client, table), deadLetters: () => sink, log: logger }, options);
}

beforeEach(() => sqs.reset());

describe('GET /click/{campaignId}', () => {
  it('stores the click with one write and no read, and redirects to the offer with the click id', async () => {
    const { tables } = await freshTables();
    const { client, calls } = countingClient();
    const handler = handlerOn(client, tables.clicks);
    const result = await handler(
      clickEvent('demo', 'sub1=adset-7&sub2=creative%20b&fbclid=FB.1&cost=0.12', {
        'cloudfront-viewer-country': 'AT',
        'cloudfront-viewer-address': '203.0.113.9:51234',
        referer: 'https://m.facebook.com/',
      }),
    );
    expect(result.statusCode).toBe(302);
    expect(result.headers?.['cache-control']).toBe('no-store');
    const location = String(result.headers?.location);
    expect(location).toMatch(/^https:\/\/www\.digistore24\.com\/redir\/123456\/aff\/\?cid=[0-9A-Z]{30}$/);
    expect(calls).toEqual(['PutItemCommand']);

    const clickId = new URL(location).searchParams.get('cid');
    // A ULID, then the campaign's code.
    expect(clickId?.slice(26)).toBe(campaignCode('demo'));
    const items = await scanAll(client, tables.clicks);
    expect(items).toEqual([
      expect.objectContaining({
        clickId,
        campaignId: 'demo',
        offerId: 'ds24',
        channelId: 'facebook',
        sub1: 'adset-7',
        sub2: 'creative b',
        channelClickId: 'FB.1',
        cost: '0.12',
        country: 'AT',
        ip: '203.0.113.0',
        referer: 'https://m.facebook.com/',
        userAgent: DESKTOP_UA,
      }),
    ]);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('answers 404 with a plain message for an unknown campaign and stores nothing', async () => {
    const { client, tables } = await freshTables();
    const result = await handlerOn(client, tables.clicks)(clickEvent('nope'));
    expect(result.statusCode).toBe(404);
    expect(result.headers?.location).toBeUndefined();
    expect(result.body).toContain('"nope" is not a campaign');
    expect(await scanAll(client, tables.clicks)).toEqual([]);
  });

  it('never redirects anywhere but a configured offer, whatever the query says', async () => {
    const { client, tables } = await freshTables();
    const handler = handlerOn(client, tables.clicks);
    for (const query of ['url=https://evil.example', 'redirect=//evil.example', 'sub1=https://evil.example/%0d%0aLocation:x']) {
      const result = await handler(clickEvent('split', query));
      const location = new URL(String(result.headers?.location));
      expect(['www.digistore24.com', 'shop.example.com']).toContain(location.host);
    }
  });

  it('still redirects when DynamoDB is down, and queues the click with the id the visitor carries', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const result = await handlerOn(unreachableClient(), 'clicks')(clickEvent('demo', 'sub1=x'));
    expect(result.statusCode).toBe(302);
    const clickId = new URL(String(result.headers?.location)).searchParams.get('cid');

    const sent = sqs.commandCalls(SendMessageCommand);
    expect(sent).toHaveLength(1);
    const input = sent[0]?.args[0].input;
    expect(input?.QueueUrl).toBe(QUEUE);
    expect(input?.MessageAttributes?.reason?.StringValue).toBe('storage_error');
    const message = JSON.parse(String(input?.MessageBody)) as DeadLetterMessage;
    expect(message).toMatchObject({ kind: 'click', reason: 'storage_error', clickId, click: { clickId, campaignId: 'demo', subs: { sub1: 'x' } } });
    expect(message.request).toMatchObject({ method: 'GET', path: '/click/demo', query: 'sub1=x' });
  });

  it('still redirects when DynamoDB and the queue are both down', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('queue down'));
    const result = await handlerOn(unreachableClient(), 'clicks')(clickEvent('demo'));
    expect(result.statusCode).toBe(302);
  });

  it('refuses requests that bypass CloudFront when an origin secret is set', async () => {
    const { client, tables } = await freshTables();
    const handler = handlerOn(client, tables.clicks, { originSecret: 's3cret-value' });
    expect((await handler(clickEvent('demo'))).statusCode).toBe(403);
    expect((await handler(clickEvent('demo', '', { [ORIGIN_VERIFY_HEADER]: 's3cret-valuX' }))).statusCode).toBe(403);
    expect((await handler(clickEvent('demo', '', { [ORIGIN_VERIFY_HEADER]: 's3cret-value' }))).statusCode).toBe(302);
    expect(await scanAll(client, tables.clicks)).toHaveLength(1);
  });
});
