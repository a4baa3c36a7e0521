/**
 * The part cache on `npm start` (adapters/rollup-part-cache): the dashboard's second report
 * reads the rolled-up days from memory, and still equals `npm run report -- --json` (which reads
 * the store) after the server's own upkeep rewrote a day, after another process's run, and while
 * another process holds the upkeep's lease.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clickToItem, createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { reportPorts } from '../../lambda/adapters/report-data';
import { runRollupUpkeep } from '../../lambda/adapters/rollup-runner';
import { DynamoRollupStore } from '../../lambda/adapters/rollup-store';
import { importSpend } from '../../lambda/adapters/spend-store';
import { formatJson } from '../../lambda/core/report';
import { parseReportQuery, reportSettings, runReport } from '../../lambda/core/report-query';
import { mintClickId } from '../../lambda/core/ids';
import { MARK_SETTLE_MS } from '../../lambda/core/rollup-marks';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { funnelConfig } from '../support/config';

const VISITOR_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const config = funnelConfig();
let tracker: LocalTracker;
let client: ReturnType<typeof createDynamoClient>;
let key: string;
let landed: string;
let later: string;
const HOUR = 3600_000;
const day = (offset: number) => new Date(Date.now() + offset * 86400_000).toISOString().slice(0, 10);

interface Answer {
  rows: { campaignId?: string; clicks: number; lpClicks: number; conversions: Record<string, number> }[];
  read: { queries: number; source?: string };
}

async function dashboard(by = 'campaign'): Promise<Answer> {
  const query = new URLSearchParams({ from: day(-3), to: day(0), tz: 'UTC', by });
  const response = await fetch(`${tracker.url}/api/report?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Answer;
}

/** What `npm run report -- --json` prints for the same report (no part cache). */
async function cli(by = 'campaign'): Promise<unknown> {
  const result = await runReport(parseReportQuery({ from: day(-3), to: day(0), tz: 'UTC', by }), reportSettings(config), reportPorts(client, tracker.tables));
  return JSON.parse(formatJson(result.rows));
}

/** A click made `hoursAgo` (written to the table, as a replayed queue message would be). */
async function oldClick(campaignId: string, hoursAgo: number, extra: { landerId?: string } = {}): Promise<string> {
  const at = Date.now() - hoursAgo * HOUR;
  const clickId = mintClickId(campaignId, at);
  const campaign = config.campaigns.find((c) => c.id === campaignId);
  const item = clickToItem({ clickId, campaignId, offerId: 'ds24', channelId: campaign?.trafficChannel ?? 'facebook', subs: {}, ...extra, createdAt: new Date(at).toISOString(), expiresAt: Math.floor(at / 1000) + 30 * 86400 });
  await client.send(new PutItemCommand({ TableName: tracker.tables.clicks, Item: item }));
  return clickId;
}

const hits = () => tracker.partCache.counts.hits;

/** Every mark made a minute older, so the next upkeep run acts on them (MARK_SETTLE_MS). */
async function settleMarks(): Promise<void> {
  const marks = await new DynamoRollupStore(client, tracker.tables.rollups).marks();
  expect(marks.length).toBeGreaterThan(0);
  await new DynamoRollupStore(client, tracker.tables.rollups, () => Date.now() - MARK_SETTLE_MS - 1000).mark(marks.map(({ version: _v, markedAt: _m, ...key }) => key));
}

beforeAll(async () => {
  tracker = await startLocalTracker({ config, dataDir: mkdtempSync(join(tmpdir(), 'cv-part-cache-')), port: 0, dynamoPort: 0, inMemory: true, archiveEveryMs: 0, rollupEveryMs: 0, sweepIntervalMs: 0, openViewEveryMs: 3600_000, silenceEveryMs: 0 });
  client = createDynamoClient(tracker.dynamo.endpoint);
  key = tracker.postbackKey?.key ?? '';
  await oldClick('demo', 30);
  await oldClick('demo', 29);
  await oldClick('split', 5);
  landed = await oldClick('funnel', 27, { landerId: 'bridge' });
  later = await oldClick('funnel', 26, { landerId: 'bridge' });
  // The server's own upkeep (its timer's run), until the hours are closed.
  for (let i = 0; i < 3; i++) await tracker.runRollupUpkeep();
});

afterAll(async () => {
  client?.destroy();
  await tracker?.close();
});

describe('the part cache on the local server', () => {
  it('once rollups exist the server reads them into memory (a report of 32 days): the first page reads none of them', async () => {
    // The warm-up at start found no rollups; the upkeep's first run made them, and the server's
    // report after that run put their days in memory.
    expect(tracker.partCache.size()).toBeGreaterThan(0);
    const before = { hits: hits(), misses: tracker.partCache.counts.misses };
    const first = await dashboard();
    expect(first.read.source).not.toBe('raw');
    expect(hits()).toBeGreaterThan(before.hits);
    expect(tracker.partCache.counts.misses).toBe(before.misses);
    expect(first.rows).toEqual(await cli());
    expect(first.rows.find((r) => r.campaignId === 'demo')?.clicks).toBe(2);
    // With nothing in memory, the same report reads every rolled-up day.
    tracker.partCache.writing();
    const cold = await dashboard();
    expect(cold.read.queries).toBeGreaterThan(first.read.queries);
    expect(cold.rows).toEqual(first.rows);
  });

  it("a day the server's own upkeep rewrites (a lander click and a sale on a rolled-up hour) is read again", async () => {
    const cid = landed;
    expect((await dashboard()).rows.find((r) => r.campaignId === 'funnel')).toMatchObject({ clicks: 2, lpClicks: 0 }); // in memory
    expect((await fetch(`${tracker.url}/go?clickid=${cid}&offer=ds24`, { redirect: 'manual', headers: { 'user-agent': VISITOR_UA } })).status).toBe(302);
    expect((await fetch(`${tracker.url}/postback?clickid=${cid}&type=payment&sum=10.00&currency=EUR&txid=PC1&key=${key}`)).status).toBe(200);
    // Marked: that hour is read raw until the upkeep rolls it up again.
    expect((await dashboard()).rows).toEqual(await cli());
    await settleMarks();
    const flushes = tracker.partCache.counts.flushes;
    await tracker.runRollupUpkeep();
    expect(await new DynamoRollupStore(client, tracker.tables.rollups).marks()).toEqual([]);
    const after = await dashboard();
    // Its own run: only the days it wrote were dropped, nothing forgotten.
    expect(tracker.partCache.counts.flushes).toBe(flushes);
    expect(after.rows).toEqual(await cli());
    expect(after.rows.find((r) => r.campaignId === 'funnel')).toMatchObject({ clicks: 2, lpClicks: 1, conversions: { payment: 1 } });
  });

  it("another process's run makes it forget; while another process holds the lease, nothing is served from memory", async () => {
    await dashboard();
    const flushes = tracker.partCache.counts.flushes;
    expect((await fetch(`${tracker.url}/go?clickid=${later}&offer=ds24`, { redirect: 'manual', headers: { 'user-agent': VISITOR_UA } })).status).toBe(302);
    // `npm run rollups -- --local`: the same upkeep, through a client the server does not watch,
    // rolls the marked hour up again.
    await settleMarks();
    await runRollupUpkeep({ client, tables: tracker.tables, config });
    expect(await new DynamoRollupStore(client, tracker.tables.rollups).marks()).toEqual([]);
    const answer = await dashboard();
    expect(tracker.partCache.counts.flushes).toBeGreaterThan(flushes);
    expect(answer.rows).toEqual(await cli());
    expect(answer.rows.find((r) => r.campaignId === 'funnel')).toMatchObject({ clicks: 2, lpClicks: 2 });

    const other = new DynamoRollupStore(client, tracker.tables.rollups);
    const lease = await other.acquire('another-process', Date.now(), Date.now() + 60_000);
    expect(lease.held).toBe(false);
    try {
      const before = hits();
      // Twice: the first forgets (a run this process did not take), the second must not be
      // answered from what the first read while the other process may be writing.
      expect((await dashboard()).rows).toEqual(await cli());
      expect((await dashboard()).rows).toEqual(await cli());
      expect(hits()).toBe(before);
    } finally {
      await other.release('another-process');
    }
    await dashboard();
    const before = hits();
    expect((await dashboard()).rows).toEqual(await cli());
    expect(hits()).toBeGreaterThan(before);
  });

  it("after another process's run, the server's next run of its own fills the memory again", async () => {
    await runRollupUpkeep({ client, tables: tracker.tables, config });
    await tracker.runRollupUpkeep(); // sees the other run in the state: forgets, then reads the 32 days again
    const misses = tracker.partCache.counts.misses;
    const answer = await dashboard();
    expect(tracker.partCache.counts.misses).toBe(misses);
    expect(answer.rows).toEqual(await cli());
  });

  it('spend another process imports (npm run spend -- --local) shows at once; otherwise it is read from memory', async () => {
    const before = await dashboard();
    const hitsBefore = hits();
    expect((await dashboard()).rows).toEqual(before.rows);
    expect(hits()).toBeGreaterThan(hitsBefore);
    await importSpend(client, tracker.tables.rollups, [{ campaignId: 'demo', day: day(-1), amount: '12.5', currency: 'EUR' }], 'facebook.csv');
    const after = await dashboard();
    expect(after.rows).toEqual(await cli());
    expect(after.rows).not.toEqual(before.rows);
  });
});
