import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ConversionType } from '../../config/schema';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../../lambda/adapters/file-dead-letter';
import type { ClickRecord, DeadLetterMessage } from '../../lambda/core/model';
import { handlePostback } from '../../lambda/core/postback';
import { redrive, type ReplayDeps } from '../../lambda/core/replay';
import { createClickHandler } from '../../lambda/handlers/click';
import { createLanderHandler } from '../../lambda/handlers/lander';
import { compileConfig } from '../../lambda/core/tracker-config';
import { logger } from '../../lambda/logger';
import type { TableNames } from '../../lambda/local/tables';
import { funnelConfig, testConfig } from '../support/config';
import { freshTables, scanAll, unreachableClient } from '../support/dynamo';
import { httpEvent } from '../support/events';

const config = testConfig();
let client: DynamoDBClient;
let tables: TableNames;
let queue: FileDeadLetterQueue;

const click: ClickRecord = { clickId: '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7', campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {} };

function deps(types: DynamoDBClient = client): ReplayDeps {
  const clicks = new DynamoClickStore(client, tables.clicks);
  return { clicks, clickStore: clicks, conversions: new DynamoConversionStore(client, tables.conversions), types: new DynamoConversionTypes(types, tables.conversionTypes, 0), defaultCurrency: 'EUR' };
}

async function queuePostback(query: string, at = '2026-11-25T11:00:00.000Z') {
  const outcome = await handlePostback(
    { request: { method: 'GET', path: '/postback', query, body: '', headers: {} }, now: new Date(at) },
    { ...deps(), deadLetters: () => queue },
  );
  expect(outcome.status).toBe('queued');
}

beforeEach(async () => {
  ({ client, tables } = await freshTables());
  queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-redrive-')));
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  await new DynamoClickStore(client, tables.clicks).putClick(click);
});

describe('redrive', () => {
  it('keeps what still fails (with attempts and reason), records it once the config is fixed, and changes nothing the second time', async () => {
    await queuePostback(`clickid=${click.clickId}&type=Lead&sum=5&txid=L1`);
    const first = await redrive(queue, deps(), { limit: 10, dryRun: false, now: () => new Date('2026-11-26T00:00:00.000Z') });
    expect(first).toEqual({ received: 1, fromArchive: 0, replayed: 0, discarded: 0, outcomes: {}, stillFailing: { unknown_type: 1 }, skipped: 0, heldUnknownForwards: 0, staleCopies: 0, busy: 0, dryRun: false });
    expect(await queue.list()).toEqual([expect.objectContaining({ reason: 'unknown_type', attempts: 1, lastAttemptAt: '2026-11-26T00:00:00.000Z' })]);

    const lead: ConversionType = { name: 'Lead', countsAsConversion: true, revenue: 'add', forwardToChannel: false };
    await syncConversionTypes(client, tables.conversionTypes, [...config.conversionTypes, lead]);
    const second = await redrive(queue, deps(), { limit: 10, dryRun: false });
    expect(second).toMatchObject({ replayed: 1, outcomes: { recorded: 1 }, stillFailing: {} });
    expect(await queue.list()).toEqual([]);
    // The conversion keeps the time it arrived, not the time of the replay.
    expect(await scanAll(client, tables.conversions)).toEqual([expect.objectContaining({ conversionKey: 'Lead|L1', revenue: 5, createdAt: '2026-11-25T11:00:00.000Z' })]);

    expect(await redrive(queue, deps(), { limit: 10, dryRun: false })).toMatchObject({ received: 0, replayed: 0 });
    expect(await scanAll(client, tables.conversions)).toHaveLength(1);
  });

  it('replays a click that failed to store, with the id the visitor was sent with', async () => {
    const sink = queue;
    const handler = createClickHandler({ config: compileConfig(config), clicks: new DynamoClickStore(unreachableClient(), tables.clicks), deadLetters: () => sink, log: logger });
    const redirect = await handler(httpEvent({ path: '/click/demo', query: 'sub1=outage', pathParameters: { campaignId: 'demo' } }));
    const clickId = new URL(String(redirect.headers?.location)).searchParams.get('cid');
    await queuePostback(`clickid=${clickId}&type=payment&sum=10&txid=P1`);

    // The click must be replayed before the postback that names it: the queue is in arrival order.
    expect(await redrive(queue, deps(), { limit: 10, dryRun: false })).toMatchObject({ replayed: 2, outcomes: { 'click stored': 1, recorded: 1 } });
    expect(await scanAll(client, tables.clicks)).toEqual(expect.arrayContaining([expect.objectContaining({ clickId, sub1: 'outage' })]));
    expect(await scanAll(client, tables.conversions)).toEqual([expect.objectContaining({ clickId, conversionKey: 'payment|P1' })]);
  });

  it('discards only the messages named by --discard, records nothing for them, and leaves the rest queued', async () => {
    await queuePostback(`clickid=${click.clickId}&type=Lead&sum=5&txid=D1`);
    await queuePostback(`clickid=${click.clickId}&type=Lead&sum=5&txid=D2`);
    const [gone, kept] = await queue.list();
    if (!gone || !kept) throw new Error('two messages expected');
    const dry = await redrive(queue, deps(), { limit: 10, dryRun: true, discard: new Set([gone.id]) });
    expect(dry).toMatchObject({ discarded: 1, replayed: 0, skipped: 1 });
    expect(await queue.list()).toHaveLength(2);

    const done = await redrive(queue, deps(), { limit: 10, dryRun: false, discard: new Set([gone.id]) });
    expect(done).toMatchObject({ discarded: 1, replayed: 0, skipped: 1, stillFailing: {} });
    expect((await queue.list()).map((m) => [m.id, m.attempts ?? 0])).toEqual([[kept.id, 0]]);
    expect(await scanAll(client, tables.conversions)).toEqual([]);
  });

  it('filters by reason, limits the count, and writes nothing in a dry run', async () => {
    await queuePostback(`clickid=${click.clickId}&type=Lead&txid=1`);
    await queuePostback('clickid=01AAAAAAAAAAAAAAAAAAAAAAAA&type=payment&txid=2');
    await queuePostback('clickid=01BBBBBBBBBBBBBBBBBBBBBBBB&type=payment&txid=3');
    const dry = await redrive(queue, deps(), { limit: 10, dryRun: true, reason: 'unknown_click' });
    expect(dry).toEqual({ received: 3, fromArchive: 0, replayed: 0, discarded: 0, outcomes: {}, stillFailing: { unknown_click: 2 }, skipped: 1, heldUnknownForwards: 0, staleCopies: 0, busy: 0, dryRun: true });
    expect((await queue.list()).map((m) => m.attempts ?? 0)).toEqual([0, 0, 0]);

    expect(await redrive(queue, deps(), { limit: 1, dryRun: false })).toMatchObject({ received: 1 });
    expect((await queue.list()).map((m) => m.attempts ?? 0)).toEqual([1, 0, 0]);
  });

  it('keeps a message whose store is still down, counting the attempt', async () => {
    await queuePostback(`clickid=${click.clickId}&type=Lead&txid=1`);
    const summary = await redrive(queue, deps(unreachableClient()), { limit: 10, dryRun: false });
    expect(summary.stillFailing).toEqual({ storage_error: 1 });
    expect(await queue.list()).toEqual([expect.objectContaining({ reason: 'storage_error', attempts: 1 })]);
  });

  it('replays a lander click after the click it names: waiting while the click is missing, once, never twice', async () => {
    // Both the click and its lander click failed to store (an outage): they wait in the queue.
    const landerConfig = compileConfig(funnelConfig());
    const down = new DynamoClickStore(unreachableClient(), tables.clicks);
    const clickHandler = createClickHandler({ config: landerConfig, clicks: down, deadLetters: () => queue, log: logger });
    const redirect = await clickHandler(httpEvent({ path: '/click/funnel', query: 'sub1=outage', pathParameters: { campaignId: 'funnel' } }));
    const landerUrl = new URL(String(redirect.headers?.location));
    // The bridge lander takes the id as clickid=, the quiz as cid=.
    const clickId = landerUrl.searchParams.get('clickid') ?? landerUrl.searchParams.get('cid') ?? '';
    expect(clickId).toMatch(/^[0-9A-Z]{30}$/);
    const go = createLanderHandler({ config: landerConfig, clicks: down, deadLetters: () => queue, log: logger, random: () => 0 });
    expect((await go(httpEvent({ path: '/go', query: `clickid=${clickId}&offer=lp` }))).statusCode).toBe(302);
    const both = await queue.list();
    expect(both.map((m) => m.kind).sort()).toEqual(['click', 'lander_click']);
    const queuedClick = both.find((m) => m.kind === 'click') as DeadLetterMessage;
    const queuedLanderClick = both.find((m) => m.kind === 'lander_click') as DeadLetterMessage;

    // A replay that sees only the lander click keeps it: its click is not stored yet.
    await queue.delete(queuedClick.id);
    expect(await redrive(queue, deps(), { limit: 10, dryRun: false })).toMatchObject({ replayed: 0, stillFailing: { unknown_click: 1 } });
    expect(await queue.list()).toEqual([expect.objectContaining({ kind: 'lander_click', reason: 'unknown_click', attempts: 1 })]);

    // The click arrives: the lander click is recorded as it was chosen then.
    await new DynamoClickStore(client, tables.clicks).putClick(queuedClick.click as ClickRecord);
    expect(await redrive(queue, deps(), { limit: 10, dryRun: false })).toMatchObject({ replayed: 1, outcomes: { 'lander click recorded': 1 } });
    const stored = (await scanAll(client, tables.clicks)).find((c) => c.clickId === clickId);
    expect(stored).toMatchObject({ landerId: queuedClick.click?.landerId, offerId: 'lp', lpClickAt: queuedLanderClick.landerClick?.at });
    // Replaying the same lander click again changes nothing (it finds its own write); another
    // lander click of the same click is a repeat and changes nothing either.
    await queue.send(queuedLanderClick);
    expect(await redrive(queue, deps(), { limit: 10, dryRun: false })).toMatchObject({ replayed: 1, outcomes: { 'lander click recorded': 1 } });
    await queue.send({ ...queuedLanderClick, id: '01KZZZZZZZZZZZZZZZZZZZZZZZ', landerClick: { clickId, offerId: 'ds24', at: '2026-11-25T12:00:00.000Z' } });
    expect(await redrive(queue, deps(), { limit: 10, dryRun: false })).toMatchObject({ replayed: 1, outcomes: { 'lander click already recorded': 1 } });
    expect((await scanAll(client, tables.clicks)).find((c) => c.clickId === clickId)).toEqual(stored);
  });
});
