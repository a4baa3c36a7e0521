/**
 * Issue 11 item 2: a conditional write that DynamoDB applied, whose answer was lost (the
 * connection reset after the write), is retried by the SDK — and the retry fails its own
 * condition. The fault is real: a client middleware lets the write reach dynalite, then throws
 * the network error the SDK retries (ECONNRESET). The outcome must be what it is without the
 * fault: one conversion, recorded (not "duplicate"), forwarded exactly once, never left in
 * `sending`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseConfig, type TrackerConfig } from '../../config/schema';
import { digistore24ConversionTypes, digistore24IpnConversionTypes } from '../../config/digistore24';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../../lambda/adapters/file-dead-letter';
import { createIpnHandler } from '../../lambda/handlers/ipn';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { conversionDeps, postbackAuth } from '../../lambda/handlers/runtime';
import type { TableNames } from '../../lambda/local/tables';
import { freshTables, scanAll, testEndpoint } from '../support/dynamo';
import { httpEvent } from '../support/events';
import { TEST_POSTBACK_KEY, TEST_PROTECTION, testSecrets } from '../support/config';
import { formBody, signed } from '../support/ipn';
import { testSender } from '../support/sender';

const CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';
const PASS = 'lost-answer-passphrase';
let channel: Server;
let channelUrl: string;
let sent: string[];
let tables: TableNames;
let config: TrackerConfig;
let queue: FileDeadLetterQueue;

beforeAll(async () => {
  channel = createServer((req, res) => {
    sent.push(req.url ?? '');
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => channel.listen(0, '127.0.0.1', () => r()));
  channelUrl = `http://127.0.0.1:${(channel.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => channel.close(() => r())));

/**
 * A DynamoDB client on the test's dynalite whose first `command` (matching `when`) is applied
 * by the store and then fails as a reset connection, so the SDK sends it again.
 */
function losingClient(command: string, when: (input: Record<string, unknown>) => boolean = () => true) {
  const client = new DynamoDBClient({
    endpoint: testEndpoint(),
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
  const attempts: string[] = [];
  let lost = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const matches = context.commandName === command && when(args.input as Record<string, unknown>);
      if (matches) attempts.push(command);
      const result = await next(args);
      if (matches) {
        if (lost === 0) {
          lost++;
          // Below the retry middleware: the SDK sees a transient network error and retries.
          throw Object.assign(new Error('socket hang up (answer lost after the write)'), { code: 'ECONNRESET', $metadata: {} });
        }
      }
      return result;
    },
    { step: 'deserialize', name: 'loseFirstAnswer', priority: 'high' },
  );
  return { client, attempts, lost: () => lost };
}

beforeEach(async () => {
  sent = [];
  config = parseConfig({
    trafficChannels: [{ id: 'fb', name: 'FB', clickIdParam: 'fbclid', postbackUrl: `${channelUrl}/pb?click={clickid}&payout={payout}&event={type}` }],
    offers: [{ id: 'o', name: 'O', source: 'digistore24', url: 'https://www.digistore24.com/redir/1/a/?cid={clickid}' }],
    campaigns: [{ id: 'c', name: 'C', trafficChannel: 'fb', offers: [{ offer: 'o' }] }],
    conversionTypes: [...digistore24ConversionTypes, ...digistore24IpnConversionTypes],
    digistore24: { ipn: {} },
    postbackProtection: TEST_PROTECTION,
  });
  const fresh = await freshTables();
  tables = fresh.tables;
  queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-lost-')));
  await syncConversionTypes(fresh.client, tables.conversionTypes, config.conversionTypes);
  await new DynamoClickStore(fresh.client, tables.clicks).putClick({
    clickId: CID, campaignId: 'c', offerId: 'o', channelId: 'fb', channelClickId: 'FB.1', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {},
  });
});

function stores(client: DynamoDBClient) {
  return {
    clicks: new DynamoClickStore(client, tables.clicks),
    conversions: new DynamoConversionStore(client, tables.conversions),
    types: new DynamoConversionTypes(client, tables.conversionTypes),
  };
}
const conversions = async () => scanAll((await freshTables()).client, tables.conversions);
const s2s = () => httpEvent({ path: '/postback', query: `clickid=${CID}&sum=47.00&currency=EUR&txid=T1&type=payment&key=${TEST_POSTBACK_KEY}` });
/** The recording deps with the send path: the forward runs in the sender (its queue drained before asserting). */
function recording(client: DynamoDBClient, senderClient: DynamoDBClient = client) {
  const sender = testSender(config, senderClient, tables, () => queue);
  return { deps: conversionDeps(config, stores(client), () => queue, sender.queue), sender };
}
/** The postback handler as deployed: protected by the generated key the S2S URL carries. */
function postbackHandler(client: DynamoDBClient, senderClient: DynamoDBClient = client) {
  const { deps, sender } = recording(client, senderClient);
  return { handler: createPostbackHandler(deps, postbackAuth(config.postbackProtection, testSecrets())), sender };
}

describe('an answer lost after a committed write', () => {
  it('postback: the retried conversion put recognises its own write — recorded, forwarded once', async () => {
    const faulty = losingClient('PutItemCommand', (input) => input.TableName === tables.conversions);
    const { handler, sender } = postbackHandler(faulty.client);
    const result = await handler(s2s());
    await sender.drain();
    expect(faulty.lost()).toBe(1);
    expect(faulty.attempts).toEqual(['PutItemCommand', 'PutItemCommand']);
    expect(result).toMatchObject({ statusCode: 200, body: 'OK\n' });
    const stored = await conversions();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ conversionKey: 'payment|T1', revenue: 47, forwardState: 'sent' });
    expect(sent).toEqual(['/pb?click=FB.1&payout=47&event=payment']);
    expect(await queue.receive(10)).toEqual([]);
  });

  it('IPN: the same, for each of its conversions', async () => {
    const faulty = losingClient('PutItemCommand', (input) => input.TableName === tables.conversions);
    const ipn = config.digistore24?.ipn;
    if (!ipn) throw new Error('no ipn');
    const { deps, sender } = recording(faulty.client);
    const handler = createIpnHandler({ ...deps, ipn, passphrase: async () => PASS });
    const form = signed({ event: 'on_payment', transaction_id: 'T2', amount_netto: '39.50', currency: 'EUR', click_id: CID, pay_sequence_no: '1' }, PASS);
    const result = await handler(httpEvent({ method: 'POST', path: '/ipn/digistore24', body: formBody(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    await sender.drain();
    expect(faulty.lost()).toBe(1);
    expect(result).toMatchObject({ statusCode: 200, body: 'OK' });
    const stored = await conversions();
    expect(stored.map((c) => `${String(c.conversionKey)} ${String(c.forwardState ?? '-')}`).sort()).toEqual(['initial_sale|T2 -', 'payment|T2 sent']);
    expect(sent).toEqual(['/pb?click=FB.1&payout=39.5&event=payment']);
  });

  it('forward claim: the retried claim recognises its own claim — sent once, not stuck in "sending"', async () => {
    const faulty = losingClient('UpdateItemCommand', (input) => String(input.UpdateExpression).includes('forwardClaimToken'));
    const { handler, sender } = postbackHandler((await freshTables()).client, faulty.client);
    const result = await handler(s2s());
    await sender.drain();
    expect(faulty.lost()).toBe(1);
    expect(faulty.attempts).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
    expect(result).toMatchObject({ statusCode: 200, body: 'OK\n' });
    const [conversion, ...more] = await conversions();
    expect(more).toEqual([]);
    expect(conversion).toMatchObject({ forwardState: 'sent' });
    expect(sent).toHaveLength(1);
  });

  it('a different request with the same sale is still a duplicate, and never forwards again', async () => {
    const faulty = losingClient('PutItemCommand', (input) => input.TableName === tables.conversions);
    const { handler, sender } = postbackHandler(faulty.client);
    await handler(s2s());
    const again = await handler(s2s());
    await sender.drain();
    expect(again.body).toMatch(/^OK duplicate: payment for this click and txid T1 was recorded before; nothing changed/);
    expect(await conversions()).toHaveLength(1);
    expect(sent).toHaveLength(1);
  });
});
