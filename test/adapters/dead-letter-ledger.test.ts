/**
 * The dead-letter ledger on a real DynamoDB API (dynalite): markers, counters and leases are
 * single-item conditional writes, and each condition is what the guard and the redrive rely on.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDeadLetterLedger } from '../../lambda/adapters/dead-letter-ledger';
import type { TableNames } from '../../lambda/local/tables';
import { freshTables, scanAll } from '../support/dynamo';

let client: DynamoDBClient;
let tables: TableNames;
let ledger: DynamoDeadLetterLedger;
const signal = () => AbortSignal.timeout(5000);
const NOW = Date.parse('2026-11-25T10:00:00.000Z');
const claim = (messageId: string, now = NOW) => ({ messageId, now, expiresAt: Math.floor(now / 1000) + 86400, staleBefore: now - 60_000 });

beforeEach(async () => {
  ({ client, tables } = await freshTables());
  ledger = new DynamoDeadLetterLedger(client, tables.deadLetterLedger);
});

describe('failure markers', () => {
  it('are claimed once; a second claim sees the holder, pending until confirmed, then queued', async () => {
    expect(await ledger.claim('fp1', claim('M1'), signal())).toEqual({ claimed: true });
    expect(await ledger.claim('fp1', claim('M2', NOW + 10), signal())).toEqual({ claimed: false, holder: { messageId: 'M1', state: 'pending', claimedAt: NOW } });
    await ledger.confirm('fp1', 'M1', signal());
    expect(await ledger.claim('fp1', claim('M2', NOW + 20), signal())).toEqual({ claimed: false, holder: { messageId: 'M1', state: 'queued', claimedAt: NOW } });
    // Another failure is its own marker.
    expect(await ledger.claim('fp2', claim('M3'), signal())).toEqual({ claimed: true });
  });

  it('are taken over when pending too long (the sender died between claim and send) or expired, never when queued and live', async () => {
    await ledger.claim('dead', claim('M1'), signal());
    expect(await ledger.claim('dead', claim('M2', NOW + 59_000), signal())).toMatchObject({ claimed: false });
    expect(await ledger.claim('dead', claim('M2', NOW + 61_000), signal())).toEqual({ claimed: true });

    await ledger.claim('old', claim('M3'), signal());
    await ledger.confirm('old', 'M3', signal());
    expect(await ledger.claim('old', claim('M4', NOW + 3600_000), signal())).toMatchObject({ claimed: false, holder: { state: 'queued' } });
    // DynamoDB's TTL deletes late: an expired marker counts as free.
    expect(await ledger.claim('old', claim('M4', NOW + 86401_000), signal())).toEqual({ claimed: true });
  });

  it('are released only by the message that holds them', async () => {
    await ledger.claim('fp', claim('M1'), signal());
    await ledger.release('fp', 'OTHER', signal());
    expect(await ledger.claim('fp', claim('M2'), signal())).toMatchObject({ claimed: false });
    await ledger.release('fp', 'M1', signal());
    expect(await ledger.claim('fp', claim('M2'), signal())).toEqual({ claimed: true });
    // A confirm by a message that lost the marker changes nothing.
    await ledger.confirm('fp', 'M1', signal());
    expect(await ledger.claim('fp', claim('M3'), signal())).toMatchObject({ claimed: false, holder: { messageId: 'M2', state: 'pending' } });
  });

  it('hold no request data: the key is the fingerprint', async () => {
    await ledger.claim('abc', claim('M1'), signal());
    expect(await scanAll(client, tables.deadLetterLedger)).toEqual([
      { pk: 'fp#abc', messageId: 'M1', state: 'pending', claimedAt: NOW, expiresAt: Math.floor(NOW / 1000) + 86400 },
    ]);
  });
});

describe('per-source counters', () => {
  it('count up to the limit per source and hour, then refuse; uncount gives one back', async () => {
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await ledger.count('key:ds24', '2026-11-25T10', 3, 0, signal()));
    expect(results).toEqual([true, true, true, false]);
    expect(await ledger.count('key:other', '2026-11-25T10', 3, 0, signal())).toBe(true);
    expect(await ledger.count('key:ds24', '2026-11-25T11', 3, 0, signal())).toBe(true);
    await ledger.uncount('key:ds24', '2026-11-25T10', signal());
    expect(await ledger.count('key:ds24', '2026-11-25T10', 3, 0, signal())).toBe(true);
    expect(await ledger.count('key:ds24', '2026-11-25T10', 3, 0, signal())).toBe(false);
  });
});

describe('message leases', () => {
  it('are held by one owner until released or expired, and carry the record of the current copy', async () => {
    expect(await ledger.lease('M1', 'A', NOW, NOW + 1000)).toEqual({ acquired: true });
    expect(await ledger.lease('M1', 'B', NOW + 10, NOW + 1010)).toEqual({ acquired: false, until: NOW + 1000 });
    expect(await ledger.finish('M1', 'B', { revision: 'x', state: 'current' })).toBe(false);
    expect(await ledger.finish('M1', 'A', { revision: 'R2', state: 'current' })).toBe(true);
    // The record says which run replayed it last (overlapping runs leave its copy to it).
    expect(await ledger.lease('M1', 'B', NOW + 20, NOW + 1020)).toEqual({ acquired: true, record: { revision: 'R2', state: 'current', by: 'A' } });
    // Expired: another owner takes it over.
    expect(await ledger.lease('M1', 'C', NOW + 2000, NOW + 3000)).toEqual({ acquired: true, record: { revision: 'R2', state: 'current', by: 'A' } });
    expect(await ledger.finish('M1', 'C', { revision: 'R2', state: 'removed' })).toBe(true);
    expect(await ledger.lease('M1', 'D', NOW + 2100, NOW + 3100)).toEqual({ acquired: true, record: { revision: 'R2', state: 'removed', by: 'C' } });
    await ledger.unlease('M1', 'D');
    expect(await ledger.lease('M1', 'E', NOW + 2200, NOW + 3200)).toMatchObject({ acquired: true });
  });
});

describe('redrive runs', () => {
  it('are active while announced and not expired, and end when announced with 0', async () => {
    expect(await ledger.runActive('R1', NOW)).toBe(false);
    await ledger.announceRun('R1', NOW + 1000);
    expect(await ledger.runActive('R1', NOW)).toBe(true);
    expect(await ledger.runActive('R1', NOW + 1001)).toBe(false);
    await ledger.announceRun('R1', 0);
    expect(await ledger.runActive('R1', NOW)).toBe(false);
  });
});
