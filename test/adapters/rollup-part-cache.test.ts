/**
 * The local server's memory of rollup day items (adapters/rollup-part-cache): when it may serve,
 * what a write or another process's run makes it forget, and its bound. End to end (the server's
 * own upkeep, another process's, a held lease) in test/e2e/rollup-part-cache.test.ts; against
 * random histories in test/reporting/rollups-property.test.ts.
 */
import { PART_CACHE_MAX_BYTES, RollupPartCache } from '../../lambda/adapters/rollup-part-cache';
import { attachRollupPartWatch, rollupWriteKeys } from '../../lambda/local/change-feed';
import { newStats } from '../../lambda/adapters/report-source';
import { DynamoRollupStore } from '../../lambda/adapters/rollup-store';
import type { ReportClick } from '../../lambda/core/report';
import { clickPart, encodeClickPart, type ClickPart } from '../../lambda/core/rollups';
import { freshTables, testEndpoint } from '../support/dynamo';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const columns = (json: Record<string, unknown> | null, bytes = 100) => new Map([['campaign', { json, bytes }]]);

function ready(stamp = { runs: 3 }): RollupPartCache {
  const cache = new RollupPartCache();
  cache.sync(stamp);
  return cache;
}

describe('rollup part cache', () => {
  it('serves nothing before a report read the state, and a day only with every column asked', () => {
    const cache = new RollupPartCache();
    cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '10': [] }));
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    cache.sync({ runs: 0 });
    cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '10': [] }));
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])?.get('campaign')).toEqual({ '10': [] });
    expect(cache.get('demo#m', '2026-11-25', ['campaign', 'offer'])).toBeUndefined();
    // A day without an item answers every column as absent.
    cache.put('demo#m', '2026-11-24', cache.generation('demo#m'), undefined);
    expect([...(cache.get('demo#m', '2026-11-24', ['campaign', 'sub1']) ?? [])]).toEqual([['campaign', null], ['sub1', null]]);
  });

  it('does not keep a read that a write of the same partition overlapped', () => {
    const cache = ready();
    const generation = cache.generation('demo#m');
    cache.writing('demo#m', '2026-11-25'); // sent while the read was under way
    cache.put('demo#m', '2026-11-25', generation, columns({ '10': ['old'] }));
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    // Another partition's write does not matter.
    const other = cache.generation('demo#v');
    cache.writing('demo#m', '2026-11-25');
    cache.put('demo#v', '2026-11-25', other, columns({ '10': ['kept'] }));
    expect(cache.get('demo#v', '2026-11-25', ['campaign'])?.get('campaign')).toEqual({ '10': ['kept'] });
  });

  it('drops the day a write touches, every day of a partition for a write without a sort key, everything for unknown keys', () => {
    const cache = ready();
    for (const day of ['2026-11-24', '2026-11-25']) for (const pk of ['demo#m', 'split#m']) cache.put(pk, day, cache.generation(pk), columns({ '1': [] }));
    cache.writing('demo#m', '2026-11-25');
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    expect(cache.get('demo#m', '2026-11-24', ['campaign'])).toBeDefined();
    cache.writing('demo#m');
    expect(cache.get('demo#m', '2026-11-24', ['campaign'])).toBeUndefined();
    expect(cache.get('split#m', '2026-11-24', ['campaign'])).toBeDefined();
    cache.writing();
    expect(cache.get('split#m', '2026-11-24', ['campaign'])).toBeUndefined();
  });

  it("keeps what it holds across its own process's runs, forgets it after another process's", () => {
    const cache = ready({ runs: 3 });
    const fill = () => cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '1': [] }));
    fill();
    // A run of this process (the middleware saw its lease taken and its release), then another
    // still holding the lease.
    cache.ownRun(4, 'me');
    cache.ownRun(5);
    cache.ownRun(6, 'me-again');
    cache.sync({ runs: 6, leaseOwner: 'me-again' });
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeDefined();
    // A number this process did not make: everything goes.
    cache.sync({ runs: 7 });
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    fill();
    cache.ownRun(9, 'me');
    cache.sync({ runs: 9 }); // 8 was someone else's
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    expect(cache.counts.flushes).toBeGreaterThanOrEqual(2);
  });

  it('serves and keeps nothing while another process holds the lease, past its leaseUntil too, and forgets again when it serves again', () => {
    const cache = ready({ runs: 3 });
    cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '1': ['before'] }));
    // A report read the state before the other process took the lease; its read of the day
    // is still under way.
    const early = cache.generation('demo#m');
    cache.sync({ runs: 4, leaseOwner: 'other' });
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    // A read begun during the lease (the day not yet rewritten by the other process).
    const during = cache.generation('demo#m');
    cache.put('demo#m', '2026-11-25', during, columns({ '1': ['mid-run'] }));
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    // Still named in the state, whatever its time: held.
    cache.sync({ runs: 4, leaseOwner: 'other' });
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    // Released (its lease removed; its release's own number not made yet): the cache serves
    // again, but what was read before or during the lease answers late and must not be kept.
    cache.sync({ runs: 4 });
    cache.put('demo#m', '2026-11-25', during, columns({ '1': ['mid-run'] }));
    cache.put('demo#m', '2026-11-25', early, columns({ '1': ['before'] }));
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '1': ['final'] }));
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])?.get('campaign')).toEqual({ '1': ['final'] });
  });

  it('after an own write that failed (it may still be applied), serves nothing until this process takes the lease again', () => {
    const cache = ready({ runs: 3 });
    cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '1': [] }));
    cache.writeFailed();
    cache.sync({ runs: 3 });
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '1': [] }));
    cache.ownRun(4); // a release is not a new run
    cache.sync({ runs: 4 });
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    cache.ownRun(5, 'me');
    cache.sync({ runs: 5, leaseOwner: 'me' });
    cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '1': [] }));
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeDefined();
  });

  it("a lease taken over from another process (its run may outlive its lease) stops the cache until this process's next lease", () => {
    const cache = ready({ runs: 3 });
    cache.ownRun(4, 'me', 'other'); // the other's lease had expired; its run may still write
    cache.sync({ runs: 4, leaseOwner: 'me' });
    cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '1': [] }));
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeUndefined();
    cache.ownRun(5); // own release
    cache.ownRun(6, 'me-2'); // the next lease: nobody's before
    cache.sync({ runs: 6, leaseOwner: 'me-2' });
    cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '1': [] }));
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeDefined();
    // Taking back a lease of its own (the same run again, or an earlier one) is no takeover.
    cache.ownRun(7, 'me-3', 'me-2');
    cache.sync({ runs: 7, leaseOwner: 'me-3' });
    expect(cache.get('demo#m', '2026-11-25', ['campaign'])).toBeDefined();
  });

  it('hands out frozen columns: a reader cannot change what the next report reads', () => {
    const cache = ready();
    cache.put('demo#m', '2026-11-25', cache.generation('demo#m'), columns({ '10': [[['demo'], 1, 0]] }));
    const column = cache.get('demo#m', '2026-11-25', ['campaign'])?.get('campaign') as Record<string, unknown[][]>;
    expect(() => {
      (column['10'] as unknown[][]).push([]);
    }).toThrow(TypeError);
    expect(() => {
      ((column['10'] as unknown[][])[0] as unknown[])[1] = 99;
    }).toThrow(TypeError);
  });

  it('holds at most maxBytes of column JSON (and a fixed cost a day and column), the least recently read days going first', () => {
    const cache = new RollupPartCache(500);
    cache.sync({ runs: 0 });
    const put = (day: string) => cache.put('demo#m', day, cache.generation('demo#m'), columns({ '1': [] }, 100));
    put('2026-11-01');
    put('2026-11-02');
    expect(cache.get('demo#m', '2026-11-01', ['campaign'])).toBeDefined(); // read: now the newest
    put('2026-11-03');
    expect(cache.size()).toBe(2 * (100 + 2 * 64));
    // Days without an item count too: enough of them push the others out.
    for (let d = 10; d < 20; d++) cache.put('demo#m', `2026-11-${d}`, cache.generation('demo#m'), undefined);
    expect(cache.size()).toBeLessThanOrEqual(500);
    expect(cache.get('demo#m', '2026-11-01', ['campaign'])).toBeUndefined();
    put('2026-11-01');
    put('2026-11-03');
    expect(cache.get('demo#m', '2026-11-02', ['campaign'])).toBeUndefined();
    expect(cache.get('demo#m', '2026-11-01', ['campaign'])).toBeDefined();
    expect(cache.get('demo#m', '2026-11-03', ['campaign'])).toBeDefined();
    expect(PART_CACHE_MAX_BYTES).toBeGreaterThan(1_000_000);
  });
});

describe('which writes of the rollups table the watch sees', () => {
  const T = 'rollups';
  it('keyed writes by their key; batches by each item; transactions as unknown; other tables not at all', () => {
    expect(rollupWriteKeys('PutItemCommand', { TableName: T, Item: { pk: { S: 'demo#m' }, sk: { S: '2026-11-25' } } }, T)).toEqual([{ pk: 'demo#m', sk: '2026-11-25' }]);
    expect(rollupWriteKeys('DeleteItemCommand', { TableName: T, Key: { pk: { S: 'demo#v' }, sk: { S: '2026-11-25' } } }, T)).toEqual([{ pk: 'demo#v', sk: '2026-11-25' }]);
    expect(rollupWriteKeys('UpdateItemCommand', { TableName: T, Key: { pk: { S: '~state' }, sk: { S: 'upkeep' } } }, T)).toEqual([{ pk: '~state', sk: 'upkeep' }]);
    expect(rollupWriteKeys('PutItemCommand', { TableName: 'clicks', Item: { pk: { S: 'x' } } }, T)).toBeNull();
    expect(rollupWriteKeys('GetItemCommand', { TableName: T, Key: { pk: { S: 'x' } } }, T)).toBeNull();
    expect(
      rollupWriteKeys('BatchWriteItemCommand', { RequestItems: { [T]: [{ PutRequest: { Item: { pk: { S: '~marks' }, sk: { S: 'c#1' } } } }, { DeleteRequest: { Key: { pk: { S: 'demo#m' }, sk: { S: 'd' } } } }] } }, T),
    ).toEqual([{ pk: '~marks', sk: 'c#1' }, { pk: 'demo#m', sk: 'd' }]);
    expect(rollupWriteKeys('BatchWriteItemCommand', { RequestItems: { other: [] } }, T)).toBeNull();
    expect(rollupWriteKeys('TransactWriteItemsCommand', { TransactItems: [{ Put: { TableName: T } }] }, T)).toBeUndefined();
    expect(rollupWriteKeys('PutItemCommand', { TableName: T, Item: {} }, T)).toBeUndefined();
  });
});

describe('the rollup store reading through the part cache', () => {
  const H = 3600_000;
  const DAY = 24 * H;
  const T0 = Date.parse('2026-10-01T00:00:00Z');
  const click = (n: number): ReportClick => ({ clickId: `c${n}`, campaignId: 'demo', createdAt: new Date(T0).toISOString(), ...(n % 2 ? { bot: true } : {}) });
  const read = async (store: DynamoRollupStore, stats = newStats()) => {
    const out: [number, unknown][] = [];
    for await (const { hour, part } of store.clickParts('demo', 'main', T0, T0 + 30 * DAY - H, ['campaign'], stats)) out.push([hour, encodeClickPart(part)]);
    return out;
  };

  it('answers what the store holds, reads only the days it lacks, and scattered missing days in one query', async () => {
    const { client, tables } = await freshTables();
    const writer = new DynamoRollupStore(client, tables.rollups);
    // Twenty of thirty days hold an hour's part (days 0..19, the part at 05:00 with day+1 clicks).
    const parts = new Map<number, ClickPart>();
    for (let d = 0; d < 20; d++) parts.set(T0 + d * DAY + 5 * H, clickPart(Array.from({ length: d + 1 }, (_, i) => click(i)), ['campaign']));
    await writer.putClickParts('demo', 'main', parts, () => Math.floor(Date.now() / 1000) + 86400);
    const expected = await read(writer);
    expect(expected).toHaveLength(20);

    const cache = new RollupPartCache();
    const cached = new DynamoRollupStore(client, tables.rollups, Date.now, cache);
    await cached.state();
    const first = newStats();
    expect(await read(cached, first)).toEqual(expected);
    expect(first.queries).toBe(1);
    const again = newStats();
    expect(await read(cached, again)).toEqual(expected);
    expect(again.queries).toBe(0);
    // Two days dropped (written): two reads, of those days only.
    cache.writing('demo#m', '2026-10-03');
    cache.writing('demo#m', '2026-10-25'); // a day without an item
    const two = newStats();
    expect(await read(cached, two)).toEqual(expected);
    expect([two.queries, two.items]).toEqual([2, 1]);
    // Every other day dropped: one query from the first to the last, not fifteen.
    for (let d = 0; d < 30; d += 2) cache.writing('demo#m', new Date(T0 + d * DAY).toISOString().slice(0, 10));
    const scattered = newStats();
    expect(await read(cached, scattered)).toEqual(expected);
    expect(scattered.queries).toBe(1);
    client.destroy();
  });
});

describe('the watch on the server client (local/change-feed attachRollupPartWatch)', () => {
  const H = 3600_000;
  const T0 = Date.parse('2026-10-01T00:00:00Z');
  const part = (n: number): ClickPart => clickPart(Array.from({ length: n }, (_, i): ReportClick => ({ clickId: `w${i}`, campaignId: 'demo', createdAt: new Date(T0).toISOString() })), ['campaign']);
  const expires = () => Math.floor(Date.now() / 1000) + 86400;
  const clicksOf = async (store: DynamoRollupStore): Promise<number[]> => {
    const out: number[] = [];
    for await (const { part: p } of store.clickParts('demo', 'main', T0, T0 + 23 * H, ['campaign'], newStats())) out.push(...[...(p.dims.campaign?.values() ?? [])].map((e) => e.counters.clicks));
    return out;
  };

  it('a report that reads the day while the write of it is under way does not keep the old day', async () => {
    const { client, tables } = await freshTables();
    const cache = new RollupPartCache();
    attachRollupPartWatch(client, tables.rollups, cache);
    const writer = new DynamoRollupStore(client, tables.rollups);
    const reader = new DynamoRollupStore(client, tables.rollups, Date.now, cache);
    await writer.putClickParts('demo', 'main', new Map([[T0 + 5 * H, part(1)]]), expires);
    await reader.state();
    expect(await clicksOf(reader)).toEqual([1]);
    // The next write of the day is held on its way to the store while a report reads the day.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let holding: () => void = () => undefined;
    const isHeld = new Promise<void>((r) => (holding = r));
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand') {
          holding();
          await held;
        }
        return next(args);
      },
      { step: 'finalizeRequest', name: 'holdPut' },
    );
    const writing = writer.putClickParts('demo', 'main', new Map([[T0 + 5 * H, part(2)]]), expires);
    await isHeld;
    expect(await clicksOf(reader)).toEqual([1]); // read while the write is on its way
    release();
    await writing;
    client.middlewareStack.remove('holdPut');
    expect(await clicksOf(reader)).toEqual([2]);
    client.destroy();
  });

  it("taking over another process's expired lease through the watched client stops the cache (leasePrev)", async () => {
    const { client, tables } = await freshTables();
    const cache = new RollupPartCache();
    attachRollupPartWatch(client, tables.rollups, cache);
    const own = new DynamoRollupStore(client, tables.rollups);
    const reader = new DynamoRollupStore(client, tables.rollups, Date.now, cache);
    const other = new DynamoRollupStore(createDynamoClient(testEndpoint()), tables.rollups);
    await own.putClickParts('demo', 'main', new Map([[T0 + 5 * H, part(1)]]), expires);
    expect((await other.acquire('other', Date.now(), Date.now() - 1)).held).toBe(false); // already expired
    expect((await own.acquire('me', Date.now(), Date.now() + 60_000)).held).toBe(false);
    await reader.state();
    await clicksOf(reader);
    expect(cache.size()).toBe(0);
    await own.release('me');
    expect((await own.acquire('me-2', Date.now(), Date.now() + 60_000)).held).toBe(false);
    await reader.state();
    await clicksOf(reader);
    expect(cache.size()).toBeGreaterThan(0);
    client.destroy();
  });

  it("a write that failed other than by its condition stops the cache until this process's next lease", async () => {
    const { client, tables } = await freshTables();
    const cache = new RollupPartCache();
    attachRollupPartWatch(client, tables.rollups, cache);
    const writer = new DynamoRollupStore(client, tables.rollups);
    const reader = new DynamoRollupStore(client, tables.rollups, Date.now, cache);
    await writer.putClickParts('demo', 'main', new Map([[T0 + 5 * H, part(1)]]), expires);
    const lease = await writer.acquire('me', Date.now(), Date.now() + 60_000);
    expect(lease.held).toBe(false);
    await reader.state();
    await clicksOf(reader);
    expect(cache.size()).toBeGreaterThan(0);
    // A timeout: the store may still apply the write later.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand') throw Object.assign(new Error('Request timed out'), { name: 'TimeoutError' });
        return next(args);
      },
      { step: 'finalizeRequest', name: 'failPut' },
    );
    await expect(writer.putClickParts('demo', 'main', new Map([[T0 + 5 * H, part(2)]]), expires)).rejects.toThrow();
    client.middlewareStack.remove('failPut');
    await writer.release('me');
    await reader.state();
    await clicksOf(reader);
    expect(cache.size()).toBe(0);
    // This process's next run: the cache serves again; its lease and release are its own numbers.
    expect((await writer.acquire('me-2', Date.now(), Date.now() + 60_000)).held).toBe(false);
    await writer.release('me-2');
    const flushes = cache.counts.flushes;
    await reader.state();
    await clicksOf(reader);
    await reader.state();
    await clicksOf(reader);
    expect(cache.counts.hits).toBeGreaterThan(0);
    expect(cache.counts.flushes).toBe(flushes + 1); // once, as it serves again; not for its own runs
    client.destroy();
  });
});
