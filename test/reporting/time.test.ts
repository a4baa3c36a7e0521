/**
 * Reports across time: days that start at a skipped midnight, the repeated hour of a DST
 * fall-back, clicks that expired (partial counts, no ratio from them) and retired campaigns.
 * Pure core: the rows are built from plain clicks and conversions.
 */
import {
  buildReport,
  clickCoverage,
  expiredSpans,
  formatCsv,
  formatJson,
  formatTable,
  isPartial,
  partialNotice,
  reportCampaigns,
  startOfDay,
  zonedParts,
  type ReportClick,
  type ReportConversion,
  type ReportOptions,
} from '../../lambda/core/report';

const DAY = 86400_000;

describe('days whose midnight does not exist', () => {
  it.each([
    // Chile springs forward at 24:00: 2026-09-06 00:00 is never shown, the day starts at 01:00 (-03).
    ['America/Santiago', '2026-09-06', '2026-09-06T04:00:00.000Z'],
    // Cuba springs forward at 00:00 to 01:00 (-04).
    ['America/Havana', '2026-03-08', '2026-03-08T05:00:00.000Z'],
    // Chile falls back at 24:00 to 23:00: the 5th starts when the repeated hour is over.
    ['America/Santiago', '2026-04-05', '2026-04-05T04:00:00.000Z'],
    ['Europe/Berlin', '2026-03-29', '2026-03-28T23:00:00.000Z'],
    ['Europe/Berlin', '2026-10-25', '2026-10-24T22:00:00.000Z'],
    ['Asia/Kolkata', '2026-01-01', '2025-12-31T18:30:00.000Z'],
    ['Pacific/Kiritimati', '2026-01-01', '2025-12-31T10:00:00.000Z'],
    ['Pacific/Pago_Pago', '2026-01-01', '2026-01-01T11:00:00.000Z'],
  ])('%s %s starts at %s', (zone, date, instant) => {
    expect(startOfDay(date, zone).toISOString()).toBe(instant);
  });

  it('starts every day of 2026 at the first instant of that local date, in zones with midnight switches', () => {
    for (const zone of ['America/Santiago', 'America/Havana', 'America/Asuncion', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe']) {
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += DAY) {
        const date = new Date(t).toISOString().slice(0, 10);
        const start = startOfDay(date, zone).getTime();
        expect([zone, zonedParts(start, zone).day]).toEqual([zone, date]);
        expect([zone, zonedParts(start - 1, zone).day < date]).toEqual([zone, true]);
      }
    }
  });
});

const click = (createdAt: string, extra: Partial<ReportClick> = {}): ReportClick => ({ clickId: `C${createdAt}`, campaignId: 'demo', createdAt, ...extra });
const sale = (clickCreatedAt: string, revenue: string, extra: Partial<ReportConversion> = {}): ReportConversion => ({
  clickId: `C${clickCreatedAt}`,
  campaignId: 'demo',
  type: 'payment',
  counted: true,
  revenue,
  currency: 'EUR',
  createdAt: clickCreatedAt,
  clickCreatedAt,
  ...extra,
});
const json = (rows: ReturnType<typeof buildReport>) => JSON.parse(formatJson(rows)) as Record<string, unknown>[];

describe('hours labelled with their offset', () => {
  // Berlin falls back at 03:00 CEST to 02:00 CET on 2026-10-25: 02:00-03:00 happens twice.
  const clicks = [click('2026-10-25T00:30:00.000Z'), click('2026-10-25T01:30:00.000Z'), click('2026-10-25T01:45:00.000Z'), click('2026-10-25T02:10:00.000Z')];
  const options: ReportOptions = { by: ['hour'], timeZone: 'Europe/Berlin', costCurrency: 'EUR' };

  it('keeps the repeated fall-back hour as two rows, in the order they happened', () => {
    const rows = buildReport(clicks, [sale('2026-10-25T01:30:00.000Z', '10')], options);
    expect(rows.map((r) => [r.keys.hour, r.clicks, r.revenue])).toEqual([
      ['2026-10-25T02:00+02:00', 1, {}],
      ['2026-10-25T02:00+01:00', 2, { EUR: '10.00' }],
      ['2026-10-25T03:00+01:00', 1, {}],
    ]);
    // The label reads back as the instant its hour starts.
    expect(rows.map((r) => new Date(String(r.keys.hour)).toISOString())).toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z']);
  });

  it('uses the same label in JSON, CSV and the table', () => {
    const rows = buildReport(clicks, [], options);
    expect(json(rows).map((r) => r.hour)).toEqual(['2026-10-25T02:00+02:00', '2026-10-25T02:00+01:00', '2026-10-25T03:00+01:00']);
    expect(formatCsv(rows, ['hour']).split('\n').slice(1).map((l) => l.split(',')[0])).toEqual(['2026-10-25T02:00+02:00', '2026-10-25T02:00+01:00', '2026-10-25T03:00+01:00']);
    expect(formatTable(rows, ['hour']).split('\n').slice(2).map((l) => l.split(' ')[0])).toEqual(['2026-10-25T02:00+02:00', '2026-10-25T02:00+01:00', '2026-10-25T03:00+01:00']);
  });

  it('labels UTC and half-hour zones too', () => {
    expect(zonedParts('2026-11-25T10:20:00.000Z', 'UTC').hour).toBe('2026-11-25T10:00+00:00');
    expect(zonedParts('2026-11-25T10:20:00.000Z', 'Asia/Kolkata').hour).toBe('2026-11-25T15:00+05:30');
    expect(zonedParts('2026-09-06T04:30:00.000Z', 'America/Santiago').hour).toBe('2026-09-06T01:00-03:00');
  });
});

describe('money is exact', () => {
  it('sums and prints an amount a float would round (90071992547409.93)', () => {
    const rows = buildReport([click('2026-11-25T10:00:00.000Z')], [sale('2026-11-25T10:00:00.000Z', '90071992547409.93')], { by: ['campaign'], timeZone: 'UTC', costCurrency: 'EUR' });
    expect(rows[0]?.revenue).toEqual({ EUR: '90071992547409.93' });
    expect(formatJson(rows)).toContain('"EUR": 90071992547409.93\n');
    expect(formatCsv(rows, ['campaign'])).toContain(',90071992547409.93,');
    expect(formatTable(rows, ['campaign'])).toContain('90071992547409.93 EUR');
  });
});

describe('expired clicks: partial counts, no ratios from them', () => {
  const now = new Date('2026-11-25T12:00:00.000Z');

  it('knows which clicks may be gone from the retention history', () => {
    // 90 days until 2026-10-01, then 30 days.
    const spans = expiredSpans([{ days: 90, since: '2026-01-01T00:00:00.000Z' }, { days: 30, since: '2026-10-01T00:00:00.000Z' }], now);
    // Clicks under the old retention are kept until 90 days after them: gone before 2026-08-27T12:00.
    expect(spans[0]).toEqual({ from: Number.NEGATIVE_INFINITY, to: now.getTime() - 90 * DAY });
    // The new one keeps clicks after 2026-10-26T12:00: those since the switch (less an hour) before that are gone.
    expect(spans[1]).toEqual({ from: Date.parse('2026-10-01T00:00:00.000Z') - 3600_000, to: now.getTime() - 30 * DAY });
    const coverage = { expired: spans };
    expect(isPartial({ from: Date.parse('2026-09-10'), to: Date.parse('2026-09-11') }, coverage)).toBe(false); // old retention: kept
    expect(isPartial({ from: Date.parse('2026-10-10'), to: Date.parse('2026-10-11') }, coverage)).toBe(true); // new one: gone
    expect(isPartial({ from: Date.parse('2026-11-01'), to: Date.parse('2026-11-02') }, coverage)).toBe(false);
    // Raising the retention never makes older clicks expire sooner: 30 days, then 365.
    const raised = { expired: expiredSpans([{ days: 30, since: '2026-01-01T00:00:00.000Z' }, { days: 365, since: '2026-11-01T00:00:00.000Z' }], now) };
    expect(isPartial({ from: Date.parse('2026-10-24'), to: Date.parse('2026-10-25') }, raised)).toBe(true);
    expect(isPartial({ from: Date.parse('2026-10-27'), to: Date.parse('2026-10-28') }, raised)).toBe(false);
  });

  const coverage = clickCoverage([{ days: 90, since: '2026-01-01T00:00:00.000Z' }], 90, now);
  const range = { from: new Date('2026-08-20T00:00:00.000Z'), to: new Date('2026-09-03T00:00:00.000Z') };
  // The horizon is 2026-08-27T12:00Z: TTL deleted two of the three clicks of 2026-08-21, so a
  // sale on the one left would read as CR 100%, EPC x3.
  const clicks = [click('2026-08-21T10:00:00.000Z', { cost: '1.00' }), click('2026-08-28T10:00:00.000Z', { cost: '1.00' }), click('2026-08-28T11:00:00.000Z', { cost: '1.00' })];
  const conversions = [
    sale('2026-08-21T10:00:00.000Z', '30'),
    sale('2026-08-21T09:00:00.000Z', '30', { clickId: 'gone-1' }),
    sale('2026-08-21T08:00:00.000Z', '30', { clickId: 'gone-2' }),
    sale('2026-08-28T10:00:00.000Z', '50'),
  ];

  it('by campaign: the whole report is partial, so no cr, epc, cost, profit or roi', () => {
    const options: ReportOptions = { by: ['campaign'], timeZone: 'UTC', costCurrency: 'EUR', completeness: { range, coverage } };
    const rows = buildReport(clicks, conversions, options);
    expect(json(rows)).toEqual([
      { campaignId: 'demo', retired: false, clicks: 3, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 4 }, revenue: { EUR: 140 }, cr: null, epc: null, cost: null, profit: null, roi: null, partial: true },
    ]);
    expect(formatCsv(rows, ['campaign']).split('\n')[1]).toBe('demo,false,3,0,0,,4,140.00,,,,,,true');
    const table = formatTable(rows, ['campaign'], partialNotice(options));
    expect(table.split('\n')[2]).toBe('demo          3*  payment=4    140.00 EUR  n/a  n/a   n/a     n/a  n/a');
    expect(table).toContain('* Partial click counts: clicks made before 2026-08-27 12:00+00:00 (UTC) are past their retention');
    expect(table).not.toMatch(/%/);
  });

  it('by day: only the days before the horizon are partial', () => {
    const options: ReportOptions = { by: ['day'], timeZone: 'UTC', costCurrency: 'EUR', completeness: { range, coverage } };
    const rows = buildReport(clicks, conversions, options);
    expect(json(rows)).toEqual([
      { day: '2026-08-21', clicks: 1, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 3 }, revenue: { EUR: 90 }, cr: null, epc: null, cost: null, profit: null, roi: null, partial: true },
      { day: '2026-08-28', clicks: 2, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 1 }, revenue: { EUR: 50 }, cr: 0.5, epc: { EUR: 25 }, cost: 2, costSource: 'clickUrl', profit: 48, roi: 24, partial: false },
    ]);
    expect(partialNotice(options)).toMatch(/^\* Partial click counts: .*Rows marked \* count only the clicks still stored/);
  });

  it('by day in a zone: the day the horizon falls in is partial, the next is not', () => {
    const options: ReportOptions = { by: ['day'], timeZone: 'Europe/Berlin', costCurrency: 'EUR', completeness: { range, coverage } };
    const around = [click('2026-08-27T13:00:00.000Z'), click('2026-08-27T23:00:00.000Z')];
    expect(buildReport(around, [], options).map((r) => [r.keys.day, r.partial])).toEqual([
      ['2026-08-27', true],
      ['2026-08-28', false],
    ]);
  });

  it('says so even when every click of the range is gone and no row is left', () => {
    const options: ReportOptions = { by: ['day'], timeZone: 'UTC', costCurrency: 'EUR', completeness: { range: { from: new Date('2026-05-01T00:00:00.000Z'), to: new Date('2026-05-02T00:00:00.000Z') }, coverage } };
    expect(buildReport([], [], options)).toEqual([]);
    expect(partialNotice(options)).toMatch(/^\* Partial click counts: clicks made before 2026-08-27 12:00\+00:00 \(UTC\)/);
  });

  it('a range after the horizon is complete and says nothing', () => {
    const options: ReportOptions = { by: ['campaign'], timeZone: 'UTC', costCurrency: 'EUR', completeness: { range: { from: new Date('2026-08-28T00:00:00.000Z'), to: new Date('2026-09-03T00:00:00.000Z') }, coverage } };
    const rows = buildReport(clicks.slice(1), conversions.slice(3), options);
    expect(rows.map((r) => [r.partial, r.cr])).toEqual([[false, 0.5]]);
    expect(partialNotice(options)).toBeUndefined();
  });
});

describe('retired campaigns', () => {
  it('are found from the catalog and marked', () => {
    const known = reportCampaigns(['demo'], [
      { id: 'demo' },
      { id: 'old-promo', retiredAt: '2026-10-01T00:00:00.000Z' },
      { id: 'deployed-not-local' },
    ]);
    expect(known.campaigns).toEqual(['demo', 'deployed-not-local', 'old-promo']);
    expect([...known.retired]).toEqual(['old-promo']);
    // Back in the config: not retired any more.
    expect([...reportCampaigns(['demo', 'old-promo'], [{ id: 'old-promo', retiredAt: '2026-10-01T00:00:00.000Z' }]).retired]).toEqual([]);

    const options: ReportOptions = { by: ['campaign'], timeZone: 'UTC', costCurrency: 'EUR', retired: known.retired };
    const rows = buildReport([click('2026-11-25T10:00:00.000Z'), click('2026-09-01T10:00:00.000Z', { campaignId: 'old-promo' })], [sale('2026-09-01T10:00:00.000Z', '99.5', { campaignId: 'old-promo' })], options);
    expect(json(rows).map((r) => [r.campaignId, r.retired, r.revenue])).toEqual([
      ['demo', false, {}],
      ['old-promo', true, { EUR: 99.5 }],
    ]);
    expect(formatTable(rows, ['campaign'])).toContain('old-promo (retired)');
    expect(formatCsv(rows, ['campaign']).split('\n')[2]).toMatch(/^old-promo,true,/);
  });
});
