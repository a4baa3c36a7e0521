/**
 * Forwarding to a traffic channel over real HTTP (a channel stub on loopback), with the
 * conversions on dynalite and the queue in files. The forward runs in the sender (the send
 * path), never inside the postback request.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseConfig, type TrackerConfig } from '../../config/schema';
import { digistore24ConversionTypes } from '../../config/digistore24';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../../lambda/adapters/file-dead-letter';
import { forwardUrl } from '../../lambda/core/forward';
import { redrive } from '../../lambda/core/replay';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { conversionDeps, forwardingFor } from '../../lambda/handlers/runtime';
import type { TableNames } from '../../lambda/local/tables';
import { freshTables, scanAll } from '../support/dynamo';
import { UNPROTECTED } from '../support/config';
import { httpEvent } from '../support/events';
import { testSender, type TestSender } from '../support/sender';

const CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';
let channel: Server;
let channelUrl: string;
let received: string[] = [];
let failing = false;
/** The channel takes the request and never answers (until the test ends). */
let hanging = false;
const held: import('node:http').ServerResponse[] = [];
let client: DynamoDBClient;
let tables: TableNames;
let queue: FileDeadLetterQueue;
let config: TrackerConfig;

beforeAll(async () => {
  channel = createServer((req, res) => {
    received.push(req.url ?? '');
    if (hanging) held.push(res);
    else res.writeHead(failing ? 500 : 200).end();
  });
  await new Promise<void>((r) => channel.listen(0, '127.0.0.1', () => r()));
  channelUrl = `http://127.0.0.1:${(channel.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => channel.close(() => r())));

beforeEach(async () => {
  received = [];
  failing = false;
  hanging = false;
  for (const res of held.splice(0)) res.destroy();
  config = parseConfig({
    trafficChannels: [{ id: 'fb', name: 'FB', clickIdParam: 'fbclid', postbackUrl: `${channelUrl}/pb?click={clickid}&payout={payout}&event={type}&cur={currency}&tx={txid}` }],
    offers: [{ id: 'o', name: 'O', source: 'digistore24', url: 'https://www.digistore24.com/redir/1/a/?cid={clickid}' }],
    campaigns: [{ id: 'c', name: 'C', trafficChannel: 'fb', offers: [{ offer: 'o' }] }],
    conversionTypes: [...digistore24ConversionTypes],
    postbackProtection: UNPROTECTED,
  });
  ({ client, tables } = await freshTables());
  queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-fwd-')));
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  await new DynamoClickStore(client, tables.clicks).putClick({
    clickId: CID, campaignId: 'c', offerId: 'o', channelId: 'fb', channelClickId: 'FB.1&x=y', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {},
  });
});

function stores() {
  return {
    clicks: new DynamoClickStore(client, tables.clicks),
    conversions: new DynamoConversionStore(client, tables.conversions),
    types: new DynamoConversionTypes(client, tables.conversionTypes),
  };
}
let sender: TestSender;
const handler = () => {
  sender = testSender(config, client, tables, () => queue);
  const h = createPostbackHandler(conversionDeps(config, stores(), () => queue, sender.queue));
  // Each postback, then its forward by the sender.
  return async (event: Parameters<typeof h>[0]) => {
    const result = await h(event);
    await sender.drain();
    return result;
  };
};
const get = (query: string) => httpEvent({ path: '/postback', query });

describe('forwarding to the traffic channel', () => {
  it('fills the macros URL-encoded', () => {
    expect(
      forwardUrl('https://x/pb?c={clickid}&p={payout}&t={type}&cur={currency}&tx={txid}', {
        clickId: CID, conversionKey: 'payment|T', type: 'payment', revenue: '47.5', currency: 'EUR', counted: true, txid: 'T 1', source: 'postback', createdAt: '', attributed: true, channelClickId: 'a&b',
      }),
    ).toBe('https://x/pb?c=a%26b&p=47.5&t=payment&cur=EUR&tx=T%201');
  });

  it('sends a recorded payment once, and never a duplicate or a type not marked for forwarding', async () => {
    const h = handler();
    expect((await h(get(`clickid=${CID}&type=payment&sum=47&currency=EUR&txid=T1`))).statusCode).toBe(200);
    expect(received).toEqual(['/pb?click=FB.1%26x%3Dy&payout=47&event=payment&cur=EUR&tx=T1']);
    await h(get(`clickid=${CID}&type=payment&sum=47&currency=EUR&txid=T1`));
    await h(get(`clickid=${CID}&type=refund&sum=47&txid=T1`));
    await h(get(`clickid=${CID}&type=upsell&sum=47&txid=T1`));
    expect(received).toHaveLength(1);
    expect(await scanAll(client, tables.conversions)).toEqual(expect.arrayContaining([expect.objectContaining({ conversionKey: 'payment|T1', forwardState: 'sent' })]));
  });

  it('never calls the channel inside the postback request: the sender does, after it', async () => {
    sender = testSender(config, client, tables, () => queue);
    sender.queue.stop();
    const h = createPostbackHandler(conversionDeps(config, stores(), () => queue, sender.queue));
    const result = await h(get(`clickid=${CID}&type=payment&sum=47&currency=EUR&txid=Q1`));
    expect(result.statusCode).toBe(200);
    expect(received).toEqual([]);
    expect(await scanAll(client, tables.conversions)).toEqual([expect.objectContaining({ forwardTo: 'postback', sendQueue: 'postback' })]);
    sender.queue.start();
    await sender.drain();
    expect(received).toEqual(['/pb?click=FB.1%26x%3Dy&payout=47&event=payment&cur=EUR&tx=Q1']);
    expect(await scanAll(client, tables.conversions)).toEqual([expect.objectContaining({ forwardState: 'sent' })]);
    expect((await scanAll(client, tables.conversions))[0]).not.toHaveProperty('sendQueue');
  });

  it('forwards exactly once under 50 concurrent identical postbacks', async () => {
    const h = handler();
    await Promise.all(Array.from({ length: 50 }, () => h(get(`clickid=${CID}&type=payment&sum=1&txid=RACE`))));
    expect(received).toHaveLength(1);
  });

  it('queues a failed forward (the postback still succeeds), and redrive sends it once the channel is back', async () => {
    failing = true;
    const result = await handler()(get(`clickid=${CID}&type=payment&sum=10&txid=U1`));
    expect(result.statusCode).toBe(200);
    expect(received).toHaveLength(2); // two attempts
    expect(await queue.list()).toEqual([expect.objectContaining({ kind: 'forward', reason: 'forward_failed', forward: expect.objectContaining({ conversionKey: 'payment|U1' }) })]);
    expect(await scanAll(client, tables.conversions)).toEqual([expect.objectContaining({ forwardState: 'failed', forwardError: '2 attempt(s) failed, last: HTTP 500' })]);

    const forwarding = forwardingFor(config, stores().conversions, () => queue);
    if (!forwarding) throw new Error('forwarding should be configured');
    const deps = { ...stores(), clickStore: stores().clicks, defaultCurrency: 'EUR', forwarding: { ...forwarding, pauseMs: 1 } };
    expect(await redrive(queue, deps, { limit: 10, dryRun: false })).toMatchObject({ stillFailing: { forward_failed: 1 } });
    expect(await queue.list()).toEqual([expect.objectContaining({ kind: 'forward', attempts: 1 })]);

    failing = false;
    received = [];
    expect(await redrive(queue, deps, { limit: 10, dryRun: false })).toMatchObject({ outcomes: { forwarded: 1 } });
    expect(received).toEqual(['/pb?click=FB.1%26x%3Dy&payout=10&event=payment&cur=EUR&tx=U1']);
    expect(await queue.list()).toEqual([]);
    expect(await scanAll(client, tables.conversions)).toEqual([expect.objectContaining({ forwardState: 'sent' })]);
  });

  it('never sends again a forward that got no answer: one request, queued forward_unknown, held by a plain redrive', async () => {
    hanging = true;
    const result = await handler()(get(`clickid=${CID}&type=payment&sum=10&txid=H1`));
    expect(result.statusCode).toBe(200);
    // The channel got the request once; with no answer it may have counted it, so no second attempt.
    expect(received).toHaveLength(1);
    expect(await queue.list()).toEqual([expect.objectContaining({ kind: 'forward', reason: 'forward_unknown', detail: expect.stringMatching(/may have arrived.*--reason forward_unknown/) })]);
    expect(await scanAll(client, tables.conversions)).toEqual([expect.objectContaining({ forwardState: 'failed', forwardError: expect.stringMatching(/^attempt 1 got no answer, so the channel may have it/) })]);

    const forwarding = forwardingFor(config, stores().conversions, () => queue);
    if (!forwarding) throw new Error('forwarding should be configured');
    const deps = { ...stores(), clickStore: stores().clicks, defaultCurrency: 'EUR', forwarding: { ...forwarding, pauseMs: 1 } };
    hanging = false;
    received = [];
    // A plain redrive leaves it queued and sends nothing.
    expect(await redrive(queue, deps, { limit: 10, dryRun: false })).toMatchObject({ heldUnknownForwards: 1, replayed: 0 });
    expect(received).toEqual([]);
    expect(await queue.list()).toEqual([expect.objectContaining({ reason: 'forward_unknown' })]);
    // Named by an operator who checked the channel: sent once.
    expect(await redrive(queue, deps, { limit: 10, dryRun: false, reason: 'forward_unknown' })).toMatchObject({ outcomes: { forwarded: 1 } });
    expect(received).toHaveLength(1);
    expect(await queue.list()).toEqual([]);
  });

  it('tries again when no connection was made (nothing reached the channel)', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    config = parseConfig({ ...config, trafficChannels: [{ id: 'fb', name: 'FB', clickIdParam: 'fbclid', postbackUrl: `http://127.0.0.1:${port}/pb?click={clickid}` }] });
    await handler()(get(`clickid=${CID}&type=payment&sum=10&txid=R1`));
    expect(await scanAll(client, tables.conversions)).toEqual([expect.objectContaining({ forwardState: 'failed', forwardError: expect.stringMatching(/^2 attempt\(s\) failed, last: .*ECONNREFUSED/) })]);
    expect(await queue.list()).toEqual([expect.objectContaining({ reason: 'forward_failed' })]);
  });
});
