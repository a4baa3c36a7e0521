import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseConfig, type IpnConfig } from '../../config/schema';
import { digistore24ConversionTypes, digistore24IpnConversionTypes } from '../../config/digistore24';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, DynamoInboundLog } from '../../lambda/adapters/dynamodb-store';
import { SqsDeadLetterSink } from '../../lambda/adapters/sqs-dead-letter';
import { clickInbound } from '../../lambda/adapters/trace-source';
import type { ConversionRecord, DeadLetterMessage, InboundEntry } from '../../lambda/core/model';
import { replayMessage } from '../../lambda/core/replay';
import { formatTrace } from '../../lambda/core/trace';
import { createIpnHandler } from '../../lambda/handlers/ipn';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import type { TableNames } from '../../lambda/local/tables';
import { freshTables, scanAll, unreachableClient } from '../support/dynamo';
import { httpEvent } from '../support/events';
import { handedToSender } from '../support/sender';
import { fixture, formBody, referenceSigned, signed } from '../support/ipn';
import { TEST_PROTECTION } from '../support/config';

const sqs = mockClient(SQSClient);
const PASS = 'Zx9-public-example';
const CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';
/** The click id the realistic full IPN fixtures carry in click_id. */
const FULL_CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7TEA5';
/** The forms of test/fixtures/digistore24-ipn-signed.json carry amount_brutto only. */
const BRUTTO: Partial<IpnConfig> = { revenueField: 'amount_brutto' };

function ipnConfig(overrides: Partial<IpnConfig> = {}) {
  const config = parseConfig({
    trafficChannels: [{ id: 'fb', name: 'FB', clickIdParam: 'fbclid' }],
    offers: [{ id: 'o', name: 'O', source: 'digistore24', url: 'https://www.digistore24.com/redir/1/a/?cid={clickid}' }],
    campaigns: [{ id: 'c', name: 'C', trafficChannel: 'fb', offers: [{ offer: 'o' }] }],
    conversionTypes: [...digistore24ConversionTypes, ...digistore24IpnConversionTypes],
    digistore24: { ipn: { passphrase: { env: 'DS24_IPN_PASSPHRASE' } } },
    postbackProtection: TEST_PROTECTION,
  });
  const ipn = config.digistore24?.ipn;
  if (!ipn) throw new Error('no ipn config');
  return { config, ipn: { ...ipn, ...overrides } };
}

let client: DynamoDBClient;
let tables: TableNames;
let forwarded: ConversionRecord[];

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
    // What would be handed to the sender (marked when recorded, queued once stored).
    sends: handedToSender(forwarded),
  };
}

const inbound = () => ({ inbound: { log: new DynamoInboundLog(client, tables.inbound), retentionDays: 30 } });
const ipnHandler = (options: Parameters<typeof deps>[0] = {}) => createIpnHandler(deps(options), inbound());
const post = (form: Record<string, string>) =>
  httpEvent({ method: 'POST', path: '/ipn/digistore24', body: formBody(form), headers: { 'content-type': 'application/x-www-form-urlencoded' }, base64: true });
const conversions = () => scanAll(client, tables.conversions);
const queued = () => sqs.commandCalls(SendMessageCommand).map((c) => JSON.parse(String(c.args[0].input.MessageBody)) as DeadLetterMessage);
const trace = (clickId: string) => clickInbound(client, tables.inbound, clickId);
const payment = fixture('payment with click id in cid');
const refund = fixture('refund with umlauts and empty values');
const full = fixture('full on_payment with click_id (173 fields, as sent)');

async function putClick(clickId: string, extra: { channelClickId?: string } = {}) {
  await new DynamoClickStore(client, tables.clicks).putClick({
    clickId, campaignId: 'c', offerId: 'o', channelId: 'fb', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {}, ...extra,
  });
}

beforeEach(async () => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
  forwarded = [];
  ({ client, tables } = await freshTables());
  await syncConversionTypes(client, tables.conversionTypes, ipnConfig().config.conversionTypes);
  await putClick(CID);
  await putClick(FULL_CID, { channelClickId: 'fb.1.example' });
});

describe('POST /ipn/digistore24', () => {
  it('records a realistic full on_payment (173 fields, click_id, UTF-8 product) on its click, and answers exactly OK', async () => {
    const result = await ipnHandler({ passphrase: full.passphrase })(post(full.form));
    expect(result).toMatchObject({ statusCode: 200, body: 'OK' });
    expect(result.headers?.['content-type']).toMatch(/^text\/plain/);
    const stored = await conversions();
    expect(stored.map((c) => c.conversionKey).sort()).toEqual(['initial_sale|55500001', 'payment|55500001']);
    const byType = Object.fromEntries(stored.map((c) => [c.type, c]));
    // amount_netto (VAT excluded) is the default revenue field: 39.50 of the 47.00 gross.
    expect(byType.payment).toMatchObject({ clickId: FULL_CID, campaignId: 'c', revenue: 39.5, currency: 'EUR', source: 'ipn', status: 'completed' });
    expect(byType.initial_sale).toMatchObject({ clickId: FULL_CID, revenue: 0, counted: true });
    expect(forwarded.map((c) => c.type)).toEqual(['payment']);
    // Nothing personal, no product name, no signature stored.
    const text = JSON.stringify(stored);
    for (const value of ['erika@example.com', 'Mustermann', 'Köln', 'Grüner Tee', String(full.form.sha_sign)]) expect(text).not.toContain(value);
    // The detail is in the trace, not in the answer.
    const [entry] = await trace(FULL_CID);
    expect(entry).toMatchObject({ channel: 'ipn', outcome: 'recorded', httpStatus: 200, answer: 'OK', txid: '55500001' });
    expect(entry?.detail).toBe('payment: recorded 39.5 EUR; initial_sale: recorded 0 EUR');
  });

  it.each([
    'full on_payment, upper-case keys',
    'full on_payment, HTML-decoded values',
    'full on_payment, upper-case keys and HTML-decoded values',
    'full on_payment, upper-case keys, some keys sent in upper case',
  ])('records the variant "%s" on its click, with what was signed', async (name) => {
    const f = fixture(name);
    const result = await ipnHandler({ passphrase: f.passphrase })(post(f.form));
    expect(result).toMatchObject({ statusCode: 200, body: 'OK' });
    const txid = f.form.transaction_id ?? f.form.TRANSACTION_ID;
    expect((await conversions()).map((c) => `${String(c.clickId)} ${String(c.conversionKey)} ${String(c.revenue)}`).sort()).toEqual([
      `${FULL_CID} initial_sale|${txid} 0`,
      `${FULL_CID} payment|${txid} 39.5`,
    ]);
  });

  it('reads click_id first: a signed IPN whose click id is in click_id is attributed to that click', async () => {
    // cid names another (stored) click; click_id wins, as real IPNs carry click_id.
    await ipnHandler({ ipn: BRUTTO })(post(signed({ ...payment.form, click_id: FULL_CID, transaction_id: 'K1' }, PASS)));
    expect((await conversions()).map((c) => c.clickId)).toEqual([FULL_CID, FULL_CID]);
  });

  it('counts an S2S postback and an IPN for the same sale once, and a later S2S retry too', async () => {
    const postback = createPostbackHandler(deps());
    const s2s = httpEvent({ path: '/postback', query: `clickid=${CID}&sum=47.00&currency=EUR&txid=98765431&type=payment` });
    expect((await postback(s2s)).body).toBe('OK\n');
    const ipn = await ipnHandler({ ipn: BRUTTO })(post(payment.form));
    expect(ipn.body).toBe('OK');
    expect((await trace(CID)).find((e) => e.channel === 'ipn')?.detail).toContain('payment: duplicate, nothing changed');
    expect((await postback(s2s)).body).toMatch(/^OK duplicate/);
    expect((await conversions()).filter((c) => c.type === 'payment')).toHaveLength(1);
  });

  it('is idempotent under Digistore24 retries', async () => {
    const handler = ipnHandler({ ipn: BRUTTO });
    await handler(post(payment.form));
    const again = await handler(post(payment.form));
    expect(again).toMatchObject({ statusCode: 200, body: 'OK' });
    expect(await conversions()).toHaveLength(2);
    expect(forwarded).toHaveLength(1);
  });

  it('records a refund as negative revenue (umlauts and empty values in the signed form)', async () => {
    const result = await ipnHandler({ ipn: BRUTTO })(post(refund.form));
    expect(result.statusCode).toBe(200);
    expect(await conversions()).toEqual([expect.objectContaining({ conversionKey: 'refund|98765999', revenue: -47, counted: true })]);
    expect(JSON.stringify(await conversions())).not.toContain('München');
  });

  it('answers exactly OK to the connection test, untracked events and test orders, recording nothing and saying why in the trace', async () => {
    const handler = ipnHandler({ ipn: BRUTTO });
    for (const form of [
      fixture('connection test').form,
      signed({ event: 'on_affiliation', transaction_id: '5', cid: CID }, PASS),
      signed({ event: 'on_some_future_event', transaction_id: '6', cid: CID }, PASS),
      signed({ ...payment.form, api_mode: 'test' }, PASS),
    ]) {
      expect(await handler(post(form))).toMatchObject({ statusCode: 200, body: 'OK' });
    }
    expect(await conversions()).toEqual([]);
    const details = (await trace(CID)).map((e) => `${e.outcome}: ${e.detail ?? ''}`);
    expect(details).toEqual(
      expect.arrayContaining([
        'ignored: event "on_affiliation" is not tracked',
        'ignored: event "on_some_future_event" is not tracked',
        'test: test order (api_mode=test): nothing was recorded (digistore24.ipn.recordTestOrders is off)',
      ]),
    );
  });

  it('refuses a bad or missing signature with 403 and stores nothing', async () => {
    const handler = ipnHandler({ ipn: BRUTTO });
    const tampered = await handler(post({ ...payment.form, amount_brutto: '4700.00' }));
    expect(tampered.statusCode).toBe(403);
    expect(tampered.body).toContain('sha_sign does not match');
    const { sha_sign: _s, ...unsigned } = payment.form;
    expect((await handler(post(unsigned))).statusCode).toBe(403);
    expect((await ipnHandler({ passphrase: 'other' })(post(payment.form))).statusCode).toBe(403);
    expect(await conversions()).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
  });

  describe('upper-case keys: a renamed key changes nothing recorded (issue 10 item 2)', () => {
    const live = { event: 'on_payment', api_mode: 'live', transaction_id: 'UP1', amount_netto: '30.00', currency: 'EUR', click_id: CID, pay_sequence_no: '1' };

    it('reads API_MODE and TRANSACTION_ID the same as api_mode and transaction_id', async () => {
      const form = referenceSigned({ ...live, api_mode: 'test' }, PASS, { upper: true });
      const { api_mode, transaction_id, ...rest } = form;
      const renamed = { ...rest, API_MODE: String(api_mode), TRANSACTION_ID: String(transaction_id) };
      // Still a test order: the rename does not turn it into a live sale.
      expect(await ipnHandler()(post(renamed))).toMatchObject({ statusCode: 200, body: 'OK' });
      expect(await conversions()).toEqual([]);
      const liveForm = referenceSigned(live, PASS, { upper: true });
      const { transaction_id: t, ...liveRest } = liveForm;
      await ipnHandler()(post({ ...liveRest, Transaction_Id: String(t) }));
      expect((await conversions()).map((c) => c.conversionKey).sort()).toEqual(['initial_sale|UP1', 'payment|UP1']);
    });

    it('refuses a body whose keys collide when upper-cased, and stores nothing', async () => {
      const form = referenceSigned({ ...live, api_mode: 'test' }, PASS, { upper: true });
      const result = await ipnHandler()(post({ ...form, API_MODE: 'live' }));
      expect(result.statusCode).toBe(403);
      expect(result.body).toContain('one name when upper-cased');
      expect(await conversions()).toEqual([]);
      expect(sqs.calls()).toHaveLength(0);
    });
  });

  it('quotes what it echoes cut and clean: content-type, a field given twice, an event, an amount, colliding keys', async () => {
    // Everything a refusal or a detail quotes came from the request: it reaches the answer, the
    // log line, the inbound record (npm run trace) and the queue. No control, bidi or markup.
    // eslint-disable-next-line no-control-regex
    const unsafe = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069<>]/;
    const hostile = '<script>\u001b]0;pwned\u0007\u001b[2J\u202e';
    const handler = ipnHandler();
    const answers = [
      await handler(httpEvent({ method: 'POST', path: '/ipn/digistore24', body: 'event=on_payment', headers: { 'content-type': `text/html${hostile}` } })),
      await handler(httpEvent({ method: 'POST', path: '/ipn/digistore24', body: `${encodeURIComponent(`f${hostile}`)}=1&${encodeURIComponent(`f${hostile}`)}=2`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })),
      await handler(post({ ...referenceSigned({ event: 'on_payment', transaction_id: 'Q0', click_id: CID }, PASS, { upper: true }), [`k${hostile}`]: '1', [`K${hostile}`]: '2' })),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([400, 400, 403]);
    expect(answers.map((a) => a.body)).toEqual([
      // The media type ends at the first ';'.
      expect.stringContaining('content-type "text/htmlscript]0" is not form-encoded'),
      expect.stringContaining('field "fscript]0;pwned[2J" was given twice'),
      expect.stringContaining('fields "kscript]0;pwned[2J" and "Kscript]0;pwned[2J" are one name when upper-cased'),
    ]);
    for (const a of answers) expect(a.body).not.toMatch(unsafe);
    // Signed, so answered OK: the detail goes to the trace and (for the amount) the queue.
    expect(await handler(post(signed({ event: `on_${hostile}`, transaction_id: 'Q1', cid: CID }, PASS)))).toMatchObject({ statusCode: 200, body: 'OK' });
    expect(await handler(post(signed({ event: 'on_payment', transaction_id: 'Q2', cid: CID, amount_netto: `12${hostile}`, currency: 'EUR' }, PASS)))).toMatchObject({ statusCode: 200, body: 'OK' });
    const details = (await trace(CID)).map((e) => e.detail ?? '');
    expect(details).toEqual(
      expect.arrayContaining([
        'event "on_script]0;pwned[2J" is not tracked',
        'kept in the dead-letter queue: amount_netto "12script]0;pwned[2J" is not a decimal number',
      ]),
    );
    for (const d of details) expect(d).not.toMatch(unsafe);
    expect(queued().map((m) => m.detail)).toEqual(['amount_netto "12script]0;pwned[2J" is not a decimal number']);
    expect(await conversions()).toEqual([]);
  });

  it('never records signed money in a currency it does not accept as the default currency: kept for a person (invalid_input), answered OK', async () => {
    const handler = ipnHandler();
    const hostile = 'b\u001b]0;x\u0007<t>';
    for (const [txid, currency] of [['CUR1', 'BTC'], ['CUR2', 'XTS'], ['CUR3', hostile]] as const) {
      expect(await handler(post(signed({ event: 'on_payment', transaction_id: txid, cid: CID, amount_netto: '47.00', currency, pay_sequence_no: '2' }, PASS)))).toMatchObject({
        statusCode: 200,
        body: 'OK',
      });
    }
    // Nothing was recorded in EUR (the default) or any other currency.
    expect(await conversions()).toEqual([]);
    const messages = queued();
    expect(messages.map((m) => [m.kind, m.reason, m.detail])).toEqual([
      ['ipn', 'invalid_input', 'currency "BTC" is not an ISO 4217 currency code'],
      ['ipn', 'invalid_input', 'currency "XTS" is not an ISO 4217 currency code'],
      // Quoted: cut, no control characters, no markup.
      ['ipn', 'invalid_input', 'currency "B]0;XT" is not an ISO 4217 currency code'],
    ]);
    expect((await trace(CID)).map((e) => e.detail)).toEqual(expect.arrayContaining(['kept in the dead-letter queue: currency "BTC" is not an ISO 4217 currency code']));
    // The queue keeps what was signed: a replay still refuses to guess the currency, and the message stays.
    const [first] = messages;
    if (!first) throw new Error('not queued');
    expect(new URLSearchParams(first.request.body).get('currency')).toBe('BTC');
    const replayDeps = { ...deps(), clickStore: new DynamoClickStore(client, tables.clicks) };
    expect(await replayMessage(first, replayDeps)).toEqual({ done: false, reason: 'invalid_input', detail: 'currency "BTC" is not an ISO 4217 currency code' });
    expect(await conversions()).toEqual([]);
  });

  it('HTML-decoded signature: stores and queues the decoded values that were signed', async () => {
    const form = referenceSigned(
      { event: 'on_payment', transaction_id: 'H1', amount_netto: '10.00', click_id: CID, pay_sequence_no: '2', address_company: 'Müller &amp; Sohn &quot;Tee&quot;' },
      PASS,
      { decode: true },
    );
    expect(await ipnHandler({ ipn: { storeBuyerData: true } })(post(form))).toMatchObject({ statusCode: 200, body: 'OK' });
    expect(await conversions()).toEqual([expect.objectContaining({ conversionKey: 'payment|H1', buyer: { address_company: 'Müller & Sohn "Tee"' } })]);
    const down = await ipnHandler({ conversionsClient: unreachableClient() })(
      post(referenceSigned({ event: 'on_refund', transaction_id: 'R9', amount_netto: '-10.00', click_id: CID, custom: 'a &amp; b' }, PASS, { decode: true })),
    );
    expect(down.body).toBe('OK');
    expect(queued()[0]?.request.body).toContain('custom=a+%26+b');
  });

  it('answers 503 (so Digistore24 retries) when no passphrase is configured', async () => {
    const result = await ipnHandler({ passphrase: undefined })(post(payment.form));
    expect(result.statusCode).toBe(503);
    expect(result.body).toContain('no IPN passphrase is configured');
  });

  it('maps upsells and rebills by order position, and the click id from custom when click_id and cid are empty', async () => {
    const handler = ipnHandler({ ipn: BRUTTO });
    await handler(post(signed({ ...payment.form, transaction_id: 'U1', upsell_no: '1' }, PASS)));
    await handler(post(signed({ ...payment.form, transaction_id: 'R2', pay_sequence_no: '2' }, PASS)));
    await handler(post(signed({ ...payment.form, transaction_id: 'C3', click_id: '', cid: '', custom: CID }, PASS)));
    expect((await conversions()).map((c) => c.conversionKey).sort()).toEqual([
      'initial_sale|C3', 'payment|C3', 'payment|R2', 'payment|U1', 'upsell|U1',
    ]);
  });

  it("records an IPN whose custom or trackingkey holds the affiliate's own value (not a click id) as organic, never queued", async () => {
    const handler = ipnHandler();
    const { click_id: _c, cid: _d, ...form } = payment.form;
    const a = await handler(post(signed({ ...form, transaction_id: 'TK1', click_id: '', trackingkey: 'fb_summer' }, PASS)));
    const b = await handler(post(signed({ ...form, transaction_id: 'TK2', custom: 'user-333222' }, PASS)));
    expect([a.body, b.body]).toEqual(['OK', 'OK']);
    expect(queued()).toEqual([]);
    const stored = await conversions();
    expect(stored.map((c) => `${String(c.conversionKey)} ${String(c.attributed)}`).sort()).toEqual(['initial_sale|TK1 false', 'initial_sale|TK2 false', 'payment|TK1 false', 'payment|TK2 false']);
  });

  describe('every event', () => {
    it('records last_paid_day and payment_denial as their own types (tracked, not counted, no revenue)', async () => {
      const handler = ipnHandler();
      await handler(post(signed({ event: 'last_paid_day', order_id: 'O1', transaction_id: 'L1', amount_netto: '39.50', click_id: CID }, PASS)));
      await handler(post(signed({ event: 'payment_denial', order_id: 'O1', transaction_id: 'D1', amount_netto: '39.50', click_id: CID }, PASS)));
      expect((await conversions()).map((c) => `${String(c.conversionKey)} ${String(c.revenue)} ${String(c.counted)}`).sort()).toEqual([
        'last_paid_day|L1 0 false',
        'payment_denial|D1 0 false',
      ]);
    });

    it('records on_payment_subscription_signup like on_payment, so an on_payment for the same transaction is a duplicate', async () => {
      const handler = ipnHandler();
      const signup = { event: 'on_payment_subscription_signup', order_id: 'S1', transaction_id: 'SUB1', amount_netto: '19.00', currency: 'EUR', click_id: CID, pay_sequence_no: '1', billing_type: 'subscription' };
      await handler(post(signed(signup, PASS)));
      await handler(post(signed({ ...signup, event: 'on_payment' }, PASS)));
      expect((await conversions()).map((c) => `${String(c.conversionKey)} ${String(c.revenue)}`).sort()).toEqual(['initial_sale|SUB1 0', 'payment|SUB1 19']);
      expect(forwarded).toHaveLength(1);
    });
  });

  describe('test orders (api_mode=test)', () => {
    const testOrder = { event: 'on_payment', api_mode: 'test', order_id: 'T1', transaction_id: 'TX9', amount_netto: '39.50', currency: 'EUR', click_id: FULL_CID, pay_sequence_no: '0' };

    it('with recordTestOrders: recorded marked test, never forwarded, shown by trace, and a live sale of the same transaction id still counts', async () => {
      const handler = ipnHandler({ ipn: { recordTestOrders: true } });
      expect(await handler(post(signed(testOrder, PASS)))).toMatchObject({ statusCode: 200, body: 'OK' });
      expect(await handler(post(signed(testOrder, PASS)))).toMatchObject({ statusCode: 200, body: 'OK' }); // a retry
      await handler(post(signed({ ...testOrder, api_mode: 'live' }, PASS)));
      const stored = await conversions();
      expect(stored.map((c) => `${String(c.conversionKey)} ${String(c.test ?? '-')}`).sort()).toEqual([
        'initial_sale|TX9 -',
        'initial_sale|TX9|test true',
        'payment|TX9 -',
        'payment|TX9|test true',
      ]);
      // Only the live payment reached the traffic channel.
      expect(forwarded.map((c) => `${c.conversionKey} ${String(c.test ?? '-')}`)).toEqual(['payment|TX9 -']);
      const text = formatTrace({ clickId: FULL_CID, inbound: await trace(FULL_CID), conversions: stored.filter((c) => c.clickId === FULL_CID), queued: [] });
      expect(text).toMatch(/payment 39\.5 EUR, txid TX9, counted, via ipn, TEST ORDER/);
      expect(text).toContain('test order (api_mode=test): payment: recorded 39.5 EUR as a test order');
    });

    it('without it (the default): answered OK, nothing recorded', async () => {
      expect(await ipnHandler()(post(signed(testOrder, PASS)))).toMatchObject({ statusCode: 200, body: 'OK' });
      expect(await conversions()).toEqual([]);
    });
  });

  describe('organic sales without transaction_id (issue 11 item 8)', () => {
    const organic = { event: 'last_paid_day', order_id: 'ORG1', product_id: '123456', pay_sequence_no: '3', amount_netto: '0.00', currency: 'EUR' };
    const sale = { event: 'on_payment', order_id: 'ORG2', product_id: '123456', pay_sequence_no: '2', amount_netto: '19.00', currency: 'EUR' };

    it('counts a Digistore24 retry once: keyed by order, event, pay sequence and amount', async () => {
      const handler = ipnHandler();
      await handler(post(signed(sale, PASS)));
      await handler(post(signed(sale, PASS)));
      await handler(post(signed(organic, PASS)));
      await handler(post(signed(organic, PASS)));
      // The next rebill of the same order is another sale.
      await handler(post(signed({ ...sale, pay_sequence_no: '3' }, PASS)));
      const stored = await conversions();
      expect(stored.map((c) => `${String(c.clickId)} ${String(c.type)} ${String(c.revenue)}`).sort()).toEqual([
        '~unattributed last_paid_day 0',
        '~unattributed payment 19',
        '~unattributed payment 19',
      ]);
    });

    it('counts a replay of a queued one once, whether or not it was stored before', async () => {
      await ipnHandler()(post(signed(sale, PASS)));
      const down = await ipnHandler({ conversionsClient: unreachableClient() })(post(signed(sale, PASS)));
      expect(down.body).toBe('OK');
      const [message] = queued();
      if (!message) throw new Error('not queued');
      const replayDeps = { ...deps(), clickStore: new DynamoClickStore(client, tables.clicks) };
      expect(await replayMessage(message, replayDeps)).toEqual({ done: true, outcome: 'duplicate' });
      expect(await replayMessage(message, replayDeps)).toEqual({ done: true, outcome: 'duplicate' });
      expect(await conversions()).toHaveLength(1);
    });
  });

  it('records an IPN without click id as unattributed, and stores buyer data only when the config says so', async () => {
    await ipnHandler({ ipn: { ...BRUTTO, storeBuyerData: true } })(post(signed({ ...payment.form, cid: '', transaction_id: 'ORG' }, PASS)));
    expect(await conversions()).toEqual(
      expect.arrayContaining([expect.objectContaining({ clickId: '~unattributed', conversionKey: 'payment|ORG', buyer: { email: 'buyer@example.com' } })]),
    );
  });

  it('keeps the IPN in the queue without buyer data when DynamoDB is down (OK), and answers 503 when the queue is down too', async () => {
    const down = ipnHandler({ conversionsClient: unreachableClient(), ipn: BRUTTO });
    const result = await down(post(payment.form));
    expect(result).toMatchObject({ statusCode: 200, body: 'OK' });
    expect((await trace(CID))[0]?.detail).toContain('queued for replay');
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

describe('GET and HEAD /ipn/digistore24: the URL check Digistore24 makes', () => {
  const check = (method: 'GET' | 'HEAD') => httpEvent({ method, path: '/ipn/digistore24' });

  it('answers 200 OK (HEAD: no body) and stores nothing', async () => {
    const handler = ipnHandler();
    expect(await handler(check('GET'))).toMatchObject({ statusCode: 200, body: 'OK' });
    const head = await handler(check('HEAD'));
    expect(head).toMatchObject({ statusCode: 200, body: '' });
    expect(await conversions()).toEqual([]);
    expect(await scanAll(client, tables.inbound)).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('answers 404 without an IPN section, as POST does', async () => {
    expect((await createIpnHandler(undefined)(check('GET'))).statusCode).toBe(404);
    expect(await createIpnHandler(undefined)(check('HEAD'))).toMatchObject({ statusCode: 404, body: '' });
  });

  it('answers 403 when the request bypassed CloudFront', async () => {
    const handler = createIpnHandler(deps(), { originSecret: 'secret', ...inbound() });
    expect((await handler(check('GET'))).statusCode).toBe(403);
    expect(await scanAll(client, tables.inbound)).toEqual([]);
  });
});

describe('one sale, two amounts (amount_conflict)', () => {
  const s2s = (sum: string, currency = 'EUR') => httpEvent({ path: '/postback', query: `clickid=${CID}&sum=${sum}&currency=${currency}&txid=T500&type=payment` });
  const ipnPayment = (amount: string) => signed({ event: 'on_payment', transaction_id: 'T500', amount_netto: amount, currency: 'EUR', click_id: CID, pay_sequence_no: '2' }, PASS);
  const conflictEntries = async (): Promise<InboundEntry[]> => (await trace(CID)).filter((e) => e.reason === 'amount_conflict');

  it('S2S 23.50 EUR, then IPN 47.00 EUR: one conversion of 23.50, amount_conflict in the trace, nothing queued, both answers success', async () => {
    const postback = createPostbackHandler(deps(), inbound());
    expect(await postback(s2s('23.50'))).toMatchObject({ statusCode: 200, body: 'OK\n' });
    expect(await ipnHandler()(post(ipnPayment('47.00')))).toMatchObject({ statusCode: 200, body: 'OK' });
    expect((await conversions()).map((c) => `${String(c.conversionKey)} ${String(c.revenue)}`)).toEqual(['payment|T500 23.5']);
    const [entry, ...more] = await conflictEntries();
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ channel: 'ipn', outcome: 'duplicate', answer: 'OK' });
    expect(entry?.detail).toBe('payment: duplicate, amount_conflict: stored 23.5 EUR, this one says 47 EUR; the first amount stays');
    expect(formatTrace({ clickId: CID, inbound: await trace(CID), conversions: [], queued: [] })).toMatch(/ipn .*-> duplicate \(amount_conflict\), 200: OK — payment: duplicate, amount_conflict: stored 23\.5 EUR, this one says 47 EUR/);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('IPN first, then an S2S postback with another amount or currency: the first stays, the postback is told and traced', async () => {
    const postback = createPostbackHandler(deps(), inbound());
    await ipnHandler()(post(ipnPayment('47.00')));
    const other = await postback(s2s('23.50'));
    expect(other).toMatchObject({ statusCode: 200 });
    expect(other.body).toMatch(/^OK duplicate: payment for this click and txid T500 was recorded before with 47 EUR, this one says 23\.5 EUR; the first amount stays \(amount_conflict\)/);
    expect((await postback(s2s('47.00', 'USD'))).body).toContain('amount_conflict');
    // The same amount again is a plain duplicate.
    expect((await postback(s2s('47'))).body).toMatch(/nothing changed/);
    expect((await conversions()).map((c) => `${String(c.conversionKey)} ${String(c.revenue)} ${String(c.currency)}`)).toEqual(['payment|T500 47 EUR']);
    const entries = await conflictEntries();
    expect(entries.map((e) => e.detail)).toEqual([
      'amount_conflict: stored 47 EUR, this one says 23.5 EUR; the first amount stays',
      'amount_conflict: stored 47 EUR, this one says 47 USD; the first amount stays',
    ]);
    expect(sqs.calls()).toHaveLength(0);
  });
});
