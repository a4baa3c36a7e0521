import { loadReportData } from '../../lambda/adapters/report-data';
import { buildReport, formatCsv, formatJson, formatTable, startOfDay, zonedParts, type GroupKey, type ReportRow } from '../../lambda/core/report';
import { buildDataset, type Dataset } from './dataset';
import { DynamoClickStore, DynamoConversionStore } from '../../lambda/adapters/dynamodb-store';
import { mintClickId } from '../../lambda/core/ids';
import { freshTables } from '../support/dynamo';

let data: Dataset;
beforeAll(async () => {
  data = await buildDataset();
});

async function report(by: GroupKey[], timeZone = 'UTC', from = '2026-11-24', to = '2026-11-26', campaigns = ['demo', 'split']) {
  const loaded = await loadReportData({
    client: data.client,
    tables: data.tables,
    campaigns,
    from: startOfDay(from, timeZone),
    to: startOfDay(to, timeZone),
    includeUnattributed: true,
  });
  return { rows: buildReport(loaded.clicks, loaded.conversions, { by, timeZone, costCurrency: 'EUR' }), stats: loaded.stats };
}

/** What --json prints, parsed. */
const json = (rows: ReportRow[]) => JSON.parse(formatJson(rows)) as Record<string, unknown>[];

describe('report over a known data set', () => {
  it('by campaign: clicks, counted conversions per type, net revenue, CR, EPC, cost, profit, ROI', async () => {
    const { rows } = await report(['campaign']);
    expect(json(rows)).toEqual([
      {
        campaignId: 'demo',
        retired: false,
        clicks: 3,
        bots: 0,
        lpClicks: 0,
        lpCtr: null,
        conversions: { chargeback: 1, payment: 3, refund: 1, upsell: 1 },
        revenue: { EUR: 30 },
        cr: 1,
        epc: { EUR: 10 },
        cost: 1,
        costSource: 'clickUrl',
        profit: 29,
        roi: 29,
        partial: false,
      },
      { campaignId: 'split', retired: false, clicks: 1, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 1 }, revenue: { USD: 100 }, cr: 1, epc: { USD: 100 }, partial: false },
      { campaignId: null, retired: false, clicks: 0, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 1 }, revenue: { EUR: 5 }, cr: 0, epc: { EUR: 0 }, partial: false },
    ]);
    // Money is exact text: two decimals for revenue and cost, four for EPC.
    expect(formatJson(rows)).toContain('"revenue": {\n      "EUR": 30.00\n    }');
    expect(formatJson(rows)).toContain('"EUR": 10.0000');
  });

  it('by day in UTC and in Europe/Berlin: the click at 23:30 UTC moves to the next day', async () => {
    const utc = json((await report(['day'])).rows);
    expect(utc).toEqual([
      { day: '2026-11-24', clicks: 2, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 2, refund: 1 }, revenue: { EUR: 30 }, cr: 1, epc: { EUR: 15 }, cost: 1, costSource: 'clickUrl', profit: 29, roi: 29, partial: false },
      { day: '2026-11-25', clicks: 2, bots: 0, lpClicks: 0, lpCtr: null, conversions: { chargeback: 1, payment: 3, upsell: 1 }, revenue: { EUR: 5, USD: 100 }, cr: 1, epc: { EUR: 2.5, USD: 50 }, partial: false },
    ]);
    const berlin = json((await report(['day'], 'Europe/Berlin')).rows);
    expect(berlin).toEqual([
      { day: '2026-11-24', clicks: 1, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 1, refund: 1 }, revenue: { EUR: 0 }, cr: 1, epc: { EUR: 0 }, cost: 0.5, costSource: 'clickUrl', profit: -0.5, roi: -1, partial: false },
      { day: '2026-11-25', clicks: 3, bots: 0, lpClicks: 0, lpCtr: null, conversions: { chargeback: 1, payment: 4, upsell: 1 }, revenue: { EUR: 35, USD: 100 }, cr: 1, epc: { EUR: 11.6667, USD: 33.3333 }, cost: 0.5, costSource: 'clickUrl', profit: 34.5, roi: 69, partial: false },
    ]);
  });

  it('by sub1, country and channel click-id presence', async () => {
    const bySub = (await report(['sub1'], 'UTC', '2026-11-24', '2026-11-26', ['demo'])).rows.map((r) => [r.keys.sub1, r.clicks, r.revenue]);
    expect(bySub).toEqual([
      ['a', 2, { EUR: '0.00' }],
      ['b', 1, { EUR: '30.00' }],
      [null, 0, { EUR: '5.00' }],
    ]);
    const byCountry = (await report(['campaign', 'country'])).rows.map((r) => [r.keys.campaignId, r.keys.country, r.clicks]);
    expect(byCountry).toEqual([
      ['demo', 'AT', 1],
      ['demo', 'DE', 2],
      ['split', 'US', 1],
      [null, null, 0],
    ]);
    const byClickId = (await report(['clickid'])).rows.map((r) => [r.keys.hasChannelClickId, r.clicks]);
    expect(byClickId).toEqual([
      [false, 2],
      [true, 2],
      [null, 0],
    ]);
  });

  it('narrows by date without reading other days, and reports what it read', async () => {
    const { rows, stats } = await report(['campaign'], 'UTC', '2026-11-25', '2026-11-26');
    expect(rows.map((r) => [r.keys.campaignId, r.clicks])).toEqual([
      ['demo', 1],
      ['split', 1],
      [null, 0],
    ]);
    // Two campaigns x (32 click partitions + 1 conversions index range) + the organic
    // partition: 67 key-range queries, no scan.
    expect(stats.queries).toBe(67);
    expect(stats.capacityUnits).toBeGreaterThan(0);
  });

  it('prints the same numbers as a table and as CSV', async () => {
    const { rows } = await report(['campaign']);
    expect(formatTable(rows, ['campaign']).split('\n')).toEqual([
      'campaign        clicks  conversions                               revenue          cr  epc           cost  profit      roi',
      '--------------  ------  ----------------------------------------  ----------  -------  ------------  ----  ------  -------',
      'demo                 3  chargeback=1 payment=3 refund=1 upsell=1  30.00 EUR   100.00%  10.0000 EUR   1.00   29.00  2900.0%',
      'split                1  payment=1                                 100.00 USD  100.00%  100.0000 USD     -       -        -',
      '(unattributed)       0  payment=1                                 5.00 EUR      0.00%  0.0000 EUR       -       -        -',
    ]);
    expect(formatCsv(rows, ['campaign']).split('\n')).toEqual([
      'campaignId,retired,clicks,bots,lpClicks,lpCtr,conversions_chargeback,conversions_payment,conversions_refund,conversions_upsell,revenue_EUR,revenue_USD,cr,epc_EUR,epc_USD,cost,profit,roi,partial',
      'demo,false,3,0,0,,1,3,1,1,30.00,0.00,1,10.0000,0.0000,1.00,29.00,29,false',
      'split,false,1,0,0,,0,1,0,0,0.00,100.00,1,0.0000,100.0000,,,,false',
      ',false,0,0,0,,0,1,0,0,5.00,0.00,0,0.0000,0.0000,,,,false',
    ]);
  });
});

describe('time zones', () => {
  it('finds local midnight across DST changes', () => {
    expect(startOfDay('2026-11-25', 'Europe/Berlin').toISOString()).toBe('2026-11-24T23:00:00.000Z');
    expect(startOfDay('2026-07-01', 'Europe/Berlin').toISOString()).toBe('2026-06-30T22:00:00.000Z');
    expect(startOfDay('2026-03-29', 'Europe/Berlin').toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(startOfDay('2026-11-25', 'America/New_York').toISOString()).toBe('2026-11-25T05:00:00.000Z');
    expect(zonedParts('2026-11-24T23:30:00.000Z', 'Europe/Berlin')).toEqual({ day: '2026-11-25', hour: '2026-11-25T00:00+01:00' });
  });
});

describe('reading back what was stored', () => {
  it('reads revenue as decimal text, never through a float', async () => {
    const { client, tables } = await freshTables();
    const clickId = mintClickId('demo', Date.parse('2026-11-25T10:00:00.000Z'));
    await new DynamoClickStore(client, tables.clicks).putClick({ clickId, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1900000000, subs: {} });
    const conversions = new DynamoConversionStore(client, tables.conversions);
    const base = { clickId, type: 'payment', currency: 'EUR', counted: true, source: 'postback' as const, attributed: true, campaignId: 'demo', clickCreatedAt: '2026-11-25T10:00:00.000Z' };
    await conversions.putConversion({ ...base, conversionKey: 'payment|BIG', txid: 'BIG', revenue: '90071992547409.93', createdAt: '2026-11-25T11:00:00.000Z' });
    await conversions.putConversion({ ...base, conversionKey: 'payment|SMALL', txid: 'SMALL', revenue: '0.000001', createdAt: '2026-11-25T11:00:01.000Z' });
    const loaded = await loadReportData({ client, tables, campaigns: ['demo'], from: startOfDay('2026-11-25', 'UTC'), to: startOfDay('2026-11-26', 'UTC'), includeUnattributed: false });
    expect(loaded.conversions.map((c) => c.revenue).sort()).toEqual(['0.000001', '90071992547409.93']);
    const rows = buildReport(loaded.clicks, loaded.conversions, { by: ['campaign'], timeZone: 'UTC', costCurrency: 'EUR' });
    expect(formatJson(rows)).toContain('"EUR": 90071992547409.93\n');
    expect(formatJson(rows)).toContain('"EUR": 90071992547409.9300\n'); // EPC of the one click
  });

  it('finds a conversion that arrived after the current retention, whatever the retention is now', async () => {
    // A click made under a 90-day retention, its sale 60 days later; the config now says 30.
    const { client, tables } = await freshTables();
    const at = '2026-06-01T10:00:00.000Z';
    const clickId = mintClickId('demo', Date.parse(at));
    await new DynamoClickStore(client, tables.clicks).putClick({ clickId, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: at, expiresAt: Date.parse(at) / 1000 + 90 * 86400, subs: {} });
    await new DynamoConversionStore(client, tables.conversions).putConversion({
      clickId, conversionKey: 'payment|LATE', txid: 'LATE', type: 'payment', revenue: '47', currency: 'EUR', counted: true, source: 'postback', attributed: true,
      campaignId: 'demo', clickCreatedAt: at, createdAt: '2026-07-31T10:00:00.000Z',
    });
    const loaded = await loadReportData({ client, tables, campaigns: ['demo'], from: startOfDay('2026-06-01', 'UTC'), to: startOfDay('2026-06-02', 'UTC'), includeUnattributed: false });
    expect(loaded.conversions.map((c) => [c.clickId, c.revenue])).toEqual([[clickId, '47']]);
  });
});
