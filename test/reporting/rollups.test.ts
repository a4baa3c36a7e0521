/**
 * Rollups against a raw recount on a known data set: every grouping rollups answer, in zones
 * with DST and with 30/45-minute offsets, with tests in and out; after TTL deleted the clicks;
 * and what each path says about itself (--stats).
 */
import { testConfig } from '../support/config';
import { catchUp, makeWorld, type ReportQuery, type World } from '../support/rollup-world';
import { buildReport, clickCoverage, nextDay, startOfDay, type GroupKey, type ReportFilter } from '../../lambda/core/report';
import { loadReportData } from '../../lambda/adapters/report-data';

const H = 3600_000;
// Europe leaves summer time on 2026-10-25 at 01:00 UTC.
const T0 = Date.UTC(2026, 9, 24, 0, 0, 0);

const config = (() => {
  const c = testConfig({ clickRetentionDays: 30 });
  return c;
})();

let world: World;
const ids: string[] = [];

beforeAll(async () => {
  world = await makeWorld(config, T0);
  const at = (h: number, m = 0) => T0 + h * H + m * 60_000;
  const click = async (h: number, m: number, input: Parameters<World['click']>[0]) => {
    world.now = at(h, m);
    const c = await world.click({ ...input, at: at(h, m) });
    ids.push(c.clickId);
    return c;
  };
  const pay = (clickId: string, txid: string, sum = '47.00', currency = 'EUR') => ({ clickId, type: 'payment', sum, currency, txid, source: 'postback' as const });
  // Around the DST switch in Berlin (01:00 UTC on the 25th), on both sides of midnight in Kolkata.
  const a = await click(1, 10, { campaignId: 'demo', subs: { sub1: 'a', sub2: 'x', sub3: 'p' }, country: 'DE', cost: '0.50' });
  const b = await click(1, 40, { campaignId: 'demo', subs: { sub1: 'a', sub2: 'y' }, country: 'IN', landerId: 'lp1' });
  world.now = at(1, 55);
  await world.landerClick(b.clickId);
  await world.convert(pay(a.clickId, 'T1'));
  const c = await click(18, 20, { campaignId: 'demo', subs: { sub1: 'b' }, country: 'DE', landerId: 'lp2', cost: '1.25' });
  const d = await click(18, 50, { campaignId: 'split', offerId: 'lp', subs: { sub1: 'a' }, country: 'US', channelClickId: 'G1' });
  const bot = await click(19, 5, { campaignId: 'demo', subs: { sub1: 'a' }, country: 'US', bot: true, cost: '9.99' });
  world.now = at(19, 30);
  await world.upkeep();
  world.now = at(20);
  await world.convert(pay(c.clickId, 'T2', '10.10'));
  await world.convert({ clickId: c.clickId, type: 'upsell', sum: '0', txid: 'T2', source: 'postback' });
  await world.convert(pay(d.clickId, 'T3', '100', 'USD'));
  await world.convert({ ...pay(d.clickId, 'T3', '1'), test: true });
  await world.convert(pay(bot.clickId, 'T9', '5'));
  world.now = at(20, 30);
  await world.upkeep();
  // A lander click two hours after its click's hour closed: the change feed marks the hour.
  world.now = at(21);
  await world.landerClick(c.clickId);
  await world.convert({ type: 'payment', sum: '5', currency: 'EUR', txid: 'O1', source: 'postback' }); // organic
  world.now = at(21, 30);
  await world.upkeep();
  const e = await click(25, 30, { campaignId: 'split', subs: {}, landerId: 'lp1' });
  world.now = at(26);
  await world.upkeep();
  // Days later: a refund, a chargeback, a test order; replays that keep their first time.
  world.now = at(60);
  await world.convert({ clickId: a.clickId, type: 'refund', sum: '47.00', currency: 'EUR', txid: 'R1', source: 'postback' });
  await world.convert({ clickId: e.clickId, type: 'lead', sum: '0', txid: 'L1', source: 'postback' });
  await world.upkeep();
  await world.upkeep(); // a second run at once changes nothing
  world.now = at(70);
  await world.convert({ clickId: c.clickId, type: 'chargeback', sum: '10.10', currency: 'EUR', txid: 'C1', source: 'postback' });
  await world.convert(pay(b.clickId, 'T4', '23.50'), at(2)); // replayed: arrived at 02:00, stored now
  await world.convert({ ...pay(a.clickId, 'T5', '2'), test: true });
  await world.convert({ type: 'payment', sum: '7', currency: 'USD', txid: 'O2', source: 'postback' }, at(3)); // organic replay
}, 60_000);

// DST in Europe (this range) and Lord Howe (30 minutes), offsets of 5:30, 5:45 and 9:30/10:30.
const ZONES = ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Adelaide', 'Australia/Lord_Howe'];
const GROUPINGS: { by: GroupKey[]; filter?: ReportFilter }[] = [
  { by: ['campaign'] },
  { by: ['offer'] },
  { by: ['lander'] },
  { by: ['channel'] },
  { by: ['country'] },
  { by: ['campaign', 'day'] },
  { by: ['campaign', 'hour'] },
  { by: ['lander', 'day'] },
  { by: ['country', 'hour'] },
  { by: ['day'] },
  { by: ['hour'] },
  { by: ['sub1'], filter: { campaign: 'demo' } },
  { by: ['sub1', 'day'], filter: { campaign: 'demo' } },
  { by: ['sub2'], filter: { campaign: 'demo', sub1: 'a' } },
  { by: ['sub2', 'day'], filter: { campaign: 'demo', sub1: 'a' } },
  { by: ['sub3'], filter: { campaign: 'demo', sub1: 'a', sub2: 'x' } },
  { by: ['sub3', 'day'], filter: { campaign: 'demo', sub1: 'a', sub2: 'x' } },
  { by: ['campaign', 'sub1'] },
  { by: ['sub2'] },
  { by: ['sub2'], filter: { sub1: null } },
  { by: ['country'], filter: { country: 'DE' } },
];

async function both(q: ReportQuery) {
  const raw = await world.report({ ...q, source: 'raw' });
  const auto = await world.report({ ...q, source: 'auto' });
  return { raw, auto };
}

// Every grouping in UTC and across Berlin's DST switch; in the other zones those with a time key.
const FULL = new Set(['UTC', 'Europe/Berlin']);
const queries = (timeZone: string): ReportQuery[] =>
  GROUPINGS.filter((g) => FULL.has(timeZone) || g.by.includes('day') || g.by.includes('hour') || (g.by.length === 1 && g.by[0] === 'campaign')).flatMap((g, i) =>
    // Tests in and out for every other grouping (each costs two more reports).
    (i % 2 === 0 ? [false, true] : [i % 4 === 1]).map((includeTests) => ({ ...g, timeZone, fromDay: '2026-10-23', toDay: '2026-10-28', includeTests })),
  );

/**
 * The raw recount, independent of the report core's planning: every click and conversion of the
 * range read once (per zone), then grouped in memory by the same row builder.
 */
const recounts = new Map<string, Awaited<ReturnType<typeof loadReportData>>>();
async function recount(q: ReportQuery) {
  const from = startOfDay(q.fromDay, q.timeZone);
  const to = startOfDay(nextDay(q.toDay), q.timeZone);
  const id = `${q.timeZone}|${q.fromDay}|${q.toDay}`;
  let data = recounts.get(id);
  if (!data) {
    data = await loadReportData({ client: world.client, tables: world.tables, campaigns: ['demo', 'split'], from, to, includeUnattributed: true, includeTests: true });
    recounts.set(id, data);
  }
  return buildReport(
    data.clicks,
    data.conversions.filter((c) => q.includeTests || !c.test),
    {
      by: q.by,
      timeZone: q.timeZone,
      costCurrency: 'EUR',
      retired: new Set(),
      ...(q.filter ? { filter: q.filter } : {}),
      completeness: { range: { from, to }, coverage: clickCoverage([], 30, new Date(world.now)) },
    },
  );
}

describe.each(['mid-way', 'caught up'])('rollups equal a raw recount (%s)', (when) => {
  beforeAll(async () => {
    world.now = T0 + 70 * H + 30 * 60_000;
    // Mid-way: the last conversions and a replay are not swept, a lander click's mark is fresh.
    if (when === 'caught up') {
      world.now = T0 + 80 * H;
      await catchUp(world);
    }
  });
  it.each(when === 'caught up' ? ZONES : ['UTC', 'Europe/Berlin', 'Asia/Kathmandu', 'Australia/Lord_Howe'])('for every grouping rollups answer, tests in and out, in %s', async (timeZone) => {
    for (const q of queries(timeZone)) {
      const auto = await world.report({ ...q, source: 'auto' });
      expect({ q, rows: auto.rows }).toEqual({ q, rows: await recount(q) });
    }
  }, 180_000);

  it('and the raw path of the report core equals the recount too', async () => {
    for (const q of queries('Europe/Berlin').filter((_, i) => i % 3 === 0)) {
      const raw = await world.report({ ...q, source: 'raw' });
      expect(raw.stats.source).toBe('raw');
      expect({ q, rows: raw.rows }).toEqual({ q, rows: await recount(q) });
    }
  }, 180_000);
});

describe('rollups', () => {
  it('reads rollups where it can and says what it read raw', async () => {
    world.now = T0 + 80 * H;
    await catchUp(world);
    const utc = await world.report({ by: ['campaign', 'day'], timeZone: 'UTC', fromDay: '2026-10-24', toDay: '2026-10-26', source: 'auto' });
    expect(utc.stats.source).toBe('rollups');
    // A few days in Kolkata: the hours around each local midnight are read raw...
    const kolkataDays = await world.report({ by: ['campaign', 'day'], timeZone: 'Asia/Kolkata', fromDay: '2026-10-24', toDay: '2026-10-26', source: 'auto' });
    expect(kolkataDays.stats).toMatchObject({ source: 'mixed', reason: expect.stringContaining('hours Asia/Kolkata splits') });
    // ...a month of them is read raw as a whole.
    const kolkataMonth = await world.report({ by: ['campaign', 'day'], timeZone: 'Asia/Kolkata', fromDay: '2026-10-01', toDay: '2026-10-30', source: 'auto' });
    expect(kolkataMonth.stats).toMatchObject({ source: 'raw', reason: expect.stringContaining('Asia/Kolkata splits UTC hours') });
    await expect(world.report({ by: ['campaign', 'hour'], timeZone: 'Asia/Kathmandu', fromDay: '2026-10-24', toDay: '2026-10-26', source: 'rollups' })).rejects.toThrow(/Asia\/Kathmandu splits/);
    const kolkata = await world.report({ by: ['campaign'], timeZone: 'Asia/Kolkata', fromDay: '2026-10-24', toDay: '2026-10-26', source: 'auto' });
    expect(kolkata.stats).toMatchObject({ source: 'mixed', reason: expect.stringContaining('partial hours at the ends') });
    const other = await world.report({ by: ['sub4'], timeZone: 'UTC', fromDay: '2026-10-24', toDay: '2026-10-26', source: 'auto' });
    expect(other.stats).toMatchObject({ source: 'raw', reason: expect.stringContaining('sub4 is read raw') });
    await expect(world.report({ by: ['offer', 'country'], timeZone: 'UTC', fromDay: '2026-10-24', toDay: '2026-10-26', source: 'rollups' })).rejects.toThrow(/rollups cannot answer this report: .*offer, country are read raw/);
    // Far fewer items than the raw path for the same rows.
    const raw = await world.report({ by: ['campaign', 'day'], timeZone: 'UTC', fromDay: '2026-10-24', toDay: '2026-10-26', source: 'raw' });
    expect(utc.rows).toEqual(raw.rows);
    expect(utc.stats.queries).toBeLessThan(raw.stats.queries);
  }, 120_000);

  it('bounds raw work: past it a web request is told to narrow the range; rollups answer within it', async () => {
    world.now = T0 + 80 * H;
    await catchUp(world);
    const q: ReportQuery = { by: ['campaign', 'day'], timeZone: 'UTC', fromDay: '2026-10-24', toDay: '2026-10-26' };
    await expect(world.report({ ...q, source: 'raw', limits: { maxRawItems: 3 } })).rejects.toThrow(/^narrow the range: this report would read more than 3 clicks and conversions one by one/);
    await expect(world.report({ ...q, source: 'raw', limits: { deadline: Date.now() - 1 } })).rejects.toThrow(/^narrow the range: the report ran out of time/);
    const bounded = await world.report({ ...q, source: 'auto', limits: { maxRawItems: 3 } });
    expect(bounded.stats.source).toBe('rollups');
    expect(bounded.rows).toEqual((await world.report({ ...q, source: 'raw' })).rows);
  }, 120_000);

  it('keeps the click counts after TTL deleted the clicks (the warning then only for raw groupings)', async () => {
    world.now = T0 + 80 * H;
    await catchUp(world);
    // From the first day rollups cover (earlier hours are read raw, and TTL has deleted their clicks).
    const q: ReportQuery = { by: ['campaign', 'day'], timeZone: 'Europe/Berlin', fromDay: '2026-10-24', toDay: '2026-10-28' };
    const before = await world.report({ ...q, source: 'raw' });
    // 40 days on, past clickRetentionDays (30): TTL has deleted every click; a lander click
    // arrives for one that was not deleted yet (TTL is late) and must not change anything.
    world.now = T0 + 40 * 24 * H;
    for (const id of ids) await world.expire(id);
    await catchUp(world);
    const after = await world.report({ ...q, source: 'auto' });
    expect(after.rows).toEqual(before.rows);
    expect(after.notice).toBeUndefined();
    const raw = await world.report({ ...q, source: 'raw' });
    expect(raw.rows.every((r) => r.partial)).toBe(true);
    expect(raw.notice).toMatch(/Partial click counts/);
  }, 300_000);
});
