/**
 * Regressions from the review before release: each of these was a real defect.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { SqsDeadLetterSink } from '../../lambda/adapters/sqs-dead-letter';
import type { DeadLetterMessage } from '../../lambda/core/model';
import { handlePostback } from '../../lambda/core/postback';
import { replayMessage } from '../../lambda/core/replay';
import { formatCsv } from '../../lambda/core/report';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { postbackAuth } from '../../lambda/handlers/runtime';
import type { TableNames } from '../../lambda/local/tables';
import { testConfig } from '../support/config';
import { freshTables, scanAll } from '../support/dynamo';
import { httpEvent } from '../support/events';

const sqs = mockClient(SQSClient);
const CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';
let client: DynamoDBClient;
let tables: TableNames;

const stores = () => ({
  clicks: new DynamoClickStore(client, tables.clicks),
  conversions: new DynamoConversionStore(client, tables.conversions),
  types: new DynamoConversionTypes(client, tables.conversionTypes),
  defaultCurrency: 'EUR',
});
const sink = () => new SqsDeadLetterSink('https://sqs.us-east-1.amazonaws.com/1/dlq', () => new SQSClient({}));
const queued = () => sqs.commandCalls(SendMessageCommand).map((c) => JSON.parse(String(c.args[0].input.MessageBody)) as DeadLetterMessage);

beforeEach(async () => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({});
  ({ client, tables } = await freshTables());
  await syncConversionTypes(client, tables.conversionTypes, testConfig().conversionTypes);
  await new DynamoClickStore(client, tables.clicks).putClick({ clickId: CID, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {} });
});

describe('review regressions', () => {
  it('never parses, compares or quotes the postback key (a repeated key used to be echoed in the 400 answer)', async () => {
    const s = sink();
    const result = await createPostbackHandler({ ...stores(), deadLetters: () => s })(httpEvent({ path: '/postback', query: `clickid=${CID}&type=payment&sum=1&txid=K&key=S3cretOld&key=S3cretNew` }));
    expect(result.statusCode).toBe(200);
    expect(String(result.body)).not.toMatch(/S3cret/);
  });

  it('keeps a source working when one of its keys cannot be read (an old secret deleted mid-rotation)', async () => {
    const reader = { read: (ref: { env?: string }) => (ref.env === 'OLD' ? Promise.reject(new Error('ResourceNotFoundException')) : Promise.resolve('n3w')) };
    const { authenticate } = postbackAuth({ required: true, sources: [{ id: 'ds24', keys: [{ env: 'OLD' }, { env: 'NEW' }] }] }, reader);
    expect(await authenticate?.('n3w', undefined)).toEqual({ ok: true, source: 'ds24', keyIndex: 1 });
    expect(await authenticate?.('guess', undefined)).toMatchObject({ ok: false, reason: 'bad_key' });
  });

  it('does not let a pixel without the key fill the queue with unknown clicks or types', async () => {
    const s = sink();
    const handler = createPostbackHandler({ ...stores(), deadLetters: () => s }, postbackAuth({ required: true, sources: [{ id: 'x', keys: [{ env: 'K' }] }] }, { read: async () => 'k' }));
    for (const query of ['format=img&clickid=01AAAAAAAAAAAAAAAAAAAAAAAA&type=InitiateCheckout', `format=img&clickid=${CID}&type=Nope`]) {
      expect((await handler(httpEvent({ path: '/postback', query }))).headers?.['content-type']).toBe('image/gif');
    }
    expect(sqs.calls()).toHaveLength(0);
    expect(await scanAll(client, tables.conversions)).toEqual([]);
  });

  it('replays an organic postback without txid once, however often it is replayed', async () => {
    const s = sink();
    const down = { ...stores(), conversions: { putConversion: async () => Promise.reject(new Error('DynamoDB down')) }, deadLetters: () => s };
    const first = await handlePostback({ request: { method: 'GET', path: '/postback', query: 'type=payment&sum=9', body: '', headers: {} }, now: new Date('2026-11-25T12:00:00Z') }, down);
    expect(first.status).toBe('queued');
    const [message] = queued();
    if (!message) throw new Error('not queued');
    const deps = { ...stores(), clickStore: stores().clicks };
    expect(await replayMessage(message, deps)).toMatchObject({ done: true, outcome: 'recorded' });
    // The same message again finds its own write (the message id is the write token): it is
    // this request's conversion, recorded once, not a second one.
    expect(await replayMessage(message, deps)).toMatchObject({ done: true, outcome: 'recorded' });
    expect(await scanAll(client, tables.conversions)).toHaveLength(1);
    // Another request for the same organic sale is a new one (no txid: it cannot be told apart).
    const other = await handlePostback({ request: { method: 'GET', path: '/postback', query: 'type=payment&sum=9', body: '', headers: {} }, now: new Date('2026-11-25T12:00:00Z') }, { ...stores(), deadLetters: () => s });
    expect(other.status).toBe('recorded');
  });

  it('treats an expired click as gone, even before DynamoDB TTL deletes it', async () => {
    await new DynamoClickStore(client, tables.clicks).putClick({ clickId: '01JDZ8Q3V6W0K1X2Y3Z4EXPIRE', campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-01-01T00:00:00.000Z', expiresAt: 1767830400, subs: {} });
    const s = sink();
    const result = await createPostbackHandler({ ...stores(), deadLetters: () => s })(httpEvent({ path: '/postback', query: 'clickid=01JDZ8Q3V6W0K1X2Y3Z4EXPIRE&type=payment&sum=1&txid=E' }));
    expect(result.statusCode).toBe(202);
    expect(result.body).toContain('expired on 2026-01-08');
    expect(await scanAll(client, tables.conversions)).toEqual([]);
  });

  it('defuses formulas in CSV, including ones that start like a negative number', () => {
    const csv = formatCsv(
      [{ keys: { sub1: "-1+1+cmd|' /C calc'!A0" }, clicks: 1, bots: 0, lpClicks: 0, lpCtr: null, conversions: {}, revenue: {}, cr: 0, epc: {}, partial: false }, { keys: { sub1: '-12.5' }, clicks: 1, bots: 0, lpClicks: 0, lpCtr: null, conversions: {}, revenue: {}, cr: 0, epc: {}, partial: false }],
      ['sub1'],
    );
    expect(csv.split('\n')[1]).toMatch(/^'-1\+1\+cmd/);
    expect(csv.split('\n')[2]).toMatch(/^-12\.5,/);
  });
});

describe('review regressions (IPN and pixel)', () => {
  it('keeps a signed IPN whose amount is unreadable and answers OK, instead of a useless 400', async () => {
    const { signed, formBody } = await import('../support/ipn');
    const { createIpnHandler } = await import('../../lambda/handlers/ipn');
    const { parseConfig } = await import('../../config/schema');
    const { digistore24IpnConversionTypes } = await import('../../config/digistore24');
    const base = testConfig();
    const ipn = parseConfig({ ...base, conversionTypes: [...base.conversionTypes, ...digistore24IpnConversionTypes], digistore24: { ipn: {} } }).digistore24?.ipn;
    if (!ipn) throw new Error('no ipn');
    const s = sink();
    const handler = createIpnHandler({ ...stores(), ipn, passphrase: async () => 'pp', deadLetters: () => s });
    const form = signed({ event: 'on_payment', transaction_id: 'T9', cid: CID, amount_netto: '47,00', currency: 'EUR' }, 'pp');
    const result = await handler(httpEvent({ method: 'POST', path: '/ipn/digistore24', body: formBody(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    expect(result).toMatchObject({ statusCode: 200, body: 'OK' });
    expect(queued()).toEqual([expect.objectContaining({ kind: 'ipn', reason: 'invalid_input' })]);
    expect(await scanAll(client, tables.conversions)).toEqual([]);
  });

  it('answers a POSTed pixel with the GIF too', async () => {
    const s = sink();
    const result = await createPostbackHandler({ ...stores(), deadLetters: () => s })(
      httpEvent({ method: 'POST', path: '/postback', body: `format=img&clickid=${CID}&type=InitiateCheckout`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    );
    expect(result.headers?.['content-type']).toBe('image/gif');
  });
});
