/**
 * Issue 11 item 3 on the local run's queue (files) and the real archive and ledger tables
 * (dynalite): old messages move to the archive, `dlq` lists both places, `redrive` replays the
 * archive like the queue, and two redrives at once never replay a message twice.
 */
import { mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ConversionType } from '../../config/schema';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoDeadLetterArchive } from '../../lambda/adapters/dead-letter-archive';
import { DynamoDeadLetterLedger } from '../../lambda/adapters/dead-letter-ledger';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../../lambda/adapters/file-dead-letter';
import { ARCHIVE_AFTER_DAYS, ArchiveQueue, archiveOldMessages } from '../../lambda/core/archive';
import { mintId } from '../../lambda/core/ids';
import type { DeadLetterMessage, ReceivedMessage } from '../../lambda/core/model';
import { redrive, type RedriveProgress, type ReplayDeps } from '../../lambda/core/replay';
import type { TableNames } from '../../lambda/local/tables';
import { collapseCopies } from '../../scripts/dlq';
import { testConfig } from '../support/config';
import { freshTables, scanAll } from '../support/dynamo';

const DAY = 86400_000;
const config = testConfig();
const CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';
let client: DynamoDBClient;
let tables: TableNames;
let queue: FileDeadLetterQueue;
let archive: DynamoDeadLetterArchive;
let ledger: DynamoDeadLetterLedger;

function postbackMessage(txid: string, type: string, receivedAt: number): DeadLetterMessage {
  return {
    version: 1,
    id: mintId(receivedAt),
    kind: 'postback',
    reason: 'unknown_type',
    detail: `unknown conversion type "${type}"`,
    receivedAt: new Date(receivedAt).toISOString(),
    clickId: CID,
    request: { method: 'GET', path: '/postback', query: `clickid=${CID}&type=${type}&sum=5&txid=${txid}`, body: '', headers: {} },
  };
}

/** Queues a message whose file was written `daysAgo` (what the archiver's age counts from). */
async function queueAged(message: DeadLetterMessage, daysAgo: number): Promise<void> {
  await queue.send(message);
  const when = new Date(Date.now() - daysAgo * DAY);
  utimesSync(join(queue.dir, `${message.id}.json`), when, when);
}

function deps(delayMs = 0): ReplayDeps {
  const clicks = new DynamoClickStore(client, tables.clicks);
  const types = new DynamoConversionTypes(client, tables.conversionTypes, 0);
  return {
    clicks,
    clickStore: clicks,
    conversions: new DynamoConversionStore(client, tables.conversions),
    // The real store, slowed down: a redrive that takes its time, as against a far-away region.
    types: {
      getConversionType: async (name) => {
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        return types.getConversionType(name);
      },
    },
    defaultCurrency: 'EUR',
  };
}

const lead: ConversionType = { name: 'Lead', countsAsConversion: true, revenue: 'add', forwardToChannel: false };
const deadline = () => Date.now() + 60_000;

beforeEach(async () => {
  ({ client, tables } = await freshTables());
  queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-archive-')));
  archive = new DynamoDeadLetterArchive(client, tables.deadLetterArchive);
  ledger = new DynamoDeadLetterLedger(client, tables.deadLetterLedger);
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  await new DynamoClickStore(client, tables.clicks).putClick({ clickId: CID, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {} });
});

describe('the archiver', () => {
  it(`moves messages older than ${ARCHIVE_AFTER_DAYS} days to the archive and leaves younger ones, idempotently`, async () => {
    const old = postbackMessage('OLD', 'Lead', Date.now() - 12 * DAY);
    const young = postbackMessage('YOUNG', 'Lead', Date.now() - 2 * DAY);
    await queueAged(old, 11);
    await queueAged(young, 9);
    const summary = await archiveOldMessages(queue, archive, { deadline: deadline(), ledger });
    expect(summary).toMatchObject({ examined: 2, archived: 1, young: 1, staleCopies: 0, busy: 0, deadlineReached: false, oldestWaitingSince: old.receivedAt });
    expect((await queue.list()).map((m) => m.id)).toEqual([young.id]);
    expect(await archive.list(10)).toEqual([old]);
    const items = await scanAll(client, tables.deadLetterArchive);
    expect(items).toEqual([expect.objectContaining({ kind: 'postback', id: old.id, reason: 'unknown_type', receivedAt: old.receivedAt, archivedAt: expect.any(String) })]);

    // Again: nothing more to move, and the archive still holds one copy.
    expect(await archiveOldMessages(queue, archive, { deadline: deadline(), ledger })).toMatchObject({ archived: 0, young: 1, oldestWaitingSince: old.receivedAt });
    expect(await archive.list(10)).toHaveLength(1);
  });

  it('counts age from when the copy was last written, so a message a redrive updated is young again', async () => {
    const message = postbackMessage('UPDATED', 'Lead', Date.now() - 20 * DAY);
    await queueAged(message, 1);
    expect(await archiveOldMessages(queue, archive, { deadline: deadline(), ledger })).toMatchObject({ archived: 0, young: 1 });
  });

  it('stops starting messages at its deadline and leaves the rest for the next run', async () => {
    await queueAged(postbackMessage('A', 'Lead', Date.now() - 12 * DAY), 11);
    await queueAged(postbackMessage('B', 'Lead', Date.now() - 12 * DAY + 1), 11);
    expect(await archiveOldMessages(queue, archive, { deadline: Date.now() - 1, ledger })).toMatchObject({ archived: 0, deadlineReached: true });
    expect(await queue.list()).toHaveLength(2);
  });

  it('leaves a message a redrive holds (its lease) for the next run', async () => {
    const message = postbackMessage('HELD', 'Lead', Date.now() - 12 * DAY);
    await queueAged(message, 11);
    await ledger.lease(message.id, 'redrive-elsewhere', Date.now(), Date.now() + 60_000);
    expect(await archiveOldMessages(queue, archive, { deadline: deadline(), ledger })).toMatchObject({ archived: 0, busy: 1 });
    expect(await queue.list()).toHaveLength(1);
  });
});

describe('dlq and redrive over the queue and its archive', () => {
  it('archives and replays a lander click too, after the click it names', async () => {
    const at = Date.now() - 12 * DAY;
    const landerClick: DeadLetterMessage = {
      version: 1,
      id: mintId(at),
      kind: 'lander_click',
      reason: 'unknown_click',
      detail: 'lander click of a click that is not stored (yet)',
      receivedAt: new Date(at).toISOString(),
      clickId: CID,
      request: { method: 'GET', path: '/go', query: `clickid=${CID}&offer=ds24`, body: '', headers: {} },
      landerClick: { clickId: CID, offerId: 'ds24', at: new Date(at).toISOString() },
    };
    await queueAged(landerClick, 11);
    expect(await archiveOldMessages(queue, archive, { deadline: deadline(), ledger })).toMatchObject({ archived: 1 });
    // Listed from the archive (every kind is read), and replayed from there.
    expect(await archive.list(10)).toEqual([landerClick]);
    const summary = await redrive(queue, deps(), { limit: 10, dryRun: false, archive: new ArchiveQueue(archive), ledger });
    expect(summary).toMatchObject({ fromArchive: 1, replayed: 1, outcomes: { 'lander click recorded': 1 } });
    expect(await archive.list(10)).toEqual([]);
    expect((await scanAll(client, tables.clicks))[0]).toMatchObject({ clickId: CID, lpClickAt: landerClick.receivedAt, offerId: 'ds24' });
  });

  it('lists both places, one entry per message id, and says where each waits', async () => {
    const inQueue = postbackMessage('Q', 'Lead', Date.parse('2026-11-20T00:00:00Z'));
    const archived = postbackMessage('A', 'Lead', Date.parse('2026-11-01T00:00:00Z'));
    await queue.send(inQueue);
    await archive.put(archived, new Date().toISOString());
    const received: ReceivedMessage[] = [...(await queue.receive(10)), ...(await new ArchiveQueue(archive).receive(10))];
    // A copy of the queued message in the archive too (the archiver stopped between its steps).
    received.push({ handle: 'x', message: { ...inQueue }, place: 'archive' });
    expect(collapseCopies(received).map((m) => [m.id, m.place])).toEqual([
      [archived.id, 'archive'],
      [inQueue.id, 'queue'],
    ]);
  });

  it('replays archived messages: recorded ones leave the archive, failing ones are updated in place', async () => {
    const fixable = postbackMessage('FIX', 'Lead', Date.parse('2026-11-01T00:00:00Z'));
    const broken = postbackMessage('BROKEN', 'Nope', Date.parse('2026-11-02T00:00:00Z'));
    for (const m of [fixable, broken]) await archive.put(m, new Date().toISOString());
    await syncConversionTypes(client, tables.conversionTypes, [...config.conversionTypes, lead]);

    const summary = await redrive(queue, deps(), { limit: 10, dryRun: false, archive: new ArchiveQueue(archive), ledger, now: () => new Date('2026-11-26T00:00:00Z') });
    expect(summary).toMatchObject({ received: 2, fromArchive: 2, replayed: 1, outcomes: { recorded: 1 }, stillFailing: { unknown_type: 1 }, staleCopies: 0 });
    expect(await scanAll(client, tables.conversions)).toEqual([expect.objectContaining({ conversionKey: 'Lead|FIX', createdAt: fixable.receivedAt })]);
    expect(await archive.list(10)).toEqual([expect.objectContaining({ id: broken.id, attempts: 1, lastAttemptAt: '2026-11-26T00:00:00.000Z', revision: expect.any(String) })]);
    expect(await queue.list()).toEqual([]);
    // Replaying again changes nothing and leaves one archived copy.
    await redrive(queue, deps(), { limit: 10, dryRun: false, archive: new ArchiveQueue(archive), ledger });
    expect(await scanAll(client, tables.conversions)).toHaveLength(1);
    expect(await archive.list(10)).toEqual([expect.objectContaining({ id: broken.id, attempts: 2 })]);
  });

  it('replays a message found in both places once, and keeps one copy', async () => {
    const message = postbackMessage('BOTH', 'Nope', Date.parse('2026-11-01T00:00:00Z'));
    await queue.send(message);
    await archive.put(message, new Date().toISOString());
    const seen: RedriveProgress[] = [];
    await redrive(queue, deps(), { limit: 10, dryRun: false, archive: new ArchiveQueue(archive), ledger, onProgress: (_r, result) => seen.push(result) });
    expect(seen.filter((r) => typeof r === 'object')).toHaveLength(1);
    expect(seen.filter((r) => r === 'stale')).toHaveLength(1);
    expect([...(await queue.list()), ...(await archive.list(10))]).toEqual([expect.objectContaining({ id: message.id, attempts: 1 })]);
  });

  it('two redrives at once: each message is replayed once, and each failing one is left in one copy with one more attempt', async () => {
    const failing = ['F1', 'F2', 'F3'].map((t, i) => postbackMessage(t, 'Nope', Date.parse('2026-11-01T00:00:00Z') + i));
    const fixable = ['R1', 'R2', 'R3'].map((t, i) => postbackMessage(t, 'Lead', Date.parse('2026-11-02T00:00:00Z') + i));
    for (const m of [...failing, ...fixable]) await queue.send(m);
    await syncConversionTypes(client, tables.conversionTypes, [...config.conversionTypes, lead]);

    const replays = new Map<string, number>();
    const count = (received: ReceivedMessage, result: RedriveProgress) => {
      if (typeof result === 'object') replays.set(received.message.id, (replays.get(received.message.id) ?? 0) + 1);
    };
    const run = () => redrive(queue, deps(150), { limit: 10, dryRun: false, ledger, onProgress: count, waitForOthersMs: 10_000 });
    const [a, b] = await Promise.all([run(), run()]);

    expect([...replays.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    expect(a.replayed + b.replayed).toBe(3);
    expect(await scanAll(client, tables.conversions)).toHaveLength(3);
    expect((await queue.list()).map((m) => [m.id, m.attempts]).sort()).toEqual(failing.map((m) => [m.id, 1]).sort());
  });
});
