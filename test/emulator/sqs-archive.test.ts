/**
 * Issue 11 item 3 against a real SQS API (moto_server): the archive move (crash-safe and
 * idempotent), replaying archived messages, and overlapping redrives on one queue. Messages are
 * made old with a clock given to the archiver (SQS's SentTimestamp is real time).
 */
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoDeadLetterArchive } from '../../lambda/adapters/dead-letter-archive';
import { DynamoDeadLetterLedger } from '../../lambda/adapters/dead-letter-ledger';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { SqsDeadLetterQueue } from '../../lambda/adapters/sqs-dead-letter';
import { ArchiveQueue, archiveOldMessages } from '../../lambda/core/archive';
import { mintId } from '../../lambda/core/ids';
import type { DeadLetterMessage, DeadLetterQueue, ReceivedMessage } from '../../lambda/core/model';
import { redrive, type RedriveProgress, type ReplayDeps } from '../../lambda/core/replay';
import { createArchiverHandler } from '../../lambda/handlers/archive-dead-letters';
import type { TableNames } from '../../lambda/local/tables';
import { testConfig } from '../support/config';
import { freshTables, scanAll } from '../support/dynamo';

const endpoint = process.env.MOTO_ENDPOINT;
if (!endpoint) {
  // eslint-disable-next-line no-console
  console.warn('SQS archive emulator suite NOT RUN: MOTO_ENDPOINT is not set (.ci/run starts moto_server and sets it).');
}
const suite = endpoint ? describe : describe.skip;
const DAY = 86400_000;
const CID = '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7';

suite('dead-letter archive and overlapping redrives on a real SQS API (moto)', () => {
  const sqs = () => new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  let client: DynamoDBClient;
  let tables: TableNames;
  let queueUrl: string;
  let archive: DynamoDeadLetterArchive;
  let ledger: DynamoDeadLetterLedger;

  beforeEach(async () => {
    ({ client, tables } = await freshTables());
    const config = testConfig();
    await syncConversionTypes(client, tables.conversionTypes, [...config.conversionTypes, { name: 'Lead', countsAsConversion: true, revenue: 'add', forwardToChannel: false }]);
    await new DynamoClickStore(client, tables.clicks).putClick({ clickId: CID, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {} });
    queueUrl = String((await sqs().send(new CreateQueueCommand({ QueueName: `cv-archive-${mintId(Date.now())}` }))).QueueUrl);
    archive = new DynamoDeadLetterArchive(client, tables.deadLetterArchive);
    ledger = new DynamoDeadLetterLedger(client, tables.deadLetterLedger);
  });

  const message = (txid: string, type: string, at = Date.parse('2026-11-01T00:00:00Z')): DeadLetterMessage => ({
    version: 1,
    id: mintId(at),
    kind: 'postback',
    reason: 'unknown_type',
    detail: `unknown conversion type "${type}"`,
    receivedAt: new Date(at).toISOString(),
    clickId: CID,
    request: { method: 'GET', path: '/postback', query: `clickid=${CID}&type=${type}&sum=5&txid=${txid}`, body: '', headers: {} },
  });
  const depth = async () => {
    const out = await sqs().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  };
  /** Every message body in the queue, by a reader of its own (visibility 0: nothing is hidden). */
  const everyBody = async (): Promise<DeadLetterMessage[]> => {
    await new Promise((r) => setTimeout(r, 1100)); // let any hidden message come back
    const bodies = new Map<string, DeadLetterMessage>();
    for (let i = 0; i < 5; i++) {
      const out = await sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
      for (const m of out.Messages ?? []) bodies.set(String(m.MessageId), JSON.parse(String(m.Body)) as DeadLetterMessage);
    }
    return [...bodies.values()];
  };
  const deps = (delayMs = 0): ReplayDeps => {
    const clicks = new DynamoClickStore(client, tables.clicks);
    const types = new DynamoConversionTypes(client, tables.conversionTypes, 0);
    return {
      clicks,
      clickStore: clicks,
      conversions: new DynamoConversionStore(client, tables.conversions),
      types: {
        getConversionType: async (name) => {
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          return types.getConversionType(name);
        },
      },
      defaultCurrency: 'EUR',
    };
  };

  it('moves messages older than 10 days (by SentTimestamp) to the archive, runs again harmlessly, and leaves young ones visible', async () => {
    const queue = new SqsDeadLetterQueue(queueUrl, sqs, 30);
    const messages = [message('A', 'Nope'), message('B', 'Nope', Date.parse('2026-11-02T00:00:00Z'))];
    for (const m of messages) await queue.send(m);

    // Five days on: nothing is old enough, and what was read is visible again at once.
    const early = await archiveOldMessages(queue, archive, { deadline: Date.now() + 60_000, now: () => Date.now() + 5 * DAY, ledger });
    expect(early).toMatchObject({ examined: 2, archived: 0, young: 2 });
    const visible = await queue.receive(10);
    expect(visible).toHaveLength(2);
    await Promise.all(visible.map((r) => queue.release(r.handle)));

    // Eleven days on (the clock the archiver is given), both move: archive first, then delete.
    const handler = createArchiverHandler({ queue: new SqsDeadLetterQueue(queueUrl, sqs, 30), archive, ledger }, { now: () => Date.now() + 11 * DAY });
    await new Promise((r) => setTimeout(r, 100));
    const late = await handler({}, { getRemainingTimeInMillis: () => 300_000 });
    expect(late).toMatchObject({ archived: 2, young: 0, deadlineReached: false, oldestWaitingSince: messages[0]?.receivedAt });
    expect(await depth()).toBe(0);
    expect((await archive.list(10)).map((m) => m.id)).toEqual(messages.map((m) => m.id));

    // Idempotent: another run finds nothing, the archive keeps one copy of each.
    expect(await handler({}, { getRemainingTimeInMillis: () => 300_000 })).toMatchObject({ examined: 0, archived: 0, oldestWaitingSince: messages[0]?.receivedAt });
    expect(await scanAll(client, tables.deadLetterArchive)).toHaveLength(2);
  });

  it('is crash-safe: stopped between archiving and deleting, the next run finishes the move without a second copy', async () => {
    const queue = new SqsDeadLetterQueue(queueUrl, sqs, 1);
    const m = message('CRASH', 'Nope');
    await queue.send(m);
    // The function dies right after the archive write: the delete never happens.
    const crashing: DeadLetterQueue = {
      send: (x) => queue.send(x),
      receive: (n) => queue.receive(n),
      release: (h) => queue.release(h),
      replace: (h, u) => queue.replace(h, u),
      remove: async () => {
        throw new Error('Task timed out');
      },
    };
    await expect(archiveOldMessages(crashing, archive, { deadline: Date.now() + 60_000, now: () => Date.now() + 11 * DAY, ledger })).rejects.toThrow('Task timed out');
    expect(await archive.list(10)).toEqual([m]);
    await new Promise((r) => setTimeout(r, 1100)); // the message becomes visible again
    expect(await depth()).toBe(1);

    const summary = await archiveOldMessages(queue, archive, { deadline: Date.now() + 60_000, now: () => Date.now() + 11 * DAY, ledger });
    expect(summary).toMatchObject({ archived: 1 });
    expect(await depth()).toBe(0);
    expect(await scanAll(client, tables.deadLetterArchive)).toEqual([expect.objectContaining({ id: m.id })]);
  });

  it('lists and replays archived messages with the queue: recorded ones leave the archive, failing ones stay updated', async () => {
    const queue = new SqsDeadLetterQueue(queueUrl, sqs, 30);
    const fixable = message('OLDFIX', 'Lead');
    const failing = message('OLDFAIL', 'Nope', Date.parse('2026-11-02T00:00:00Z'));
    const queued = message('NEW', 'Lead', Date.parse('2026-11-20T00:00:00Z'));
    for (const m of [fixable, failing]) await queue.send(m);
    await archiveOldMessages(queue, archive, { deadline: Date.now() + 60_000, now: () => Date.now() + 11 * DAY, ledger });
    await queue.send(queued);

    const summary = await redrive(queue, deps(), { limit: 10, dryRun: false, archive: new ArchiveQueue(archive), ledger });
    expect(summary).toMatchObject({ received: 3, fromArchive: 2, replayed: 2, outcomes: { recorded: 2 }, stillFailing: { unknown_type: 1 } });
    expect((await scanAll(client, tables.conversions)).map((c) => c.conversionKey).sort()).toEqual(['Lead|NEW', 'Lead|OLDFIX']);
    expect(await archive.list(10)).toEqual([expect.objectContaining({ id: failing.id, attempts: 1 })]);
    expect(await depth()).toBe(0);
  });

  it('two redrives at once on one queue: each message replayed or updated once, no duplicate copies', async () => {
    const failing = ['F1', 'F2', 'F3'].map((t, i) => message(t, 'Nope', Date.parse('2026-11-01T00:00:00Z') + i));
    const fixable = ['R1', 'R2', 'R3'].map((t, i) => message(t, 'Lead', Date.parse('2026-11-02T00:00:00Z') + i));
    const writer = new SqsDeadLetterQueue(queueUrl, sqs);
    for (const m of [...failing, ...fixable]) await writer.send(m);

    const replays = new Map<string, number>();
    const count = (received: ReceivedMessage, result: RedriveProgress) => {
      if (typeof result === 'object') replays.set(received.message.id, (replays.get(received.message.id) ?? 0) + 1);
    };
    // A visibility timeout shorter than the run (1 s; each replay takes 400 ms): the second
    // redrive receives what the first still works on, as a slow redrive would in AWS.
    const run = () =>
      redrive(new SqsDeadLetterQueue(queueUrl, sqs, 1), deps(400), { limit: 10, dryRun: false, ledger, hideSeconds: 3600, onProgress: count, waitForOthersMs: 15_000 });
    const [a, b] = await Promise.all([run(), new Promise((r) => setTimeout(r, 1200)).then(run)]);

    expect([...replays.entries()].sort()).toEqual([...failing, ...fixable].map((m) => [m.id, 1]).sort());
    expect(a.replayed + b.replayed).toBe(3);
    expect(a.staleCopies + b.staleCopies + a.busy + b.busy).toBeGreaterThan(0); // they did overlap
    expect(await scanAll(client, tables.conversions)).toHaveLength(3);
    const left = await everyBody();
    expect(left.map((m) => [m.id, m.attempts]).sort()).toEqual(failing.map((m) => [m.id, 1]).sort());
  });

  it('drops an older copy of a message left by an update that stopped halfway, without replaying it', async () => {
    const queue = new SqsDeadLetterQueue(queueUrl, sqs, 30);
    const m = message('HALF', 'Nope');
    await queue.send(m);
    await redrive(queue, deps(), { limit: 10, dryRun: false, ledger });
    // The updated copy is held by another reader, and the original copy is back, as if its
    // delete had never happened: this redrive sees only the older copy.
    const holder = new SqsDeadLetterQueue(queueUrl, sqs, 60);
    const [updated] = await holder.receive(10);
    expect(updated?.message).toMatchObject({ id: m.id, attempts: 1, revision: expect.any(String) });
    await queue.send(m);
    const seen: RedriveProgress[] = [];
    const summary = await redrive(queue, deps(), { limit: 10, dryRun: false, ledger, onProgress: (_r, result) => seen.push(result) });
    expect(summary).toMatchObject({ received: 1, staleCopies: 1, replayed: 0, stillFailing: {} });
    expect(seen).toEqual(['stale']);
    await holder.release(updated?.handle ?? '');
    expect((await everyBody()).map((x) => [x.id, x.attempts])).toEqual([[m.id, 1]]);
  });
});
