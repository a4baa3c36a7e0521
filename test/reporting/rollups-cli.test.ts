/**
 * The CLIs end to end on a local data directory: `npm run rollups` brings rollups up to date and
 * says what it did; `npm run report` reads them (--stats says so) and equals --source raw;
 * --source rollups refuses what rollups cannot answer; --filter drills down; `npm run spend`
 * imports (twice, without adding up), lists, refuses a bad file whole, and shows as cost.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { syncCatalog } from '../../lambda/adapters/catalog';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { recordConversion } from '../../lambda/core/conversion';
import { mintClickId } from '../../lambda/core/ids';
import { startDynalite, type EmbeddedDynamo } from '../../lambda/local/dynalite';
import { ensureTables, localTableNames } from '../../lambda/local/tables';
import { testConfig } from '../support/config';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
const H = 3600_000;
const config = testConfig();
let dynamo: EmbeddedDynamo;
let dir: string;
// Whole hours some days back, so every hour is closed by now.
const base = Math.floor(Date.now() / H) * H - 3 * 24 * H;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

beforeAll(async () => {
  dynamo = await startDynalite({ port: 0 });
  const client = createDynamoClient(dynamo.endpoint);
  const tables = localTableNames();
  await ensureTables(client, tables);
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  await syncCatalog(client, tables.catalog, { campaigns: config.campaigns, clickRetentionDays: 30, rollupRetentionDays: 1095 }, new Date(base - 24 * H));
  const clicks = new DynamoClickStore(client, tables.clicks);
  const deps = { clicks, conversions: new DynamoConversionStore(client, tables.conversions), types: new DynamoConversionTypes(client, tables.conversionTypes, 0), defaultCurrency: 'EUR' };
  const click = async (at: number, campaignId: string, subs: Record<string, string>, country: string) => {
    const c = { clickId: mintClickId(campaignId, at), campaignId, offerId: 'ds24', channelId: campaignId === 'demo' ? 'facebook' : 'google', createdAt: new Date(at).toISOString(), expiresAt: Math.floor(at / 1000) + 30 * 86400, subs, country };
    await clicks.putClick(c);
    return c.clickId;
  };
  const a = await click(base + 10 * 60_000, 'demo', { sub1: 'a', sub2: 'x' }, 'DE');
  const b = await click(base + 20 * 60_000, 'demo', { sub1: 'a', sub2: 'y' }, 'AT');
  await click(base + 5 * H, 'demo', { sub1: 'b' }, 'DE');
  const d = await click(base + 26 * H, 'split', { sub1: 'a' }, 'US');
  const sale = (clickId: string, txid: string, sum: string, at: number) => recordConversion({ clickId, type: 'payment', sum, currency: 'EUR', txid, source: 'postback' }, new Date(at), deps, async () => ({ kept: true }));
  await sale(a, 'T1', '47.00', base + H);
  await sale(b, 'T2', '30.00', base + 30 * H);
  await sale(d, 'T3', '10.00', base + 27 * H);
  client.destroy();
  dir = mkdtempSync(join(tmpdir(), 'cv-rollups-cli-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
}, 60_000);

afterAll(async () => {
  await dynamo?.close();
});

async function cli(script: string, ...args: string[]) {
  const { DYNAMODB_ENDPOINT: _unused, ...inherited } = process.env;
  const env = { ...inherited, DYNAMODB_PORT: String(dynamo.port), TRACKER_DATA_DIR: dir, TRACKER_CONFIG: join(dir, 'config.json'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  try {
    const { stdout, stderr } = await run(join(ROOT, 'node_modules/.bin/tsx'), [`scripts/${script}.ts`, ...args], { env, cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const range = ['--local', '--from', day(base - 24 * H), '--to', day(Date.now())];
const stats = (stderr: string) => JSON.parse(stderr.trim().split('\n').find((l) => l.startsWith('{"source"')) ?? 'null') as Record<string, unknown>;

describe('npm run rollups and npm run report', () => {
  it('reports raw before the upkeep ever ran, and says why', async () => {
    const r = await cli('report', ...range, '--json', '--stats');
    expect(stats(r.stderr)).toMatchObject({ source: 'raw', reason: 'the rollup upkeep has not run yet' });
  }, 60_000);

  it('brings rollups up to date and prints what it did; a second run finds nothing due', async () => {
    const first = await cli('rollups', '--local');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^run 1: started: rollups cover the hours from .*closed \d+ hour\(s\) up to .*took in 3 conversion\(s\)/m);
    expect(first.stdout).toMatch(/Rollups cover the hours from .*; closed until .*; conversions taken in up to /);
    const second = await cli('rollups', '--local');
    expect(second.stdout).toMatch(/^run 1: nothing was due$/m);
  }, 120_000);

  it('then reads rollups (--stats says so), with the same rows as --source raw', async () => {
    for (const by of ['campaign', 'campaign,day', 'country,hour']) {
      const auto = await cli('report', ...range, '--json', '--stats', '--by', by);
      const raw = await cli('report', ...range, '--json', '--stats', '--by', by, '--source', 'raw');
      expect(JSON.parse(auto.stdout)).toEqual(JSON.parse(raw.stdout));
      expect(stats(auto.stderr)).toEqual({ source: 'rollups', items: expect.any(Number), queries: expect.any(Number), readUnits: expect.any(Number), ms: expect.any(Number) });
      expect(stats(raw.stderr)).toMatchObject({ source: 'raw', reason: 'asked for the raw path (--source raw)' });
    }
    // A range of closed hours only (today's open hours are read raw, 32 partitions a campaign):
    // a handful of queries instead of every click partition.
    const closed = ['--local', '--from', day(base - 24 * H), '--to', day(base + 40 * H), '--json', '--stats'];
    const auto = await cli('report', ...closed);
    const raw = await cli('report', ...closed, '--source', 'raw');
    expect(JSON.parse(auto.stdout)).toEqual(JSON.parse(raw.stdout));
    expect(stats(auto.stderr).source).toBe('rollups');
    expect(Number(stats(auto.stderr).queries)).toBeLessThan(Number(stats(raw.stderr).queries) / 4);
  }, 180_000);

  it('drills down with --filter on rollups: under one campaign by sub1, under one sub1 by sub2', async () => {
    const sub1 = await cli('report', ...range, '--json', '--stats', '--by', 'sub1', '--filter', 'campaign=demo');
    expect(JSON.parse(sub1.stdout).map((r: Record<string, unknown>) => [r.sub1, r.clicks, r.revenue])).toEqual([
      ['a', 2, { EUR: 77 }],
      ['b', 1, {}],
    ]);
    expect(stats(sub1.stderr).source).toBe('rollups');
    const sub2 = await cli('report', ...range, '--json', '--by', 'sub2', '--filter', 'campaign=demo,sub1=a', '--source', 'rollups');
    expect(JSON.parse(sub2.stdout).map((r: Record<string, unknown>) => [r.sub2, r.clicks, r.revenue])).toEqual([
      ['x', 1, { EUR: 47 }],
      ['y', 1, { EUR: 30 }],
    ]);
  }, 120_000);

  it('--source rollups refuses what rollups cannot answer; bad options are named', async () => {
    const refused = await cli('report', ...range, '--by', 'offer,country', '--source', 'rollups');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^report: rollups cannot answer this report: .*offer, country are read raw/m);
    const auto = await cli('report', ...range, '--json', '--stats', '--by', 'offer,country');
    expect(stats(auto.stderr)).toMatchObject({ source: 'raw', reason: expect.stringContaining('offer, country are read raw') });
    expect((await cli('report', ...range, '--filter', 'colour=red')).stderr).toMatch(/--filter: "colour" cannot be filtered on; use campaign, offer, lander/);
    expect((await cli('report', ...range, '--source', 'cache')).stderr).toMatch(/--source: "cache" is not one of auto, raw, rollups/);
  }, 120_000);
});

describe('npm run spend', () => {
  const csv = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('imports spend (a second import of the same rows replaces, never adds) and reports it as cost', async () => {
    const file = csv('spend.csv', `campaign,day,sub1,amount,currency\ndemo,${day(base)},a,7.50,EUR\ndemo,${day(base)},b,2.50,EUR\n`);
    for (let i = 0; i < 2; i++) {
      const imported = await cli('spend', 'import', file, '--local');
      expect(imported.stdout).toBe('Imported 2 row(s) for 1 campaign-day(s), 10.00 EUR in all.\n');
    }
    const list = await cli('spend', 'list', '--local', '--json');
    expect(JSON.parse(list.stdout)).toEqual([
      { campaignId: 'demo', day: day(base), sub1: 'a', amount: '7.5', currency: 'EUR' },
      { campaignId: 'demo', day: day(base), sub1: 'b', amount: '2.5', currency: 'EUR' },
    ]);
    const report = JSON.parse((await cli('report', ...range, '--json', '--by', 'sub1', '--filter', 'campaign=demo')).stdout) as Record<string, unknown>[];
    expect(report.map((r) => [r.sub1, r.cost, r.profit, r.roi])).toEqual([
      ['a', 7.5, 69.5, 9.2667],
      ['b', 2.5, -2.5, -1],
    ]);
    // A corrected file for that day: the row it no longer has is removed.
    const corrected = await cli('spend', 'import', csv('fixed.csv', `campaign,day,sub1,amount,currency\ndemo,${day(base)},a,8,EUR\n`), '--local');
    expect(corrected.stdout).toMatch(/Imported 1 row\(s\) for 1 campaign-day\(s\), 8.00 EUR in all; removed 1 row\(s\) of those days that the file no longer has\./);
    const byCampaign = JSON.parse((await cli('report', ...range, '--json')).stdout) as Record<string, unknown>[];
    expect(byCampaign.find((r) => r.campaignId === 'demo')).toMatchObject({ cost: 8, profit: 69 });
  }, 180_000);

  it('refuses a bad file whole, naming each line and column, and writes nothing', async () => {
    const bad = await cli('spend', 'import', csv('bad.csv', `campaign,day,amount,currency\nsplit,${day(base)},4,EUR\nghost,${day(base)},1,EUR\n`), '--local');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('spend: the spend file was not imported (nothing was written):\n  - line 3, column campaign: "ghost" is not a campaign of this tracker\n');
    const list = JSON.parse((await cli('spend', 'list', '--local', '--json', '--campaign', 'split')).stdout) as unknown[];
    expect(list).toEqual([]);
  }, 60_000);
});
