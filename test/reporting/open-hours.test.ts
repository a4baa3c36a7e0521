/**
 * The open hours' view (core/open-hours): when a report may count a campaign's open hours from
 * it, and which writes the local change feed counts against it.
 */
import { mintClickId } from '../../lambda/core/ids';
import { CLICK_WRITE_GRACE_MS, ClickWriteGenerations, OPEN_VIEW_MAX_LAG_MS, makeOpenHoursView, viewOf, type ClickReader } from '../../lambda/core/open-hours';
import type { ReportClick } from '../../lambda/core/report';
import { HOUR_MS } from '../../lambda/core/rollups';
import { clickWriteCode } from '../../lambda/local/change-feed';

const NOW = Date.parse('2026-11-26T14:20:00Z');
const CLOSED_UNTIL = Date.parse('2026-11-26T13:00:00Z');

function click(campaignId: string, at: number, extra: Partial<ReportClick> = {}): ReportClick {
  return { clickId: mintClickId(campaignId, at), campaignId, createdAt: new Date(at).toISOString(), ...extra };
}

const CLICKS: ReportClick[] = [
  click('demo', CLOSED_UNTIL + 5 * 60_000, { sub1: 'a', country: 'DE' }),
  click('demo', CLOSED_UNTIL + 70 * 60_000, { sub1: 'a', sub2: 'b' }),
  click('demo', CLOSED_UNTIL + 75 * 60_000, { bot: true }),
  click('split', CLOSED_UNTIL + 10 * 60_000, { landerId: 'lp1', lpClickAt: new Date(CLOSED_UNTIL + 11 * 60_000).toISOString() }),
];

/** Reads CLICKS as adapters/report-source does: a campaign's clicks made in [from, to). */
const reader: ClickReader = async function* (campaignId, from, to) {
  for (const c of CLICKS) {
    const t = Date.parse(c.createdAt);
    if (c.campaignId === campaignId && t >= from && t < to) yield c;
  }
};

describe('open hours view', () => {
  it('holds every dimension of every open hour, per campaign, and the clicks made before its start minus the grace', async () => {
    const view = await makeOpenHoursView(reader, ['demo', 'split', 'quiet'], CLOSED_UNTIL, NOW, new ClickWriteGenerations());
    expect(view.from).toBe(CLOSED_UNTIL);
    expect(view.until).toBe(NOW - CLICK_WRITE_GRACE_MS);
    const demo = view.campaigns.get('demo')?.parts;
    expect([...(demo?.keys() ?? [])]).toEqual([CLOSED_UNTIL, CLOSED_UNTIL + HOUR_MS]);
    const second = demo?.get(CLOSED_UNTIL + HOUR_MS);
    expect([...(second?.dims.campaign?.values() ?? [])].map((e) => [e.counters.clicks, e.counters.bots])).toEqual([[1, 1]]);
    expect(Object.keys(second?.dims ?? {}).sort()).toEqual(['campaign', 'channel', 'country', 'lander', 'offer', 'sub1', 'sub2', 'sub3']);
    expect([...(view.campaigns.get('split')?.parts.get(CLOSED_UNTIL)?.dims.lander?.values() ?? [])].map((e) => e.counters.lpClicks)).toEqual([1]);
    // A campaign without open clicks is held (as empty), so it is not read raw.
    expect(view.campaigns.get('quiet')?.parts.size).toBe(0);
  });

  it('is used while its clicks are at most a minute behind the clock, and only for the campaigns it read', async () => {
    const generations = new ClickWriteGenerations();
    const view = await makeOpenHoursView(reader, ['demo'], CLOSED_UNTIL, NOW, generations);
    const lastUse = view.until + OPEN_VIEW_MAX_LAG_MS;
    expect(viewOf(view, 'demo', lastUse, generations)?.from).toBe(CLOSED_UNTIL);
    expect(viewOf(view, 'demo', lastUse + 1, generations)).toBeUndefined();
    expect(viewOf(view, 'split', NOW, generations)).toBeUndefined();
    expect(viewOf(undefined, 'demo', NOW, generations)).toBeUndefined();
  });

  it('is not used for a campaign whose clicks were written (or are being written) since it was read', async () => {
    const generations = new ClickWriteGenerations();
    const view = await makeOpenHoursView(reader, ['demo', 'split'], CLOSED_UNTIL, NOW, generations);
    const demoCode = mintClickId('demo').slice(26);
    generations.bump(demoCode); // a write of a demo click starts
    expect(viewOf(view, 'demo', NOW, generations)).toBeUndefined();
    expect(viewOf(view, 'split', NOW, generations)).toBeDefined();
    generations.bump(demoCode); // and ends: still not in the view
    expect(viewOf(view, 'demo', NOW, generations)).toBeUndefined();
    // A write whose clicks are unknown (a batch) moves every campaign.
    generations.bump(undefined);
    expect(viewOf(view, 'split', NOW, generations)).toBeUndefined();
    // A new view holds them again.
    const next = await makeOpenHoursView(reader, ['demo', 'split'], CLOSED_UNTIL, NOW, generations);
    expect(viewOf(next, 'demo', NOW, generations)).toBeDefined();
  });

  it('a write started before the view read the campaign and answered after it makes the view unusable for it', async () => {
    const generations = new ClickWriteGenerations();
    const code = mintClickId('demo').slice(26);
    generations.bump(code); // in flight while the view reads
    const view = await makeOpenHoursView(reader, ['demo'], CLOSED_UNTIL, NOW, generations);
    generations.bump(code); // answered after the read
    expect(viewOf(view, 'demo', NOW, generations)).toBeUndefined();
  });

  it('the change feed counts every write of the clicks table, and nothing else', () => {
    const id = mintClickId('demo');
    const code = id.slice(26);
    const key = { pk: { S: `${code}#${id.charAt(25)}` }, clickId: { S: id } };
    expect(clickWriteCode('PutItemCommand', { TableName: 'clicks', Item: key }, 'clicks')).toBe(code);
    expect(clickWriteCode('UpdateItemCommand', { TableName: 'clicks', Key: key }, 'clicks')).toBe(code);
    expect(clickWriteCode('DeleteItemCommand', { TableName: 'clicks', Key: key }, 'clicks')).toBe(code);
    expect(clickWriteCode('PutItemCommand', { TableName: 'conversions', Item: key }, 'clicks')).toBeNull();
    expect(clickWriteCode('GetItemCommand', { TableName: 'clicks', Key: key }, 'clicks')).toBeNull();
    expect(clickWriteCode('QueryCommand', { TableName: 'clicks' }, 'clicks')).toBeNull();
    // Writes whose clicks are not known by key: every campaign.
    expect(clickWriteCode('BatchWriteItemCommand', { RequestItems: { clicks: [] } }, 'clicks')).toBeUndefined();
    expect(clickWriteCode('BatchWriteItemCommand', { RequestItems: { inbound: [] } }, 'clicks')).toBeNull();
    expect(clickWriteCode('TransactWriteItemsCommand', { TransactItems: [{ Put: { TableName: 'clicks' } }] }, 'clicks')).toBeUndefined();
    expect(clickWriteCode('PutItemCommand', { TableName: 'clicks', Item: { pk: { S: '~x' }, clickId: { S: 'not-minted' } } }, 'clicks')).toBeUndefined();
  });
});
