/**
 * The open hours' view on `npm start` (core/open-hours): the dashboard's reports count the hours
 * the upkeep has not closed from it instead of 32 queries a campaign, and still equal what
 * `npm run report -- --json` reads raw — at once for clicks the server itself wrote, within a
 * minute (the next view) for clicks another process wrote.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clickToItem, createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { reportPorts } from '../../lambda/adapters/report-data';
import { runRollupUpkeep } from '../../lambda/adapters/rollup-runner';
import { formatJson } from '../../lambda/core/report';
import { parseReportQuery, reportSettings, runReport } from '../../lambda/core/report-query';
import { mintClickId } from '../../lambda/core/ids';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { testConfig } from '../support/config';

const VISITOR_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const config = testConfig();
let tracker: LocalTracker;
let client: ReturnType<typeof createDynamoClient>;

const day = (offset: number) => new Date(Date.now() + offset * 86400_000).toISOString().slice(0, 10);

interface Answer {
  rows: { campaignId?: string; sub1?: string; clicks: number; bots: number }[];
  read: { queries: number; source?: string; openHoursUntil?: string };
}

async function dashboard(by: string, filter?: Record<string, string>): Promise<Answer> {
  const query = new URLSearchParams({ from: day(-1), to: day(0), tz: 'UTC', by, ...(filter ? { filter: JSON.stringify(filter) } : {}) });
  const response = await fetch(`${tracker.url}/api/report?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Answer;
}

/** What `npm run report -- --json` prints for the same report (it reads the open hours raw). */
async function cli(by: string, filter?: Record<string, string>): Promise<unknown> {
  const result = await runReport(
    parseReportQuery({ from: day(-1), to: day(0), tz: 'UTC', by, ...(filter ? { filter: JSON.stringify(filter) } : {}) }),
    reportSettings(config),
    reportPorts(client, tracker.tables),
  );
  return JSON.parse(formatJson(result.rows));
}

async function clickThrough(campaign: string, query: string): Promise<void> {
  const response = await fetch(`${tracker.url}/click/${campaign}?${query}`, { redirect: 'manual', headers: { 'user-agent': VISITOR_UA } });
  expect(response.status).toBe(302);
}

beforeAll(async () => {
  // The view's timer is left to the test (an hour): it is made at start and by refreshOpenView.
  tracker = await startLocalTracker({ config, dataDir: mkdtempSync(join(tmpdir(), 'cv-open-view-')), port: 0, dynamoPort: 0, inMemory: true, archiveEveryMs: 0, rollupEveryMs: 0, sweepIntervalMs: 0, openViewEveryMs: 3600_000 });
  client = createDynamoClient(tracker.dynamo.endpoint);
  await clickThrough('demo', 'sub1=a&sub2=b');
  await clickThrough('demo', 'sub1=a&sub2=c');
  await clickThrough('split', 'sub1=x');
  // Rollups exist (the current hour stays open: it closes 10 minutes after it ends).
  await runRollupUpkeep({ client, tables: tracker.tables, config });
});

afterAll(async () => {
  client?.destroy();
  await tracker?.close();
});

describe('the open hours view on the local server', () => {
  it('reports read the open hours from it — no click partition queried — and equal the raw report', async () => {
    // Before any view holds these clicks (the one made at start found no rollups yet): read raw.
    const before = await dashboard('campaign');
    expect(before.read.openHoursUntil).toBeUndefined();
    await tracker.refreshOpenView();
    for (const [by, filter] of [['campaign', undefined], ['sub1', { campaign: 'demo' }], ['sub2', { campaign: 'demo', sub1: 'a' }]] as const) {
      const answer = await dashboard(by, filter);
      expect(answer.read.openHoursUntil).toBeDefined();
      expect(answer.rows).toEqual(await cli(by, filter));
      // Raw, the open hours would take 32 queries per campaign.
      expect(answer.read.queries).toBeLessThan(32);
    }
    expect((await dashboard('campaign')).rows.map((r) => [r.campaignId, r.clicks])).toEqual([['demo', 2], ['split', 1]]);
  });

  it("a click the server writes shows at once: its campaign is read raw until the next view", async () => {
    await tracker.refreshOpenView();
    await clickThrough('demo', 'sub1=a&sub2=d');
    const answer = await dashboard('campaign');
    expect(answer.rows).toEqual(await cli('campaign'));
    expect(answer.rows.find((r) => r.campaignId === 'demo')?.clicks).toBe(3);
    await tracker.refreshOpenView();
    const viewed = await dashboard('sub2', { campaign: 'demo', sub1: 'a' });
    expect(viewed.read.queries).toBeLessThan(32);
    expect(viewed.rows).toEqual(await cli('sub2', { campaign: 'demo', sub1: 'a' }));
  });

  it('a click another process wrote shows with the next view (within a minute), never counted twice', async () => {
    await tracker.refreshOpenView();
    const at = Date.now() - 30_000;
    const clickId = mintClickId('split', at);
    await client.send(new PutItemCommand({ TableName: tracker.tables.clicks, Item: clickToItem({ clickId, campaignId: 'split', offerId: 'ds24', channelId: 'google', subs: { sub1: 'x' }, createdAt: new Date(at).toISOString(), expiresAt: Math.floor(at / 1000) + 86400 }) }));
    const stale = await dashboard('campaign');
    expect(stale.rows.find((r) => r.campaignId === 'split')?.clicks).toBe(1);
    expect((await cli('campaign')) as Answer['rows']).toContainEqual(expect.objectContaining({ campaignId: 'split', clicks: 2 }));
    await tracker.refreshOpenView();
    const fresh = await dashboard('campaign');
    expect(fresh.read.openHoursUntil).toBeDefined();
    expect(fresh.rows).toEqual(await cli('campaign'));
    expect(fresh.rows.find((r) => r.campaignId === 'split')?.clicks).toBe(2);
  });
});
