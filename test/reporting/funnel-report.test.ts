/**
 * Reports of a funnel, made through the real handlers on dynalite: lander clicks and lander CTR,
 * bots apart from clicks (never in CR, EPC or cost), `--by lander` with the conversions of each
 * lander, in JSON, CSV, the table and the HTML page.
 */
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import type { DeadLetterSink } from '../../lambda/core/model';
import { buildReport, formatCsv, formatJson, formatTable, startOfDay, type GroupKey } from '../../lambda/core/report';
import { formatTrace } from '../../lambda/core/trace';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import { createLanderHandler } from '../../lambda/handlers/lander';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { logger } from '../../lambda/logger';
import { reportHtml } from '../../scripts/report-html';
import { loadReportData } from '../../lambda/adapters/report-data';
import { DESKTOP_UA, FACEBOOK_PREVIEW_UA } from '../support/browser';
import { funnelConfig } from '../support/config';
import { freshTables } from '../support/dynamo';
import { httpEvent } from '../support/events';

let data: Awaited<ReturnType<typeof loadReportData>>;
let store: DynamoClickStore;
const ids: Record<'f1' | 'f2' | 'f3' | 'f4', string> = { f1: '', f2: '', f3: '', f4: '' };

beforeAll(async () => {
  const { client, tables } = await freshTables();
  const config = funnelConfig();
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  const sink: DeadLetterSink = { send: async (m) => ({ status: 'queued', messageId: m.id }) };
  const clicks = new DynamoClickStore(client, tables.clicks);
  store = clicks;
  let random = 0;
  const deps = { config: compileConfig(config), clicks, deadLetters: () => sink, log: logger, random: () => random };
  const now = () => new Date('2026-11-25T10:00:00.000Z');
  const click = createClickHandler(deps, { now });
  const go = createLanderHandler(deps, { now });
  const postback = createPostbackHandler(
    { clicks, conversions: new DynamoConversionStore(client, tables.conversions), types: new DynamoConversionTypes(client, tables.conversionTypes), deadLetters: () => sink, defaultCurrency: 'EUR' },
    { now },
  );
  const visit = async (campaign: string, query: string, headers: Record<string, string> = {}, method = 'GET') => {
    const answer = await click(httpEvent({ method, path: `/click/${campaign}`, query, pathParameters: { campaignId: campaign }, headers }));
    if (query.includes('format=json')) return String((JSON.parse(String(answer.body)) as { clickid: string }).clickid);
    const location = new URL(String(answer.headers?.location));
    return location.searchParams.get('clickid') ?? location.searchParams.get('cid') ?? '';
  };
  const sale = (clickId: string, sum: string, txid: string) => postback(httpEvent({ path: '/postback', query: `clickid=${clickId}&type=payment&sum=${sum}&currency=EUR&txid=${txid}` }));

  random = 0; // bridge
  const f1 = await visit('funnel', 'sub1=a&cost=0.50');
  await go(httpEvent({ path: '/go', query: `clickid=${f1}&offer=ds24` }));
  await sale(f1, '50.00', 'T1');
  random = 0.9; // quiz
  ids.f2 = await visit('funnel', 'sub1=b');
  random = 0;
  // A link previewer: stored, flagged, never a click (nor its cost).
  ids.f3 = await visit('funnel', 'sub1=a&cost=1.00', { 'user-agent': FACEBOOK_PREVIEW_UA });
  // A direct visit on the bridge page (t.js), then its lander click to the other offer.
  const f4 = await visit('funnel', `format=json&sub1=a&page=${encodeURIComponent('https://lp.example.com/bridge')}`, { origin: 'https://lp.example.com', 'user-agent': DESKTOP_UA });
  await go(httpEvent({ path: '/go', query: `clickid=${f4}&offer=lp` }));
  await go(httpEvent({ path: '/go', query: `clickid=${f4}&offer=lp` })); // a repeat: counted once
  await sale(f4, '20.00', 'T4');
  Object.assign(ids, { f1, f4 });
  // A campaign without landers: a person and a HEAD request.
  await visit('demo', 'sub1=c');
  await visit('demo', 'sub1=c', {}, 'HEAD');

  data = await loadReportData({
    client, tables, campaigns: ['demo', 'split', 'funnel', 'cloaked'],
    from: startOfDay('2026-11-25', 'UTC'), to: startOfDay('2026-11-26', 'UTC'), includeUnattributed: false,
  });
});

const report = (by: GroupKey[]) => buildReport(data.clicks, data.conversions, { by, timeZone: 'UTC', costCurrency: 'EUR' });
const json = (by: GroupKey[]) => JSON.parse(formatJson(report(by))) as Record<string, unknown>[];

describe('a funnel report', () => {
  it('by campaign: bots apart, never in clicks, CR, EPC or cost; lander clicks and lander CTR for the lander campaign only', () => {
    expect(json(['campaign'])).toEqual([
      { campaignId: 'demo', retired: false, clicks: 1, bots: 1, lpClicks: 0, lpCtr: null, conversions: {}, revenue: {}, cr: 0, epc: {}, partial: false },
      {
        campaignId: 'funnel', retired: false, clicks: 3, bots: 1, lpClicks: 2, lpCtr: 0.6667, conversions: { payment: 2 }, revenue: { EUR: 70 }, cr: 0.6667, epc: { EUR: 23.3333 },
        cost: 0.5, costSource: 'clickUrl', profit: 69.5, roi: 139, partial: false,
      },
    ]);
  });

  it('--by lander (JSON landerId): each lander with its clicks, lander clicks, CTR and the conversions of its clicks', () => {
    expect(json(['campaign', 'lander']).map(({ campaignId, landerId, clicks, bots, lpClicks, lpCtr, conversions, revenue }) => ({ campaignId, landerId, clicks, bots, lpClicks, lpCtr, conversions, revenue }))).toEqual([
      { campaignId: 'demo', landerId: null, clicks: 1, bots: 1, lpClicks: 0, lpCtr: null, conversions: {}, revenue: {} },
      { campaignId: 'funnel', landerId: 'bridge', clicks: 2, bots: 1, lpClicks: 2, lpCtr: 1, conversions: { payment: 2 }, revenue: { EUR: 70 } },
      { campaignId: 'funnel', landerId: 'quiz', clicks: 1, bots: 0, lpClicks: 0, lpCtr: 0, conversions: {}, revenue: {} },
    ]);
    // The offer is chosen at /go: a lander's click that never left it has none.
    expect(json(['offer']).map((r) => [r.offerId, r.clicks, r.bots, r.lpClicks])).toEqual([
      ['ds24', 2, 1, 1],
      ['lp', 1, 0, 1],
      [null, 1, 1, 0],
    ]);
  });

  it('CSV always has bots, lpClicks and lpCtr; the table and the HTML page show them when there are any', () => {
    const rows = report(['lander']);
    const csv = formatCsv(rows, ['lander']).split('\n');
    expect(csv[0]).toBe('landerId,clicks,bots,lpClicks,lpCtr,conversions_payment,revenue_EUR,cr,epc_EUR,cost,profit,roi,partial');
    // The bot's cost (1.00) is not the lander's: only the person's 0.50 is.
    expect(csv.slice(1)).toEqual(['bridge,2,1,2,1,2,70.00,1,35.0000,0.50,69.50,139,false', 'quiz,1,0,0,0,0,0.00,0,0.0000,,,,false', ',1,1,0,,0,0.00,0,0.0000,,,,false']);
    const table = formatTable(rows, ['lander']).split('\n');
    expect(table[0]).toMatch(/^lander\s+clicks\s+bots\s+lpClicks\s+lpCtr\s+conversions\s+revenue\s+cr\s+epc\s+cost\s+profit\s+roi$/);
    expect(table[2]).toMatch(/^bridge\s+2\s+1\s+2\s+100\.00%\s+payment=2\s+70\.00 EUR/);
    expect(table[4]).toMatch(/^-\s+1\s+1\s+0\s+-\s+-/);
    const html = reportHtml({ rows, by: ['lander'], chart: report(['day']), title: 'Funnel' });
    expect(html).toContain('<th>lander</th><th>clicks</th><th>bots</th><th>lpClicks</th><th>lpCtr</th><th>conversions</th>');
    expect(html).toContain('"landerId":"bridge","clicks":2,"bots":1,"lpClicks":2,"lpCtr":1');
  });

  it('without bots or landers the table keeps its columns as they were', () => {
    const people = data.clicks.filter((c) => !c.bot && c.campaignId === 'demo');
    const rows = buildReport(people, [], { by: ['campaign'], timeZone: 'UTC', costCurrency: 'EUR' });
    expect(formatTable(rows, ['campaign']).split('\n')[0]).toMatch(/^campaign\s+clicks\s+conversions\s+revenue\s+cr\s+epc\s+cost\s+profit\s+roi$/);
  });
});

describe('npm run trace of a funnel click', () => {
  const trace = async (clickId: string) => {
    const click = await store.getClick(clickId);
    return formatTrace({ clickId, ...(click ? { click } : {}), inbound: [], conversions: [], queued: [] });
  };

  it('shows the lander, the lander click\'s time and the offer chosen', async () => {
    const text = await trace(ids.f1);
    expect(text).toContain('campaign funnel, lander bridge, offer ds24, channel facebook');
    expect(text).toContain('2026-11-25T10:00:00.000Z  lander click (/go) -> offer ds24');
    expect(text).not.toContain('BOT');
  });

  it('shows a lander click still to come, a direct visit\'s page, and the bot flag', async () => {
    expect(await trace(ids.f2)).toContain('campaign funnel, lander quiz, no offer yet, channel facebook');
    expect(await trace(ids.f2)).toContain('no lander click (/go) yet');
    expect(await trace(ids.f4)).toContain('direct visit (t.js) on https://lp.example.com/bridge');
    expect(await trace(ids.f3)).toContain('BOT (user_agent): stored, never counted in clicks, CR, EPC or cost');
  });
});
