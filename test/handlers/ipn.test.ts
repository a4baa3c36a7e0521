import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseConfig, type IpnConfig } from '../../config/schema';
import { digistore24ConversionTypes, digistore24IpnConversionTypes } from '../../config/digistore24';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { SqsDeadLetterSink } from '../../lambda/adapters/sqs-dead-letter';
import type { DeadLetterMessage } from '../../lambda/core/model';
import { createIpnHandler } from '../../lambda/handlers/ipn';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import type { TableNames } from '../../lambda/local/tables';
import { freshTables, scanAll, unreachableClient } from '../support/dynamo';
import { httpEvent } from '../support/events';
import { fixture, formBody, signed } from '../support/ipn';
import { TEST_PROTECTION } from '../support/config';

const sqs = mockClient(SQSClient);
const PASS = 'Zx9-public-example';
const CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';

function ipnConfig(overrides: Partial<IpnConfig> = {}) {
  const config = parseConfig({
    trafficChannels: [{ id: 'fb', name: 'FB' }],
    offers: [{ id: 'o', name: 'O', source: 'digistore24', url: 'https://www.digistore24.com/redir/1/a/?cid={clickid}' }],
    campaigns: [{ id: 'c', name: 'C', trafficChannel: 'fb', offers: [{ offer: 'o' }] }],
    conversionTypes: [...digistore24ConversionTypes, ...digistore24IpnConversionTypes],
    // These forms carry amount_brutto (the default revenueField is amount_netto, test/config).
    digistore24: { ipn: { passphrase: { env: 'DS24_IPN_PASSPHRASE' }, revenueField: 'amount_brutto' } },
    postbackProtection: TEST_PROTECTION,
  });
  const ipn = config.digistore24?.ipn;
  if (!ipn) throw new Error('no ipn config');
  return { config, ipn: { ...ipn, ...overrides } };
}

let client: DynamoDBClient;
let tables: TableNames;

function deps(options: { conversionsClient?: DynamoDBClient; passphrase?: string | undefined; ipn?: Partial<IpnConfig> } = {}) {
  const sink = new SqsDeadLetterSink('https://sqs.us-east-1.amazonaws.com/1/dlq', () => new SQSClient({}));
  const { ipn } = ipnConfig(options.ipn);
  return {
    ipn,
    passphrase: async () => ('passphrase' in options ? options.passphrase : PASS),
    clicks: new DynamoClickStore(client, tables.clicks),
    conversions: new DynamoConversionStore(options.conversionsClient ?? client, tables.conversions),
    types: new DynamoConversionTypes(client, tables.conversionTypes),
    deadLetters: () => sink,
    defaultCurrency: 'EUR',
  };
}

const post = (form: Record<string, string>) =>
  httpEvent({ method: 'POST', path: '/ipn/digistore24', body: formBody(form), headers: { 'content-type': 'application/x-www-form-urlencoded' }, base64: true });
const conversions = () => scanAll(client, tables.conversions);
const queued = () => sqs.commandCalls(SendMessageCommand).map((c) => JSON.parse(String(c.args[0].input.MessageBody)) as DeadLetterMessage);
const payment = fixture('payment with click id in cid');
const refund = fixture('refund with umlauts and empty values');

beforeEach(async () => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
  ({ client, tables } = await freshTables());
  await syncConversionTypes(client, tables.conversionTypes, ipnConfig().config.conversionTypes);
  await new DynamoClickStore(client, tables.clicks).putClick({
    clickId: CID, campaignId: 'c', offerId: 'o', channelId: 'fb', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {},
  });
});

describe('POST /ipn/digistore24', () => {
  it('records a signed on_payment as payment + initial_sale (the amount once), with no buyer data, and answers OK', async () => {
    const result = await createIpnHandler(deps())(post(payment.form));
    expect(result.statusCode).toBe(200);
    expect(String(result.body).split('\n')[0]).toBe('OK');
    const stored = await conversions();
    expect(stored.map((c) => c.conversionKey).sort()).toEqual(['initial_sale|98765431', 'payment|98765431']);
    const byType = Object.fromEntries(stored.map((c) => [c.type, c]));
    expect(byType.payment).toMatchObject({ clickId: CID, campaignId: 'c', revenue: 47, currency: 'EUR', source: 'ipn', status: 'completed' });
    // One sale, one amount: the order-position type beside the payment carries no revenue.
    expect(byType.initial_sale).toMatchObject({ revenue: 0, counted: true });
    expect(JSON.stringify(stored)).not.toContain('buyer@example.com');
  });

  it('counts an S2S postback and an IPN for the same sale once, and a later S2S retry too', async () => {
    const postback = createPostbackHandler(deps());
    const s2s = httpEvent({ path: '/postback', query: `clickid=${CID}&sum=47.00&currency=EUR&txid=98765431&type=payment` });
    expect((await postback(s2s)).body).toBe('OK\n');
    const ipn = await createIpnHandler(deps())(post(payment.form));
    expect(ipn.body).toContain('payment: duplicate, nothing changed');
    expect((await postback(s2s)).body).toMatch(/^OK duplicate/);
    expect((await conversions()).filter((c) => c.type === 'payment')).toHaveLength(1);
  });

  it('is idempotent under Digistore24 retries', async () => {
    const handler = createIpnHandler(deps());
    await handler(post(payment.form));
    const again = await handler(post(payment.form));
    expect(again.statusCode).toBe(200);
    expect(String(again.body).split('\n')[0]).toBe('OK');
    expect(await conversions()).toHaveLength(2);
  });

  it('records a refund as negative revenue (umlauts and empty values in the signed form)', async () => {
    const result = await createIpnHandler(deps())(post(refund.form));
    expect(result.statusCode).toBe(200);
    expect(await conversions()).toEqual([expect.objectContaining({ conversionKey: 'refund|98765999', revenue: -47, counted: true })]);
    expect(JSON.stringify(await conversions())).not.toContain('München');
  });

  it('answers OK to the connection test and to untracked events, recording nothing', async () => {
    const test = await createIpnHandler(deps())(post(fixture('connection test').form));
    expect(test).toMatchObject({ statusCode: 200 });
    expect(test.body).toMatch(/^OK connection test/);
    const untracked = await createIpnHandler(deps())(post(signed({ event: 'on_affiliation', transaction_id: '5' }, PASS)));
    expect(untracked.body).toMatch(/^OK ignored: event "on_affiliation" is not tracked/);
    const testOrder = await createIpnHandler(deps())(post(signed({ ...payment.form, api_mode: 'test' }, PASS)));
    expect(testOrder.body).toMatch(/^OK test order/);
    expect(await conversions()).toEqual([]);
  });

  it('refuses a bad or missing signature with 403 and stores nothing', async () => {
    const handler = createIpnHandler(deps());
    const tampered = await handler(post({ ...payment.form, amount_brutto: '4700.00' }));
    expect(tampered.statusCode).toBe(403);
    expect(tampered.body).toContain('sha_sign does not match');
    const { sha_sign: _s, ...unsigned } = payment.form;
    expect((await handler(post(unsigned))).statusCode).toBe(403);
    expect((await createIpnHandler(deps({ passphrase: 'other' }))(post(payment.form))).statusCode).toBe(403);
    expect(await conversions()).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('answers 503 (so Digistore24 retries) when no passphrase is configured', async () => {
    const result = await createIpnHandler(deps({ passphrase: undefined }))(post(payment.form));
    expect(result.statusCode).toBe(503);
    expect(result.body).toContain('no IPN passphrase is configured');
  });

  it('maps upsells and rebills by order position, and the click id from custom when cid is empty', async () => {
    const handler = createIpnHandler(deps());
    await handler(post(signed({ ...payment.form, transaction_id: 'U1', upsell_no: '1' }, PASS)));
    await handler(post(signed({ ...payment.form, transaction_id: 'R2', pay_sequence_no: '2' }, PASS)));
    await handler(post(signed({ ...payment.form, transaction_id: 'C3', cid: '', custom: CID }, PASS)));
    expect((await conversions()).map((c) => c.conversionKey).sort()).toEqual([
      'initial_sale|C3', 'payment|C3', 'payment|R2', 'payment|U1', 'upsell|U1',
    ]);
  });

  it('records an IPN without click id as unattributed, and stores buyer data only when the config says so', async () => {
    await createIpnHandler(deps({ ipn: { storeBuyerData: true } }))(post(signed({ ...payment.form, cid: '', transaction_id: 'ORG' }, PASS)));
    expect(await conversions()).toEqual(
      expect.arrayContaining([expect.objectContaining({ clickId: '~unattributed', conversionKey: 'payment|ORG', buyer: { email: 'buyer@example.com' } })]),
    );
  });

  it('keeps the IPN in the queue without buyer data when DynamoDB is down (OK), and answers 503 when the queue is down too', async () => {
    const down = createIpnHandler(deps({ conversionsClient: unreachableClient() }));
    const result = await down(post(payment.form));
    expect(result.statusCode).toBe(200);
    expect(result.body).toContain('queued for replay');
    const [message, ...rest] = queued();
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ kind: 'ipn', reason: 'storage_error', clickId: CID });
    expect(message?.request.body).toContain('transaction_id=98765431');
    expect(message?.request.body).not.toContain('buyer%40example.com');
    expect(message?.request.body).not.toContain('sha_sign');

    sqs.reset();
    sqs.on(SendMessageCommand).rejects(new Error('SQS down'));
    expect((await down(post(payment.form))).statusCode).toBe(503);
  });

  it('answers 404 when the config has no IPN section', async () => {
    expect((await createIpnHandler(undefined)(post(payment.form))).statusCode).toBe(404);
  });
});
