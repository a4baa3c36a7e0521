/**
 * Handlers under their deadlines, with DynamoDB (and in some cases SQS, a secret store or a
 * traffic channel) replaced by a black hole: a TCP server that accepts the connection and
 * never answers. The clients are built exactly as the functions build them (production
 * budgets), the dead-letter queue is a real one on disk. The bounds are the promises the README
 * makes — the visitor is redirected within 1.5 s, a postback is queued and answered within 3 s —
 * as generous upper bounds on a hanging store, not micro-benchmarks; and nothing a handler
 * started is still running when it has answered (every connection to the black hole is closed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseConfig } from '../../config/schema';
import { digistore24ConversionTypes, digistore24IpnConversionTypes } from '../../config/digistore24';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, DynamoInboundLog, createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { CALL_BUDGETS } from '../../lambda/adapters/aws-clients';
import { FetchChannelPostback, FORWARD_RESERVE_MS } from '../../lambda/adapters/channel-postback';
import { FileDeadLetterQueue } from '../../lambda/adapters/file-dead-letter';
import { CachedSecretReader } from '../../lambda/adapters/secrets';
import { SqsDeadLetterSink } from '../../lambda/adapters/sqs-dead-letter';
import { Deadline, runWithDeadline } from '../../lambda/core/deadline';
import { sendForward } from '../../lambda/core/forward';
import type { Log } from '../../lambda/core/model';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import { createLanderHandler } from '../../lambda/handlers/lander';
import { DynamoDeadLetterLedger } from '../../lambda/adapters/dead-letter-ledger';
import { mintClickId } from '../../lambda/core/ids';
import { createIpnHandler } from '../../lambda/handlers/ipn';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { conversionDeps, guardedDeadLetters } from '../../lambda/handlers/runtime';
import { startBlackHole, type BlackHole } from '../support/black-hole';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { whenSlow } from '../../lambda/handlers/deadline';
import { funnelConfig, testConfig } from '../support/config';
import { freshTables, scanAll } from '../support/dynamo';
import { httpEvent } from '../support/events';
import { formBody, signed } from '../support/ipn';

const CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';
const config = testConfig();

let hole: BlackHole;
let queueDir: string;
let queue: FileDeadLetterQueue;
/** A DynamoDB client on the black hole, with the functions' budget. */
let hanging: DynamoDBClient;

beforeEach(async () => {
  hole = await startBlackHole();
  queueDir = mkdtempSync(join(tmpdir(), 'cv-deadline-'));
  queue = new FileDeadLetterQueue(queueDir);
  hanging = createDynamoClient(hole.url, CALL_BUDGETS.dynamodb);
});
afterEach(async () => {
  hanging.destroy();
  await hole.close();
  rmSync(queueDir, { recursive: true, force: true });
});

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = Date.now();
  const result = await work();
  return { result, ms: Date.now() - start };
}

function capturingLog(): Log & { lines: { level: string; message: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, ...extra: Record<string, unknown>[]) => lines.push({ level, message, fields: Object.assign({}, ...extra) });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

async function withEnv<T>(values: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  Object.assign(process.env, values);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('click with a hanging DynamoDB', () => {
  it('redirects within 1.5 s and queues the click with the id the visitor carries', async () => {
    const handler = createClickHandler({ config: compileConfig(config), clicks: new DynamoClickStore(hanging, 'clicks'), deadLetters: () => queue, log: capturingLog() });
    const { result, ms } = await timed(() => handler(httpEvent({ path: '/click/demo', query: 'sub1=a', pathParameters: { campaignId: 'demo' } })));
    expect(result.statusCode).toBe(302);
    expect(ms).toBeLessThan(1500);
    const location = String(result.headers?.location);
    const clickId = new URL(location).searchParams.get('cid');
    const messages = await queue.list();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ kind: 'click', reason: 'storage_error', clickId, click: { clickId, campaignId: 'demo', subs: { sub1: 'a' } } });
    expect(messages[0]?.detail).toMatch(/DynamoDB PutItem: no answer within/);
    await hole.drained();
  });

  it('still redirects within 1.5 s when the queue hangs too, and logs the click to restore by hand', async () => {
    const log = capturingLog();
    await withEnv({ AWS_ENDPOINT_URL_SQS: hole.url }, async () => {
      const sink = new SqsDeadLetterSink(`${hole.url}/123456789012/dlq`);
      const handler = createClickHandler({ config: compileConfig(config), clicks: new DynamoClickStore(hanging, 'clicks'), deadLetters: () => sink, log });
      const { result, ms } = await timed(() => handler(httpEvent({ path: '/click/demo', pathParameters: { campaignId: 'demo' } })));
      expect(result.statusCode).toBe(302);
      expect(ms).toBeLessThan(1500);
      await hole.drained();
    });
    const lost = log.lines.find((l) => l.message.startsWith('click lost'));
    expect(lost?.level).toBe('error');
    expect(String(lost?.fields.queueError)).toMatch(/SQS SendMessage: no answer within \d+ ms/);
    expect(lost?.fields.click).toMatchObject({ campaignId: 'demo' });
  });
});

describe('lander click (/go) with a hanging DynamoDB', () => {
  it('redirects within 2.5 s and queues the lander click, past a dead-letter guard whose ledger hangs too', async () => {
    const funnel = funnelConfig();
    // As deployed: the update and the ledger on the same (hanging) DynamoDB, the guard in front of the queue.
    const handler = createLanderHandler({
      config: compileConfig(funnel),
      clicks: new DynamoClickStore(hanging, 'clicks'),
      deadLetters: guardedDeadLetters(queue, new DynamoDeadLetterLedger(hanging, 'ledger'), funnel),
      log: capturingLog(),
      random: () => 0,
    });
    const clickId = mintClickId('funnel');
    const { result, ms } = await timed(() => handler(httpEvent({ path: '/go', query: `clickid=${clickId}`, headers: { 'cloudfront-viewer-address': '203.0.113.9:443' } })));
    expect(result.statusCode).toBe(302);
    expect(result.headers?.location).toBe(`https://www.digistore24.com/redir/123456/aff/?cid=${clickId}`);
    expect(ms).toBeLessThan(2500);
    const messages = await queue.list();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ kind: 'lander_click', reason: 'storage_error', clickId, landerClick: { clickId, offerId: 'ds24' } });
    expect(messages[0]?.detail).toMatch(/DynamoDB UpdateItem: no answer within/);
    await hole.drained();
  });
});

describe('lander click (/go) with a hanging DynamoDB and a working SQS (moto)', () => {
  const moto = process.env.MOTO_ENDPOINT;
  const withMoto = moto ? it : it.skip;
  withMoto('the lander click reaches the queue before the deadline: the update, the guard\'s hanging ledger, then SQS', async () => {
    const sqs = new SQSClient({ endpoint: moto, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const queueUrl = String((await sqs.send(new CreateQueueCommand({ QueueName: `cv-go-deadline-${Date.now()}` }))).QueueUrl);
    const funnel = funnelConfig();
    await withEnv({ AWS_ENDPOINT_URL_SQS: String(moto) }, async () => {
      // A fresh sink, as in a cold function: its SQS client loads while the update is retried.
      const sink = new SqsDeadLetterSink(queueUrl);
      const handler = createLanderHandler({
        config: compileConfig(funnel),
        clicks: { recordLanderClick: (landerClick) => whenSlow(new DynamoClickStore(hanging, 'clicks').recordLanderClick(landerClick), CALL_BUDGETS.dynamodb.attemptTimeoutMs, () => sink.prepare()) },
        deadLetters: guardedDeadLetters(sink, new DynamoDeadLetterLedger(hanging, 'ledger'), funnel),
        log: capturingLog(),
        random: () => 0,
      });
      const clickId = mintClickId('funnel');
      const { result, ms } = await timed(() => handler(httpEvent({ path: '/go', query: `clickid=${clickId}`, headers: { 'cloudfront-viewer-address': '203.0.113.9:443' } })));
      expect(result.statusCode).toBe(302);
      expect(ms).toBeLessThan(2500);
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      expect((out.Messages ?? []).map((m) => JSON.parse(String(m.Body)) as { kind: string; clickId: string })).toEqual([expect.objectContaining({ kind: 'lander_click', clickId })]);
    });
    sqs.destroy();
    await hole.drained();
  });
});

describe('postback and IPN with a hanging DynamoDB', () => {
  const postbackHandler = () => {
    const deps = conversionDeps(
      config,
      { clicks: new DynamoClickStore(hanging, 'clicks'), conversions: new DynamoConversionStore(hanging, 'conversions'), types: new DynamoConversionTypes(hanging, 'types') },
      () => queue,
    );
    return createPostbackHandler(deps, { inbound: { log: new DynamoInboundLog(hanging, 'inbound'), retentionDays: 30 } });
  };

  it('a postback is queued and answered 202 within 3 s', async () => {
    const { result, ms } = await timed(() => postbackHandler()(httpEvent({ path: '/postback', query: `clickid=${CID}&type=payment&sum=47.00&currency=EUR&txid=T-1` })));
    expect(result.statusCode).toBe(202);
    expect(result.body).toMatch(/^Accepted and queued for replay: conversion types could not be read \(TimeoutError: DynamoDB GetItem: no answer within/);
    expect(ms).toBeLessThan(3000);
    const messages = await queue.list();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ kind: 'postback', reason: 'storage_error', clickId: CID });
    await hole.drained();
  });

  it('the pixel still gets its GIF within 3 s', async () => {
    const { result, ms } = await timed(() => postbackHandler()(httpEvent({ path: '/postback', query: `format=img&clickid=${CID}&type=InitiateCheckout` })));
    expect(result.headers?.['content-type']).toBe('image/gif');
    expect(ms).toBeLessThan(3000);
    await hole.drained();
  });

  const PASS = 'Zx9-public-example';
  const ipnSetup = parseConfig({
    ...config,
    conversionTypes: [...digistore24ConversionTypes, ...digistore24IpnConversionTypes],
    digistore24: { ipn: { passphrase: { env: 'DS24_IPN_PASSPHRASE', secretsManager: 'clickvault/ipn' } } },
  });
  const ipn = ipnSetup.digistore24?.ipn;
  if (!ipn) throw new Error('no ipn config');
  const ipnEvent = () =>
    httpEvent({
      method: 'POST',
      path: '/ipn/digistore24',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody(signed({ event: 'on_payment', order_id: 'O1', transaction_id: 'T-9', amount_brutto: '47.00', currency: 'EUR', cid: CID }, PASS)),
    });
  const ipnHandler = (passphrase: () => Promise<string | undefined>) =>
    createIpnHandler(
      {
        ...conversionDeps(ipnSetup, { clicks: new DynamoClickStore(hanging, 'clicks'), conversions: new DynamoConversionStore(hanging, 'conversions'), types: new DynamoConversionTypes(hanging, 'types') }, () => queue),
        ipn,
        passphrase,
      },
      { inbound: { log: new DynamoInboundLog(hanging, 'inbound'), retentionDays: 30 } },
    );

  it('a signed IPN is queued and answered OK within 4 s (Digistore24 stops retrying: the queue has it)', async () => {
    const { result, ms } = await timed(() => ipnHandler(async () => PASS)(ipnEvent()));
    expect(result.statusCode).toBe(200);
    expect(result.body).toMatch(/^OK/);
    expect(ms).toBeLessThan(4000);
    expect(await queue.list()).toEqual([expect.objectContaining({ kind: 'ipn', reason: 'storage_error', clickId: CID })]);
    await hole.drained();
  });

  it('an IPN whose passphrase store hangs gets 503 within 3 s, so Digistore24 retries', async () => {
    await withEnv({ AWS_ENDPOINT_URL_SECRETS_MANAGER: hole.url }, async () => {
      const secrets = new CachedSecretReader('aws');
      const { result, ms } = await timed(() => ipnHandler(() => secrets.read(ipn.passphrase))(ipnEvent()));
      expect(result.statusCode).toBe(503);
      expect(result.body).toMatch(/^Unavailable: the IPN passphrase could not be read \(TimeoutError: Secrets Manager GetSecretValue: no answer within/);
      expect(ms).toBeLessThan(3000);
      await hole.drained();
    });
  });
});

describe('forwarding under the deadline', () => {
  it('a channel that hangs is given up in time to mark the forward failed and queue it as forward_unknown, never left "sending"', async () => {
    const { client, tables } = await freshTables();
    const channelConfig = parseConfig({
      ...config,
      trafficChannels: [{ id: 'facebook', name: 'FB', clickIdParam: 'fbclid', postbackUrl: `${hole.url}/pb?c={clickid}` }],
      campaigns: [{ id: 'demo', name: 'Demo', trafficChannel: 'facebook', offers: [{ offer: 'ds24' }] }],
    });
    await syncConversionTypes(client, tables.conversionTypes, channelConfig.conversionTypes);
    const conversions = new DynamoConversionStore(client, tables.conversions);
    await conversions.putConversion({
      clickId: CID, conversionKey: 'payment|T-1', type: 'payment', revenue: '47.00', currency: 'EUR', counted: true, txid: 'T-1', source: 'postback',
      createdAt: '2026-11-25T10:00:00.000Z', attributed: true, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', channelClickId: 'fb.1',
    });
    // Less time than two 2 s attempts plus the reserve for recording the outcome.
    const budget = FORWARD_RESERVE_MS + 1500;
    const deadline = new Deadline(Date.now() + budget);
    const deps = { channels: new Map(channelConfig.trafficChannels.map((c) => [c.id, c])), store: conversions, channel: new FetchChannelPostback(), deadLetters: () => queue };
    const { result, ms } = await timed(() =>
      runWithDeadline(deadline, () => sendForward({ clickId: CID, conversionKey: 'payment|T-1', url: `${hole.url}/pb?c=fb.1` }, 'new', new Date(), deps)),
    );
    deadline.dispose();
    expect(result.status).toBe('queued');
    expect(ms).toBeLessThan(budget);
    const [stored] = await scanAll(client, tables.conversions);
    expect(stored).toMatchObject({ forwardState: 'failed' });
    // The hole took the request and never answered: the channel may have it, so it is not sent
    // again in this request, and waits for a person (forward_unknown).
    expect(String(stored?.forwardError)).toMatch(/^attempt 1 got no answer, so the channel may have it \(not sent again\): no answer within \d+ ms/);
    expect(await queue.list()).toEqual([expect.objectContaining({ kind: 'forward', reason: 'forward_unknown' })]);
    await hole.drained();
  });
});
