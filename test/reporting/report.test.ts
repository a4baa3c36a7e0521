import { loadReportData } from '../../scripts/report-data';
import { buildReport, formatCsv, formatTable, rowToJson, startOfDay, zonedParts, type GroupKey } from '../../lambda/core/report';
import { buildDataset, type Dataset } from './dataset';

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
    retentionDays: 30,
    includeUnattributed: true,
  });
  return { rows: buildReport(loaded.clicks, loaded.conversions, { by, timeZone, costCurrency: 'EUR' }), stats: loaded.stats };
}

describe('report over a known data set', () => {
  it('by campaign: clicks, counted conversions per type, net revenue, CR, EPC, cost, profit, ROI', async () => {
    const { rows } = await report(['campaign']);
    expect(rows.map(rowToJson)).toEqual([
      {
        campaignId: 'demo',
        clicks: 3,
        conversions: { chargeback: 1, payment: 3, refund: 1, upsell: 1 },
        revenue: { EUR: 30 },
        cr: 1,
        epc: { EUR: 10 },
        cost: 1,
        costSource: 'clickUrl',
        profit: 29,
        roi: 29,
      },
      { campaignId: 'split', clicks: 1, conversions: { payment: 1 }, revenue: { USD: 100 }, cr: 1, epc: { USD: 100 } },
      { campaignId: null, clicks: 0, conversions: { payment: 1 }, revenue: { EUR: 5 }, cr: 0, epc: { EUR: 0 } },
    ]);
  });

  it('by day in UTC and in Europe/Berlin: the click at 23:30 UTC moves to the next day', async () => {
    const utc = (await report(['day'])).rows.map(rowToJson);
    expect(utc).toEqual([
      { day: '2026-11-24', clicks: 2, conversions: { payment: 2, refund: 1 }, revenue: { EUR: 30 }, cr: 1, epc: { EUR: 15 }, cost: 1, costSource: 'clickUrl', profit: 29, roi: 29 },
      { day: '2026-11-25', clicks: 2, conversions: { chargeback: 1, payment: 3, upsell: 1 }, revenue: { EUR: 5, USD: 100 }, cr: 1, epc: { EUR: 2.5, USD: 50 } },
    ]);
    const berlin = (await report(['day'], 'Europe/Berlin')).rows.map(rowToJson);
    expect(berlin).toEqual([
      { day: '2026-11-24', clicks: 1, conversions: { payment: 1, refund: 1 }, revenue: { EUR: 0 }, cr: 1, epc: { EUR: 0 }, cost: 0.5, costSource: 'clickUrl', profit: -0.5, roi: -1 },
      { day: '2026-11-25', clicks: 3, conversions: { chargeback: 1, payment: 4, upsell: 1 }, revenue: { EUR: 35, USD: 100 }, cr: 1, epc: { EUR: 11.6667, USD: 33.3333 }, cost: 0.5, costSource: 'clickUrl', profit: 34.5, roi: 69 },
    ]);
  });

  it('by sub1, country and channel click-id presence', async () => {
    const bySub = (await report(['sub1'], 'UTC', '2026-11-24', '2026-11-26', ['demo'])).rows.map((r) => [r.keys.sub1, r.clicks, r.revenue]);
    expect(bySub).toEqual([
      ['a', 2, { EUR: 0 }],
      ['b', 1, { EUR: 30 }],
      [null, 0, { EUR: 5 }],
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
      'campaignId,clicks,conversions_chargeback,conversions_payment,conversions_refund,conversions_upsell,revenue_EUR,revenue_USD,cr,epc_EUR,epc_USD,cost,profit,roi',
      'demo,3,1,3,1,1,30.00,0.00,1,10,0,1.00,29.00,29',
      'split,1,0,1,0,0,0.00,100.00,1,0,100,,,',
      ',0,0,1,0,0,5.00,0.00,0,0,0,,,',
    ]);
  });
});

describe('time zones', () => {
  it('finds local midnight across DST changes', () => {
    expect(startOfDay('2026-11-25', 'Europe/Berlin').toISOString()).toBe('2026-11-24T23:00:00.000Z');
    expect(startOfDay('2026-07-01', 'Europe/Berlin').toISOString()).toBe('2026-06-30T22:00:00.000Z');
    expect(startOfDay('2026-03-29', 'Europe/Berlin').toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(startOfDay('2026-11-25', 'America/New_York').toISOString()).toBe('2026-11-25T05:00:00.000Z');
    expect(zonedParts('2026-11-24T23:30:00.000Z', 'Europe/Berlin')).toEqual({ day: '2026-11-25', hour: '2026-11-25 00:00' });
  });
});
