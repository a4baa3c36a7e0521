/**
 * Issue 10 item 5, "Dead-letter flooding": the same failing request repeated leaves one queue
 * message; distinct failures per source and hour are capped (refused with 503 + Retry-After,
 * counted), and a second source is never crowded out. Handlers over the real stores (dynalite),
 * the real ledger and the local file queue.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseConfig, type TrackerConfig } from '../../config/schema';
import { digistore24IpnConversionTypes } from '../../config/digistore24';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoDeadLetterLedger } from '../../lambda/adapters/dead-letter-ledger';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../../lambda/adapters/file-dead-letter';
import { capSource, GuardedDeadLetterSink } from '../../lambda/core/dead-letters';
import type { DeadLetterSink, InboundEntry } from '../../lambda/core/model';
import { redrive } from '../../lambda/core/replay';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import { createIpnHandler } from '../../lambda/handlers/ipn';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { conversionDeps, guardedDeadLetters, postbackAuth } from '../../lambda/handlers/runtime';
import type { TableNames } from '../../lambda/local/tables';
import { logger } from '../../lambda/logger';
import { TEST_POSTBACK_KEY, testConfig, testSecrets } from '../support/config';
import { freshTables, scanAll, unreachableClient } from '../support/dynamo';
import { httpEvent } from '../support/events';
import { formBody, signed } from '../support/ipn';

const CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';
const NO_CLICK = '01NQ0000000000000000000000';
const OTHER_KEY = 'other-key-0123456789abcdefghijklmnopqrst';
const PASS = 'flood-test-passphrase';
/** Protected as shipped (the generated key), plus a second source with a key of its own. */
const PROTECTION = { sources: [{ id: 'digistore24', keys: [{ generated: true as const }] }, { id: 'other', keys: [{ env: 'K_OTHER' }] }] };

let client: DynamoDBClient;
let tables: TableNames;
let queue: FileDeadLetterQueue;

function configWith(maxDistinctPerHour: number): TrackerConfig {
  const base = testConfig({}, PROTECTION);
  return parseConfig({
    ...base,
    conversionTypes: [...base.conversionTypes, ...digistore24IpnConversionTypes],
    deadLetters: { maxDistinctPerHour },
    digistore24: { ipn: { passphrase: { env: 'DS24_IPN_PASSPHRASE' } } },
  });
}

function postbackHandler(
  options: { max?: number; ledgerClient?: DynamoDBClient; conversionsClient?: DynamoDBClient; queue?: DeadLetterSink; callTimeoutMs?: number; inbound?: InboundEntry[] } = {},
) {
  const config = configWith(options.max ?? 1000);
  const ledger = new DynamoDeadLetterLedger(options.ledgerClient ?? client, tables.deadLetterLedger);
  const sink = options.callTimeoutMs
    ? () => new GuardedDeadLetterSink(options.queue ?? queue, ledger, { maxDistinctPerHour: config.deadLetters.maxDistinctPerHour, log: logger, callTimeoutMs: options.callTimeoutMs })
    : guardedDeadLetters(options.queue ?? queue, ledger, config);
  const deps = conversionDeps(
    config,
    {
      clicks: new DynamoClickStore(client, tables.clicks),
      conversions: new DynamoConversionStore(options.conversionsClient ?? client, tables.conversions),
      types: new DynamoConversionTypes(client, tables.conversionTypes),
    },
    sink,
  );
  const inbound = options.inbound;
  return createPostbackHandler(deps, {
    ...postbackAuth(config.postbackProtection, testSecrets({ K_OTHER: OTHER_KEY })),
    ...(inbound ? { inbound: { log: { record: async (entry: InboundEntry) => void inbound.push(entry) }, retentionDays: 1 } } : {}),
  });
}

const postback = (query: string, ip = '198.51.100.23') => httpEvent({ path: '/postback', query, headers: { 'cloudfront-viewer-address': `${ip}:443` } });
const unknownClick = (txid: string, key = TEST_POSTBACK_KEY, click = NO_CLICK) => postback(`clickid=${click}&type=payment&sum=10&currency=EUR&txid=${txid}&key=${key}`);
const queued = () => queue.list();
const ledgerItems = async (prefix: string) => (await scanAll(client, tables.deadLetterLedger)).filter((i) => String(i.pk).startsWith(prefix));

beforeEach(async () => {
  ({ client, tables } = await freshTables());
  queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-flood-')));
  await syncConversionTypes(client, tables.conversionTypes, configWith(1).conversionTypes);
  await new DynamoClickStore(client, tables.clicks).putClick({ clickId: CID, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {} });
});

describe('the same failing request, repeated', () => {
  it('1,000 identical unknown-click postbacks leave one queue message, and every sender is told it is kept', async () => {
    const handler = postbackHandler();
    const answers: { statusCode?: number; body?: string }[] = [];
    // In bursts of 25 at once, as a retrying sender or an attacker would send them.
    for (let i = 0; i < 1000; i += 25) {
      answers.push(...(await Promise.all(Array.from({ length: 25 }, () => handler(unknownClick('T1'))))));
    }
    const messages = await queued();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ kind: 'postback', reason: 'unknown_click', clickId: NO_CLICK, fingerprint: expect.any(String) });
    expect(answers.every((a) => a.statusCode === 202 && /^Accepted and queued for replay/.test(String(a.body)))).toBe(true);
    const repeats = answers.filter((a) => String(a.body).includes(`The same request is queued already (message ${messages[0]?.id})`));
    expect(repeats).toHaveLength(999);
    // One distinct failure: it counts once against the source's hour.
    expect(await ledgerItems('cap#')).toEqual([expect.objectContaining({ n: 1 })]);
  });

  it('leaves one message when several function instances get the same failure at once (the ledger decides)', async () => {
    const instances = Array.from({ length: 4 }, () => postbackHandler());
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(instances.map((handler) => handler(unknownClick('C1'))));
      expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 202]);
    }
    expect(await queued()).toHaveLength(1);
  });

  it('is told apart by kind, reason, click id, type and txid: each distinct one is queued', async () => {
    const handler = postbackHandler();
    await handler(unknownClick('T1'));
    await handler(unknownClick('T2'));
    await handler(postback(`clickid=${NO_CLICK}&type=refund&sum=10&txid=T1&key=${TEST_POSTBACK_KEY}`));
    await handler(unknownClick('T1', TEST_POSTBACK_KEY, '01NQ0000000000000000000001'));
    await handler(postback(`clickid=${CID}&type=Nope&sum=10&txid=T1&key=${TEST_POSTBACK_KEY}`));
    await handler(unknownClick('T1'));
    expect((await queued()).map((m) => [m.reason, m.clickId]).sort()).toEqual(
      [
        ['unknown_click', NO_CLICK],
        ['unknown_click', NO_CLICK],
        ['unknown_click', NO_CLICK],
        ['unknown_click', '01NQ0000000000000000000001'],
        ['unknown_type', CID],
      ].sort(),
    );
  });

  it('never takes an organic sale without txid for a repeat: each is a sale of its own', async () => {
    const handler = postbackHandler();
    for (let i = 0; i < 3; i++) expect((await handler(postback(`type=Nope&sum=10&key=${TEST_POSTBACK_KEY}`))).statusCode).toBe(202);
    expect(await queued()).toHaveLength(3);
  });

  it('is queued again once a redrive has replayed the message (the marker goes with it)', async () => {
    const handler = postbackHandler();
    await handler(unknownClick('T1', TEST_POSTBACK_KEY, '01NQ0000000000000000000009'));
    expect(await ledgerItems('fp#')).toHaveLength(1);
    const ledger = new DynamoDeadLetterLedger(client, tables.deadLetterLedger);
    const clicks = new DynamoClickStore(client, tables.clicks);
    const replay = { clicks, clickStore: clicks, conversions: new DynamoConversionStore(client, tables.conversions), types: new DynamoConversionTypes(client, tables.conversionTypes, 0), defaultCurrency: 'EUR' };
    // Still failing: the message stays, and so does its marker.
    expect(await redrive(queue, replay, { limit: 10, dryRun: false, ledger })).toMatchObject({ stillFailing: { unknown_click: 1 } });
    expect((await handler(unknownClick('T1', TEST_POSTBACK_KEY, '01NQ0000000000000000000009'))).body).toMatch(/queued already/);
    // The click arrives; the replay records the sale and releases the marker.
    await clicks.putClick({ clickId: '01NQ0000000000000000000009', campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {} });
    expect(await redrive(queue, replay, { limit: 10, dryRun: false, ledger })).toMatchObject({ replayed: 1, outcomes: { recorded: 1 } });
    expect(await queued()).toEqual([]);
    expect(await ledgerItems('fp#')).toEqual([]);
  });
});

describe('the cap on distinct failures per source and hour', () => {
  it('past deadLetters.maxDistinctPerHour answers 503 with Retry-After and why, keeps nothing, and still answers repeats of queued ones', async () => {
    const handler = postbackHandler({ max: 3 });
    const answers = [];
    for (const txid of ['A', 'B', 'C', 'D', 'E']) answers.push(await handler(unknownClick(txid)));
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 503, 503]);
    const refused = answers[3];
    expect(refused?.body).toMatch(/^Unavailable: no click with id "01NQ0+" is stored.*, and it was not queued either: key:digistore24 already has 3 distinct failing requests queued this hour \(deadLetters\.maxDistinctPerHour\)\. Nothing was kept; retry after \d{4}-\d\d-\d\d \d\d:00 UTC\./s);
    const retryAfter = Number(refused?.headers?.['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect((await queued()).map((m) => new URLSearchParams(m.request.query).get('txid')).sort()).toEqual(['A', 'B', 'C']);
    // A repeat of a queued failure is not a new one: still answered as kept.
    expect((await handler(unknownClick('B'))).statusCode).toBe(202);
    // The refused ones left no marker behind: once the hour turns, their retry is queued.
    expect(await ledgerItems('fp#')).toHaveLength(3);
  });

  it('does not crowd out a second source: another key, and a keyless network, are still queued', async () => {
    const flooded = postbackHandler({ max: 2 });
    for (const txid of ['A', 'B', 'C', 'D']) await flooded(unknownClick(txid));
    expect(await queued()).toHaveLength(2);
    // The other protection source.
    expect((await flooded(unknownClick('Z', OTHER_KEY))).statusCode).toBe(202);
    // Keyless pixels count per network, not per key. A keyless pixel on a click that is not
    // stored is refused and never queued; one on a stored click whose conversion write fails is
    // queued (storage_error): that is the keyless failure a network can repeat.
    const traced: InboundEntry[] = [];
    const down = postbackHandler({ max: 2, conversionsClient: unreachableClient(), inbound: traced });
    const clickOf = (i: number) => `01PX00000000000000000000${String(i).padStart(2, '0')}`;
    const clicks = new DynamoClickStore(client, tables.clicks);
    for (let i = 0; i < 8; i++) {
      await clicks.putClick({ clickId: clickOf(i), campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {} });
    }
    let n = 0;
    const pixel = (ip: string, extra = '') => postback(`format=img&clickid=${clickOf(n++)}&type=InitiateCheckout${extra}`, ip);
    const ips = ['203.0.113.7', '203.0.113.8', '203.0.113.9', '192.0.2.1', '2001:db8:1:2::1', '2001:db8:1:3::1', '2001:db8:2::1'];
    for (const ip of ips) expect((await down(pixel(ip))).headers?.['content-type']).toBe('image/gif');
    const bySource = await ledgerItems('cap#');
    const counts = Object.fromEntries(bySource.map((i) => [String(i.pk).replace(/^cap#[^#]+#/, ''), i.n]));
    expect(counts).toEqual({
      'key:digistore24': 2,
      'key:other': 1,
      'net:203.0.113.0/24': 2, // the third was refused (and still got its GIF)
      'net:192.0.2.0/24': 1,
      'net:2001:db8:1::/48': 2,
      'net:2001:db8:2::/48': 1,
    });
    const keyless = async () => (await queued()).filter((m) => m.pixelWithoutKey);
    expect(await keyless()).toHaveLength(6);
    expect((await keyless()).every((m) => m.reason === 'storage_error')).toBe(true);
    // The keyed sources' messages are all still there: the keyless flood took none of their room.
    expect((await queued()).filter((m) => !m.pixelWithoutKey)).toHaveLength(3);
    // The same pixel again, from anywhere and with any txid (a keyless pixel is one conversion
    // per click and type), is the same failure: no new message, no count.
    n = 0;
    await down(pixel('198.18.0.1', '&txid=another-one'));
    expect(await keyless()).toHaveLength(6);
    expect(Object.keys(Object.fromEntries((await ledgerItems('cap#')).map((i) => [i.pk, i.n])))).toHaveLength(6);
    // A keyless pixel on a click that is not stored is refused before anything is kept or counted.
    await down(postback(`format=img&clickid=${NO_CLICK}&type=InitiateCheckout`, '198.18.0.1'));
    expect(await keyless()).toHaveLength(6);
    expect(await ledgerItems('cap#')).toHaveLength(6);
    // Anonymous requests grow nothing beyond their failures: an inbound entry for each pixel
    // queued now, none for the one past its network's cap, the repeat or the missing click.
    expect(traced.map((e) => [e.clickId, e.outcome])).toEqual(
      [0, 1, 3, 4, 5, 6].map((i) => [clickOf(i), 'queued']),
    );
  });

  it('never caps a click whose storage failed: each is a real visitor with a fresh id', async () => {
    const config = configWith(1);
    const click = createClickHandler({ config: compileConfig(config), clicks: new DynamoClickStore(unreachableClient(), tables.clicks), deadLetters: guardedDeadLetters(queue, new DynamoDeadLetterLedger(client, tables.deadLetterLedger), config), log: logger });
    for (let i = 0; i < 5; i++) {
      const result = await click(httpEvent({ path: '/click/demo', pathParameters: { campaignId: 'demo' }, headers: { 'cloudfront-viewer-address': '203.0.113.7:1' } }));
      expect(result.statusCode).toBe(302);
    }
    expect((await queued()).map((m) => m.kind)).toEqual(['click', 'click', 'click', 'click', 'click']);
    expect(await ledgerItems('cap#')).toEqual([]);
  });

  it('caps signed IPN calls too (503 + Retry-After: Digistore24 retries), and keeps one message per repeated IPN', async () => {
    const config = configWith(1);
    const ipn = config.digistore24?.ipn;
    if (!ipn) throw new Error('no ipn');
    const deps = conversionDeps(
      config,
      { clicks: new DynamoClickStore(client, tables.clicks), conversions: new DynamoConversionStore(client, tables.conversions), types: new DynamoConversionTypes(client, tables.conversionTypes) },
      guardedDeadLetters(queue, new DynamoDeadLetterLedger(client, tables.deadLetterLedger), config),
    );
    const entries: InboundEntry[] = [];
    const inbound = { log: { record: async (entry: InboundEntry) => void entries.push(entry) }, retentionDays: 1 };
    const handler = createIpnHandler({ ...deps, ipn, passphrase: async () => PASS }, { inbound });
    const call = (txid: string) =>
      handler(
        httpEvent({
          method: 'POST',
          path: '/ipn/digistore24',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: formBody(signed({ event: 'on_refund', cid: NO_CLICK, transaction_id: txid, amount_brutto: '10.00', currency: 'EUR' }, PASS)),
        }),
      );
    const first = await call('I1');
    expect(first).toMatchObject({ statusCode: 200, body: 'OK' });
    // Digistore24 reads exactly OK (anything after it reaches the buyer); the detail is kept.
    expect(await call('I1')).toMatchObject({ statusCode: 200, body: 'OK' });
    expect(entries[1]?.detail).toMatch(/^refund: queued for replay .*The same request is queued already \(message [0-9A-Z]+\)/s);
    const refused = await call('I2');
    expect(refused.statusCode).toBe(503);
    expect(refused.body).toMatch(/ipn:digistore24 already has 1 distinct failing requests queued this hour/);
    expect(Number(refused.headers?.['retry-after'])).toBeGreaterThan(0);
    expect(await queued()).toHaveLength(1);
  });
});

describe('when the ledger itself fails', () => {
  it('queues without dedupe or cap when the ledger cannot be reached (fail open): DynamoDB down is when most failures arrive', async () => {
    const handler = postbackHandler({ max: 1, ledgerClient: unreachableClient() });
    for (const txid of ['A', 'A', 'B']) expect((await handler(unknownClick(txid))).statusCode).toBe(202);
    // B is not refused (the cap cannot be counted); the repeat of A is still caught by what this
    // instance itself queued a moment ago.
    expect((await queued()).map((m) => new URLSearchParams(m.request.query).get('txid')).sort()).toEqual(['A', 'B']);
    // Another instance, no memory of A, the ledger still down: A is queued again rather than lost.
    await postbackHandler({ max: 1, ledgerClient: unreachableClient() })(unknownClick('A'));
    expect(await queued()).toHaveLength(3);
  });

  it('gives up on a ledger that never answers within its per-call timeout, and queues', async () => {
    const sockets: Socket[] = [];
    const blackHole: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', () => resolve()));
    const port = (blackHole.address() as { port: number }).port;
    const { DynamoDBClient: Client } = await import('@aws-sdk/client-dynamodb');
    const hanging = new Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
    try {
      const handler = postbackHandler({ ledgerClient: hanging, callTimeoutMs: 200 });
      const started = Date.now();
      const result = await handler(unknownClick('H1'));
      expect(result.statusCode).toBe(202);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await queued()).toHaveLength(1);
    } finally {
      hanging.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => blackHole.close(() => resolve()));
    }
  });

  it('releases the marker and the count when the queue refuses the message, so the retry is queued', async () => {
    const notADirectory = join(mkdtempSync(join(tmpdir(), 'cv-flood-')), 'file');
    writeFileSync(notADirectory, '');
    const broken = postbackHandler({ max: 1, queue: new FileDeadLetterQueue(notADirectory) });
    const failed = await broken(unknownClick('R1'));
    expect(failed.statusCode).toBe(503);
    expect(failed.body).toMatch(/^Unavailable: .*could not be queued/s);
    expect(await ledgerItems('fp#')).toEqual([]);
    expect(await ledgerItems('cap#')).toEqual([expect.objectContaining({ n: 0 })]);
    // The sender retries: queued now, not "a repeat" of a message that never was, and not capped.
    const retried = await postbackHandler({ max: 1 })(unknownClick('R1'));
    expect(retried.statusCode).toBe(202);
    expect(retried.body).not.toMatch(/queued already/);
    expect(readdirSync(queue.dir)).toHaveLength(1);
  });
});

describe('capSource', () => {
  it('is the protection source for keyed requests, else the /24 or /48 network', () => {
    expect(capSource({ protectionSource: 'ds24', ip: '203.0.113.7' })).toBe('key:ds24');
    expect(capSource({ ip: '203.0.113.7' })).toBe('net:203.0.113.0/24');
    expect(capSource({ ip: '2001:db8:abcd:12::1' })).toBe('net:2001:db8:abcd::/48');
    // IPv4-mapped IPv6 is IPv4, or every IPv4 sender would share one /48.
    expect(capSource({ ip: '::ffff:203.0.113.7' })).toBe('net:203.0.113.0/24');
    expect(capSource({ ip: 'not an ip' })).toBe('net:unknown');
    expect(capSource({})).toBe('net:unknown');
  });
});
