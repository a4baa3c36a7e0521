/**
 * Property: whatever happens to a tracker's data — clicks (bots, landers, costs, subs), lander
 * clicks long after their click, conversions, refunds and chargebacks days later, test orders,
 * organic sales, duplicate deliveries, replays that keep their first time, upkeep runs repeated,
 * cut short by their deadline or not run for hours or run by another process, marks delivered
 * twice, TTL deleting clicks after they were rolled up — the report from rollups equals the raw
 * report, for every grouping and drill-down filter, in every kind of zone (DST switches, 30- and
 * 45-minute offsets); and so does the local dashboard's (the open hours' view, the part cache
 * kept across the whole history), at any moment of it.
 *
 * Each run builds its own world on dynalite through the real stores, recording core, change
 * feed, upkeep and report core (test/support/rollup-world).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { readCatalog } from '../../lambda/adapters/catalog';
import { upkeepReader } from '../../lambda/adapters/report-ports';
import { startDynalite, type EmbeddedDynamo } from '../../lambda/local/dynalite';
import type { ConversionRequest } from '../../lambda/core/conversion';
import type { ClickRecord } from '../../lambda/core/model';
import type { GroupKey, ReportFilter, ReportRow } from '../../lambda/core/report';
import { clickHour } from '../../lambda/core/rollup-marks';
import { runUpkeep, upkeepSettings } from '../../lambda/core/rollup-upkeep';
import { logger } from '../../lambda/logger';
import { testConfig } from '../support/config';
import { catchUp, makeWorld, type ReportQuery, type World } from '../support/rollup-world';

const H = 3600_000;
const MIN = 60_000;
// Europe leaves summer time on 2026-10-25 at 01:00 UTC; Lord Howe keeps its 30-minute DST.
const T0 = Date.UTC(2026, 9, 24, 0, 0, 0);
const SPAN_MIN = 3 * 24 * 60;
// A short click retention keeps the first upkeep run small (it rolls up what is still kept).
const config = testConfig({ clickRetentionDays: 7 });

const ZONES = ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Adelaide', 'Australia/Lord_Howe', 'America/St_Johns'];
const GROUPINGS: GroupKey[][] = [
  ['campaign'], ['offer'], ['lander'], ['channel'], ['country'],
  ['campaign', 'day'], ['campaign', 'hour'], ['offer', 'day'], ['lander', 'hour'], ['channel', 'day'], ['country', 'day'], ['day'], ['hour'],
  ['sub1'], ['sub1', 'day'], ['sub2'], ['sub2', 'day'], ['sub3'], ['sub3', 'day'],
];
const SUB1 = ['a', 'b', undefined] as const;
const SUB2 = ['x', 'y', undefined] as const;

type Event =
  | { k: 'click'; t: number; campaign: number; sub1: number; sub2: number; sub3: boolean; country: number; lander: number; bot: boolean; cost: boolean }
  | { k: 'lander'; t: number; click: number }
  | { k: 'convert'; t: number; click: number; type: number; sum: number; usd: boolean; test: boolean; replayMin: number | null }
  | { k: 'organic'; t: number; sum: number; replayMin: number | null }
  | { k: 'duplicate'; t: number; of: number }
  | { k: 'upkeep'; t: number; twice: boolean; cutAfter: number | null; foreign: boolean }
  | { k: 'remark'; t: number; click: number }
  | { k: 'look'; t: number; grouping: number };

const time = fc.integer({ min: 0, max: SPAN_MIN });
const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('click' as const), t: time, campaign: fc.nat(1), sub1: fc.nat(2), sub2: fc.nat(2), sub3: fc.boolean(), country: fc.nat(2), lander: fc.nat(2), bot: fc.nat(5).map((n) => n === 0), cost: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('lander' as const), t: time, click: fc.nat(40) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('convert' as const), t: time, click: fc.nat(40), type: fc.nat(4), sum: fc.integer({ min: 1, max: 20000 }), usd: fc.boolean(), test: fc.boolean(), replayMin: fc.option(fc.integer({ min: 1, max: 36 * 60 }), { freq: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('organic' as const), t: time, sum: fc.integer({ min: 1, max: 20000 }), replayMin: fc.option(fc.integer({ min: 1, max: 600 }), { freq: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('duplicate' as const), t: time, of: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('upkeep' as const), t: time, twice: fc.boolean(), cutAfter: fc.option(fc.integer({ min: 1, max: 60 }), { freq: 2 }), foreign: fc.nat(3).map((n) => n === 0) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('remark' as const), t: time, click: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('look' as const), t: time, grouping: fc.nat(GROUPINGS.length - 1) }) },
);

const TYPES = ['payment', 'refund', 'chargeback', 'upsell', 'lead'] as const;
const money = (cents: number) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

/**
 * One upkeep run whose deadline comes after `calls` looks at the clock: cut short somewhere in
 * the middle of its work (what a Lambda timeout does), the next run must go on without counting
 * anything twice.
 */
async function cutShortUpkeep(world: World, calls: number): Promise<void> {
  const catalog = await readCatalog(world.client, world.tables.catalog);
  const { defaults, campaigns } = world.config;
  let seen = 0;
  const at = world.now;
  await runUpkeep({
    store: world.rollups,
    reader: upkeepReader(world.client, world.tables),
    settings: upkeepSettings(catalog, { campaigns, clickRetentionDays: defaults.clickRetentionDays, rollupRetentionDays: defaults.rollupRetentionDays }, at),
    now: () => (seen++ < calls ? at : at + 1),
    deadline: at + 1,
    owner: randomUUID(),
    log: logger,
  });
}

/**
 * A look at the dashboard in the middle of the history: a report through the part cache (and the
 * open hours' view) must give the raw rows. The cache persists across the history, so what it
 * kept at one look must have been dropped where the upkeep rewrote it by the next.
 */
async function look(world: World, grouping: number): Promise<void> {
  const q: ReportQuery = { by: GROUPINGS[grouping] as GroupKey[], timeZone: 'UTC', fromDay: '2026-10-23', toDay: '2026-10-27', includeTests: false };
  const cached = await world.report({ ...q, source: 'auto', openView: true, partCache: true });
  const raw = await world.report({ ...q, source: 'raw' });
  expect({ q, at: world.now, cached: true, rows: cached.rows }).toEqual({ q, at: world.now, cached: true, rows: raw.rows });
}

async function play(world: World, events: Event[]): Promise<ClickRecord[]> {
  const clicks: ClickRecord[] = [];
  const sent: { request: ConversionRequest; createdAt?: number }[] = [];
  const before = (t: number) => clicks.filter((c) => Date.parse(c.createdAt) < t);
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    const t = T0 + e.t * MIN;
    world.now = t;
    switch (e.k) {
      case 'click': {
        const sub1 = SUB1[e.sub1];
        const sub2 = SUB2[e.sub2];
        const subs: Record<string, string> = {};
        if (sub1) subs.sub1 = sub1;
        if (sub2) subs.sub2 = sub2;
        if (e.sub3) subs.sub3 = 'p';
        const campaignId = e.campaign === 0 ? 'demo' : 'split';
        clicks.push(
          await world.click({
            campaignId,
            ...(campaignId === 'split' && e.sub1 === 2 ? { offerId: 'lp' } : {}),
            subs,
            ...(e.country < 2 ? { country: e.country === 0 ? 'DE' : 'IN' } : {}),
            ...(e.lander < 2 ? { landerId: `lp${e.lander}` } : {}),
            ...(e.bot ? { bot: true as const } : {}),
            ...(e.cost ? { cost: '0.35' } : {}),
          }),
        );
        break;
      }
      case 'lander': {
        const list = before(t);
        const c = list[e.click % Math.max(1, list.length)];
        if (c) await world.landerClick(c.clickId);
        break;
      }
      case 'convert': {
        const createdAt = e.replayMin === null ? t : t - e.replayMin * MIN;
        const list = before(createdAt);
        const c = list[e.click % Math.max(1, list.length)];
        if (!c) break;
        const request: ConversionRequest = {
          clickId: c.clickId,
          type: TYPES[e.type] as string,
          sum: money(e.sum),
          currency: e.usd ? 'USD' : 'EUR',
          txid: `T${sent.length}`,
          source: 'postback',
          ...(e.test ? { test: true } : {}),
        };
        sent.push({ request, ...(e.replayMin === null ? {} : { createdAt }) });
        await world.convert(request, e.replayMin === null ? undefined : createdAt);
        break;
      }
      case 'organic': {
        const createdAt = e.replayMin === null ? t : t - e.replayMin * MIN;
        const request: ConversionRequest = { type: 'payment', sum: money(e.sum), currency: 'EUR', txid: `O${sent.length}`, source: 'postback' };
        sent.push({ request, ...(e.replayMin === null ? {} : { createdAt }) });
        await world.convert(request, e.replayMin === null ? undefined : createdAt);
        break;
      }
      case 'duplicate': {
        // The same delivery again (a platform's retry): stored once, counted once.
        const s = sent[e.of % Math.max(1, sent.length)];
        if (s) await world.convert(s.request, s.createdAt);
        break;
      }
      case 'upkeep':
        if (e.cutAfter !== null) await cutShortUpkeep(world, e.cutAfter);
        // Another process's run (`npm run rollups -- --local`): writes the cache does not see.
        await world.upkeep({ foreign: e.foreign });
        if (e.twice) await world.upkeep();
        break;
      case 'look':
        await look(world, e.grouping);
        break;
      case 'remark': {
        // A stream record delivered again (at-least-once): the same mark, put again.
        const c = clicks[e.click % Math.max(1, clicks.length)];
        const made = c && clickHour(c.clickId);
        if (made && t >= made.hour + 2 * H) await world.rollups.mark([{ kind: 'clicks', code: made.code, hour: made.hour }]);
        break;
      }
    }
  }
  return clicks;
}

function queries(zone: string, includeTests: boolean, filters: { campaign: number; sub1: number; sub2: number }): ReportQuery[] {
  const campaign = filters.campaign === 0 ? 'demo' : 'split';
  const sub1: string | null = SUB1[filters.sub1] ?? null;
  const sub2: string | null = SUB2[filters.sub2] ?? null;
  return GROUPINGS.map((by) => {
    // The drill-down: sub1 under a campaign, sub2 under a sub1, sub3 under a sub2.
    let filter: ReportFilter | undefined;
    if (by[0] === 'sub1') filter = { campaign };
    if (by[0] === 'sub2') filter = { campaign, sub1 };
    if (by[0] === 'sub3') filter = { campaign, sub1, sub2 };
    return { by, timeZone: zone, fromDay: '2026-10-23', toDay: '2026-10-27', includeTests, ...(filter ? { filter } : {}) };
  });
}

const rowsOf = async (world: World, q: ReportQuery, source: 'raw' | 'auto') => {
  const r = await world.report({ ...q, source });
  return { rows: r.rows, source: r.stats.source, viewed: r.stats.openHoursUntil !== undefined };
};
// `partial` says the raw path's clicks may be gone; rollups have them all.
const withoutPartial = (rows: ReportRow[]) => rows.map(({ partial: _p, ...rest }) => rest);

// The property's thousands of reads go to a store of this file's own, freed with it: the run's
// shared in-memory dynalite lives in jest's main process and keeps growing with every request
// (it reached the default heap limit at the end of a full run).
let store: EmbeddedDynamo;
beforeAll(async () => {
  store = await startDynalite();
});
afterAll(async () => {
  await store?.close();
});

describe('rollups equal the raw report, whatever happened (property)', () => {
  it('for random histories, every grouping and drill-down, in every kind of zone', async () => {
    let rolledUp = 0;
    let viewed = 0;
    let cacheHits = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { minLength: 10, maxLength: 45 }),
        fc.constantFrom(...ZONES),
        fc.boolean(),
        fc.record({ campaign: fc.nat(1), sub1: fc.nat(2), sub2: fc.nat(2) }),
        fc.array(fc.nat(40), { maxLength: 6 }),
        async (events, zone, includeTests, filters, expire) => {
          const world = await makeWorld(config, T0, store.endpoint);
          const clicks = await play(world, events);
          const qs = queries(zone, includeTests, filters);
          // Mid-way: whatever the last runs left (open hours, fresh marks, unswept conversions).
          for (const q of qs) {
            const auto = await rowsOf(world, q, 'auto');
            const r = (await rowsOf(world, q, 'raw')).rows;
            expect({ q, rows: auto.rows }).toEqual({ q, rows: r });
            // The open hours from a view made now (the local server's dashboard): the same rows.
            const withView = await rowsOf(world, { ...q, openView: true, partCache: true }, 'auto');
            if (withView.viewed) viewed++;
            expect({ q, view: true, rows: withView.rows }).toEqual({ q, view: true, rows: r });
          }
          // Caught up, some hours later.
          world.now = T0 + SPAN_MIN * MIN + 6 * H;
          await catchUp(world);
          const raw = new Map<ReportQuery, { rows: ReportRow[]; rollups: boolean }>();
          for (const q of qs) {
            const auto = await rowsOf(world, q, 'auto');
            const r = (await rowsOf(world, q, 'raw')).rows;
            raw.set(q, { rows: r, rollups: auto.source === 'rollups' });
            if (auto.source !== 'raw') rolledUp++;
            expect({ q, rows: auto.rows }).toEqual({ q, rows: r });
            const withView = await rowsOf(world, { ...q, openView: true, partCache: true }, 'auto');
            if (withView.viewed) viewed++;
            expect({ q, view: true, rows: withView.rows }).toEqual({ q, view: true, rows: r });
          }
          // TTL deletes some clicks (their hours are rolled up): nothing is subtracted, and a
          // lander click that finds its click gone changes nothing either.
          for (const i of expire) {
            const c = clicks[i % Math.max(1, clicks.length)];
            if (c) await world.expire(c.clickId);
          }
          for (const i of expire) {
            const c = clicks[i % Math.max(1, clicks.length)];
            if (c) await world.landerClick(c.clickId);
          }
          cacheHits += world.partCache.counts.hits;
          world.now += 3 * H;
          await catchUp(world);
          // (Only reports answered wholly from rollups: hours a zone splits are read raw, and
          // their deleted clicks are gone from them, as the raw path says.)
          for (const q of qs) {
            const before = raw.get(q);
            if (!before?.rollups) continue;
            const auto = await rowsOf(world, q, 'auto');
            expect({ q, rows: withoutPartial(auto.rows) }).toEqual({ q, rows: withoutPartial(before.rows) });
          }
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 5), seed: Number(process.env.FC_SEED ?? Date.UTC(2026, 10, 26)), endOnFailure: true },
    );
    // The property must have exercised the rollup path and the view, not only raw fallbacks.
    expect(rolledUp).toBeGreaterThan(0);
    expect(viewed).toBeGreaterThan(0);
    expect(cacheHits).toBeGreaterThan(0);
  }, 900_000);
});
