/**
 * `npm run report` over time, end to end through the CLI: a campaign retired from the config, a
 * retention lowered from 90 to 30 days, clicks TTL has deleted, and a chargeback months after
 * its sale. The data is made by the real handlers (with their clocks set back), the catalog by
 * the same sync a deploy runs; the CLI reads it as `--local` does, in every output format.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { parseConfig } from '../../config/schema';
import { syncCatalog } from '../../lambda/adapters/catalog';
import { DynamoConversionHistory } from '../../lambda/adapters/conversion-history';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, clickKey, createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import type { DeadLetterSink } from '../../lambda/core/model';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { conversionDeps } from '../../lambda/handlers/runtime';
import { logger } from '../../lambda/logger';
import { startDynalite, type EmbeddedDynamo } from '../../lambda/local/dynalite';
import { ensureTables, localTableNames } from '../../lambda/local/tables';
import { testConfig } from '../support/config';
import { httpEvent } from '../support/events';

const run = promisify(execFile);
const DAY = 86400_000;
const ROOT = join(__dirname, '../..');

let dynamo: EmbeddedDynamo;
let dir: string;
const base = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate(), 12);
const ago = (days: number) => base - days * DAY;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

// Deployed first: two campaigns, 90 days. Deployed 10 days ago: `old` removed, 30 days.
const before = testConfig({ clickRetentionDays: 90 });
const cfg = testConfig();
const current = parseConfig({ ...cfg, defaults: { ...cfg.defaults, clickRetentionDays: 30 }, campaigns: cfg.campaigns.filter((c) => c.id === 'demo') });
const old = 'split';

beforeAll(async () => {
  dynamo = await startDynalite({ port: 0 });
  const client = createDynamoClient(dynamo.endpoint);
  const tables = localTableNames();
  await ensureTables(client, tables);
  await syncConversionTypes(client, tables.conversionTypes, before.conversionTypes);
  await syncCatalog(client, tables.catalog, { campaigns: before.campaigns, clickRetentionDays: 90 }, new Date(ago(200)));
  await syncCatalog(client, tables.catalog, { campaigns: current.campaigns, clickRetentionDays: 30 }, new Date(ago(10)));

  let now = new Date(ago(200));
  const sink: DeadLetterSink = { send: async (m) => ({ status: 'queued', messageId: m.id }) };
  const clicks = new DynamoClickStore(client, tables.clicks);
  const click = async (at: number, campaign: string, query: string) => {
    now = new Date(at);
    const handler = createClickHandler({ config: compileConfig(before), clicks, deadLetters: () => sink, log: logger }, { now: () => now });
    const r = await handler(httpEvent({ path: `/click/${campaign}`, query, pathParameters: { campaignId: campaign } }));
    const location = new URL(String(r.headers?.location));
    return location.searchParams.get('cid') ?? location.searchParams.get('c') ?? '';
  };
  const deps = conversionDeps(
    before,
    {
      clicks,
      conversions: new DynamoConversionStore(client, tables.conversions),
      history: new DynamoConversionHistory(client, tables.conversions),
      types: new DynamoConversionTypes(client, tables.conversionTypes, 0),
    },
    () => sink,
  );
  const postback = async (at: number, query: string) => {
    now = new Date(at);
    const r = await createPostbackHandler(deps, { now: () => now })(httpEvent({ path: '/postback', query }));
    if (r.statusCode !== 200) throw new Error(`postback ${query}: ${r.statusCode} ${r.body}`);
  };

  // 120 days ago: three clicks and three sales; TTL has since deleted two of the clicks, and
  // one of those sales was charged back 116 days after its click.
  const expired = [await click(ago(120), 'demo', 'sub1=a&cost=1.00'), await click(ago(120) + 60_000, 'demo', 'sub1=a&cost=1.00'), await click(ago(120) + 120_000, 'demo', 'sub1=a&cost=1.00')];
  for (const [i, cid] of expired.entries()) await postback(ago(119), `clickid=${cid}&type=payment&sum=30&currency=EUR&txid=E${i}`);
  for (const cid of expired.slice(1)) await client.send(new DeleteItemCommand({ TableName: tables.clicks, Key: clickKey(cid) }));
  await postback(ago(4), `clickid=${expired[2]}&type=chargeback&sum=30&currency=EUR&txid=E2C`);
  // The retired campaign: a click and a 100.00 sale 60 days ago.
  const retired = await click(ago(60), old, 'sub1=r&cost=2.00');
  await postback(ago(59), `clickid=${retired}&type=payment&sum=100&currency=EUR&txid=R1`);
  // 50 days ago under the 90-day retention; its sale came 45 days later, after the 30 days the
  // config says now.
  const recent = await click(ago(50), 'demo', 'sub1=b&cost=0.50');
  await postback(ago(5), `clickid=${recent}&type=payment&sum=40&currency=EUR&txid=B1`);
  client.destroy();

  dir = mkdtempSync(join(tmpdir(), 'cv-report-cli-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(current));
}, 60_000);

afterAll(async () => {
  await dynamo?.close();
});

async function report(...args: string[]) {
  const { DYNAMODB_ENDPOINT: _unused, ...inherited } = process.env;
  const env = { ...inherited, DYNAMODB_PORT: String(dynamo.port), TRACKER_DATA_DIR: dir, TRACKER_CONFIG: join(dir, 'config.json'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  return run(join(ROOT, 'node_modules/.bin/tsx'), ['scripts/report.ts', '--local', '--from', day(ago(125)), '--to', day(base), ...args], { env, cwd: ROOT });
}

describe('npm run report over expired clicks, a lowered retention and a retired campaign', () => {
  it('--json by campaign: the retired campaign keeps its revenue, no ratio from partial clicks', async () => {
    const { stdout, stderr } = await report('--json');
    expect(JSON.parse(stdout)).toEqual([
      // Clicks: the one left of the three, and the one 50 days ago. Revenue: 3 x 30 - 30 + 40.
      { campaignId: 'demo', retired: false, clicks: 2, bots: 0, lpClicks: 0, lpCtr: null, conversions: { chargeback: 1, payment: 4 }, revenue: { EUR: 100 }, cr: null, epc: null, cost: null, profit: null, roi: null, partial: true },
      { campaignId: old, retired: true, clicks: 1, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 1 }, revenue: { EUR: 100 }, cr: null, epc: null, cost: null, profit: null, roi: null, partial: true },
    ]);
    expect(stderr).toMatch(/^\* Partial click counts: clicks made before \d{4}-\d{2}-\d{2} \d{2}:\d{2}\+00:00 \(UTC\) are past their retention/m);
  }, 60_000);

  it('--json by campaign and day: only the days before the oldest retained click are partial', async () => {
    const rows = JSON.parse((await report('--json', '--by', 'campaign,day')).stdout) as Record<string, unknown>[];
    expect(rows.map((r) => [r.campaignId, r.retired, r.day, r.clicks, r.revenue, r.cr, r.partial])).toEqual([
      ['demo', false, day(ago(120)), 1, { EUR: 60 }, null, true],
      ['demo', false, day(ago(50)), 1, { EUR: 40 }, 1, false],
      [old, true, day(ago(60)), 1, { EUR: 100 }, 1, false],
    ]);
    expect(rows[1]).toMatchObject({ epc: { EUR: 40 }, cost: 0.5, profit: 39.5, roi: 79 });
  }, 60_000);

  it('--csv, the table and --html say so too', async () => {
    const csv = (await report('--csv')).stdout.trim().split('\n');
    expect(csv[0]).toBe('campaignId,retired,clicks,bots,lpClicks,lpCtr,conversions_chargeback,conversions_payment,revenue_EUR,cr,epc_EUR,cost,profit,roi,partial');
    expect(csv.slice(1)).toEqual(['demo,false,2,0,0,,1,4,100.00,,,,,,true', `${old},true,1,0,0,,0,1,100.00,,,,,,true`]);

    const table = (await report()).stdout;
    expect(table).toMatch(new RegExp(`^${old} \\(retired\\)\\s+1\\*\\s+payment=1\\s+100\\.00 EUR\\s+n/a\\s+n/a\\s+n/a\\s+n/a\\s+n/a$`, 'm'));
    expect(table).toContain('* Partial click counts:');
    expect(table).not.toMatch(/%/);

    const file = join(dir, 'report.html');
    await report('--html', file);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<p class="notice" id="partial-notice">* Partial click counts:');
    expect(html).toContain(`<td>${old} (retired)</td>`);
    expect(html).toMatch(/<tr class="partial retired">/);
  }, 120_000);
});
