/**
 * GET /go, the lander's call to action, against a real DynamoDB API (dynalite): one conditional
 * update at most, no read on the way, the first lander click counts, the visitor always reaches
 * an offer, and a lander click of a click not stored yet waits in the queue until redrive.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../config/schema';
import { DynamoDeadLetterLedger } from '../../lambda/adapters/dead-letter-ledger';
import { DynamoClickStore } from '../../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../../lambda/adapters/file-dead-letter';
import { ORIGIN_VERIFY_HEADER } from '../../lambda/contract';
import { idTime, mintClickId } from '../../lambda/core/ids';
import type { ClickRecord } from '../../lambda/core/model';
import { redrive } from '../../lambda/core/replay';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import { createLanderHandler, landerMetrics } from '../../lambda/handlers/lander';
import { handleLanderClick } from '../../lambda/core/lander-click';
import { guardedDeadLetters } from '../../lambda/handlers/runtime';
import { logger } from '../../lambda/logger';
import { DESKTOP_UA, FACEBOOK_PREVIEW_UA } from '../support/browser';
import { funnelConfig } from '../support/config';
import { countingClient, freshTables, scanAll, unreachableClient } from '../support/dynamo';
import { httpEvent } from '../support/events';

const config = compileConfig(funnelConfig());

async function setup(options: { originSecret?: string; random?: () => number } = {}) {
  const { client, tables } = await freshTables();
  const counting = countingClient();
  const queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-go-')));
  const deps = { config, clicks: new DynamoClickStore(counting.client, tables.clicks), deadLetters: () => queue, log: logger, ...(options.random ? { random: options.random } : {}) };
  const click = createClickHandler({ ...deps, clicks: new DynamoClickStore(client, tables.clicks) });
  const go = createLanderHandler(deps, options.originSecret ? { originSecret: options.originSecret } : {});
  const stored = async (clickId: string) => (await scanAll(client, tables.clicks)).find((c) => c.clickId === clickId);
  return { client, tables, calls: counting.calls, queue, click, go, stored };
}

const goEvent = (query: string, headers: Record<string, string> = {}, method = 'GET') => httpEvent({ method, path: '/go', query, headers });

/** A click on the funnel campaign (sent to a lander); returns its id. */
async function landerVisit(click: ReturnType<typeof createClickHandler>, query = 'sub1=ad-7'): Promise<string> {
  const answer = await click(httpEvent({ path: '/click/funnel', query, pathParameters: { campaignId: 'funnel' } }));
  const location = new URL(String(answer.headers?.location));
  return location.searchParams.get('clickid') ?? location.searchParams.get('cid') ?? '';
}

describe('GET /go', () => {
  it('records the first lander click and its offer with ONE conditional update and no read, and redirects with the same click id', async () => {
    const t = await setup({ random: () => 0 });
    const clickId = await landerVisit(t.click);
    const answer = await t.go(goEvent(`clickid=${clickId}&offer=lp`));
    expect(answer.statusCode).toBe(302);
    expect(answer.headers?.['cache-control']).toBe('no-store');
    // The offer URL's macros come from the stored click (returned by the update itself).
    expect(answer.headers?.location).toBe(`https://shop.example.com/lp?c=${clickId}&camp=funnel&s1=ad-7&s20=`);
    expect(t.calls).toEqual(['UpdateItemCommand']);
    const stored = await t.stored(clickId);
    expect(stored).toMatchObject({ clickId, landerId: 'bridge', offerId: 'lp', lpClickAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), sub1: 'ad-7' });
  });

  it('counts only the first lander click: a repeat changes nothing and goes to the offer chosen first, or to the one its link names', async () => {
    const t = await setup({ random: () => 0 });
    const clickId = await landerVisit(t.click);
    await t.go(goEvent(`clickid=${clickId}`));
    const first = await t.stored(clickId);
    expect(first?.offerId).toBe('ds24');
    t.calls.length = 0;
    const again = await t.go(goEvent(`clickid=${clickId}`));
    expect(again.headers?.location).toBe(`https://www.digistore24.com/redir/123456/aff/?cid=${clickId}`);
    // The failed condition is read back (dynalite returns no item with the error; AWS does).
    expect(t.calls).toEqual(['UpdateItemCommand', 'GetItemCommand']);
    const otherButton = await t.go(goEvent(`clickid=${clickId}&offer=lp`));
    expect(new URL(String(otherButton.headers?.location)).host).toBe('shop.example.com');
    expect(await t.stored(clickId)).toEqual(first);
  });

  it('falls back to the weighted pick for an offer that is not the campaign\'s', async () => {
    const t = await setup({ random: () => 0.99 });
    const clickId = await landerVisit(t.click);
    const answer = await t.go(goEvent(`clickid=${clickId}&offer=no-such-offer`));
    expect(new URL(String(answer.headers?.location)).host).toBe('shop.example.com');
    expect((await t.stored(clickId))?.offerId).toBe('lp');
  });

  it('sends the visitor on when the click is not stored yet, and keeps the lander click in the queue until redrive finds the click', async () => {
    const t = await setup({ random: () => 0 });
    const clickId = mintClickId('funnel');
    const answer = await t.go(goEvent(`clickid=${clickId}`, { 'cloudfront-viewer-address': '203.0.113.9:443' }));
    expect(answer.statusCode).toBe(302);
    expect(answer.headers?.location).toBe(`https://www.digistore24.com/redir/123456/aff/?cid=${clickId}`);
    const [queued, ...more] = await t.queue.list();
    expect(more).toEqual([]);
    expect(queued).toMatchObject({ kind: 'lander_click', reason: 'unknown_click', clickId, landerClick: { clickId, offerId: 'ds24', at: expect.any(String) } });
    expect(await t.stored(clickId)).toBeUndefined();

    // The click arrives (say, replayed from the queue itself), then the lander click is replayed.
    const click: ClickRecord = { clickId, campaignId: 'funnel', landerId: 'bridge', channelId: 'facebook', createdAt: new Date().toISOString(), expiresAt: 2_000_000_000, subs: {} };
    const store = new DynamoClickStore(t.client, t.tables.clicks);
    expect(await store.putClick(click)).toBe('stored');
    const replayDeps = { clickStore: store } as unknown as Parameters<typeof redrive>[1];
    const summary = await redrive(t.queue, replayDeps, { limit: 10, dryRun: false });
    expect(summary.outcomes).toEqual({ 'lander click recorded': 1 });
    expect(await t.queue.list()).toEqual([]);
    expect(await t.stored(clickId)).toMatchObject({ offerId: 'ds24', lpClickAt: queued?.landerClick?.at });
  });

  it('still redirects when DynamoDB is down (the lander click is queued), and when the queue is down too', async () => {
    const queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-go-down-')));
    const clickId = mintClickId('funnel');
    const down = createLanderHandler({ config, clicks: new DynamoClickStore(unreachableClient(), 'clicks'), deadLetters: () => queue, log: logger });
    const answer = await down(goEvent(`clickid=${clickId}`));
    expect(answer.statusCode).toBe(302);
    expect((await queue.list()).map((m) => [m.kind, m.reason])).toEqual([['lander_click', 'storage_error']]);
    const lost = createLanderHandler({
      config,
      clicks: new DynamoClickStore(unreachableClient(), 'clicks'),
      deadLetters: () => ({ send: () => Promise.reject(new Error('queue down')) }),
      log: logger,
    });
    expect((await lost(goEvent(`clickid=${clickId}`))).statusCode).toBe(302);
  });

  it('queues one lander click per click however often it is repeated, and no more than the sender network\'s cap; the visitor always goes on', async () => {
    // As deployed: a keyless request, so the queue is guarded by the ledger (dedupe, per-network cap).
    const capped = compileConfig(parseConfig({ ...funnelConfig(), deadLetters: { maxDistinctPerHour: 2 } }));
    const { client, tables } = await freshTables();
    const queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-go-cap-')));
    const deadLetters = guardedDeadLetters(queue, new DynamoDeadLetterLedger(client, tables.deadLetterLedger), capped.config);
    const deps = { config: capped, clicks: new DynamoClickStore(client, tables.clicks), deadLetters, log: logger, random: () => 0 };
    const go = (clickId: string, ip: string) =>
      handleLanderClick({ request: { method: 'GET', path: '/go', query: `clickid=${clickId}`, body: '', headers: {} }, userAgent: DESKTOP_UA, ip, now: new Date() }, deps);
    const [a, b, c] = [mintClickId('funnel'), mintClickId('funnel'), mintClickId('funnel')];

    const first = await go(a, '203.0.113.9');
    expect(first).toMatchObject({ kind: 'redirect', recorded: 'queued', offerId: 'ds24' });
    const again = await go(a, '203.0.113.10'); // the same visitor clicking twice (another address of the network)
    expect(again).toMatchObject({ kind: 'redirect', recorded: 'queued', duplicateOf: expect.any(String) });
    expect(landerMetrics(again).map((m) => m.name)).toEqual(['DeadLetterDuplicates']);
    expect((await go(b, '203.0.113.11')).kind === 'redirect').toBe(true);
    // The network's third distinct lander click this hour is over the cap: not kept, still sent on.
    const over = await go(c, '203.0.113.12');
    expect(over).toMatchObject({ kind: 'redirect', recorded: 'capped', location: `https://www.digistore24.com/redir/123456/aff/?cid=${c}` });
    expect(landerMetrics(over).map((m) => m.name)).toEqual(['DeadLettersCapped']);
    // Another network is not crowded out.
    expect(await go(c, '198.51.100.7')).toMatchObject({ recorded: 'queued' });
    expect((await queue.list()).map((m) => m.clickId).sort()).toEqual([a, b, c].sort());
  });

  it('keeps no lander click for a click past its retention (it will never be stored); one queued before expiry is dropped by the replay after it', async () => {
    const t = await setup({ random: () => 0 });
    const days = config.config.defaults.clickRetentionDays;
    const madeAt = Date.now() - (days + 1) * 86_400_000;
    const gone = mintClickId('funnel', madeAt);
    const answer = await t.go(goEvent(`clickid=${gone}`));
    // The visitor still reaches the offer; nothing waits in the queue for a click that is gone.
    expect(answer.statusCode).toBe(302);
    expect(answer.headers?.location).toBe(`https://www.digistore24.com/redir/123456/aff/?cid=${gone}`);
    expect(await t.queue.list()).toEqual([]);

    // A click made just inside its retention: queued, with the end of that retention; a replay
    // before then leaves it waiting for its click.
    const late = mintClickId('funnel', Date.now() - days * 86_400_000 + 600_000);
    expect((await t.go(goEvent(`clickid=${late}`))).statusCode).toBe(302);
    const [queued, ...none] = await t.queue.list();
    expect(none).toEqual([]);
    expect(Date.parse(queued?.landerClick?.clickExpiresAt ?? '')).toBe(idTime(late.slice(0, 26))! + days * 86_400_000);
    const replayDeps = { clickStore: new DynamoClickStore(t.client, t.tables.clicks) } as unknown as Parameters<typeof redrive>[1];
    expect((await redrive(t.queue, replayDeps, { limit: 10, dryRun: false })).stillFailing).toEqual({ unknown_click: 1 });

    // One queued two days ago for a click whose retention ended yesterday: the replay drops it.
    const lapsed = mintClickId('funnel', madeAt);
    const twoDaysAgo = createLanderHandler({ config, clicks: new DynamoClickStore(t.client, t.tables.clicks), deadLetters: () => t.queue, log: logger }, { now: () => new Date(Date.now() - 2 * 86_400_000) });
    expect((await twoDaysAgo(goEvent(`clickid=${lapsed}`))).statusCode).toBe(302);
    const summary = await redrive(t.queue, replayDeps, { limit: 10, dryRun: false });
    expect(summary.outcomes).toEqual({ 'lander click dropped: its click expired': 1 });
    expect(summary.stillFailing).toEqual({ unknown_click: 1 });
    expect((await t.queue.list()).map((m) => m.clickId)).toEqual([late]);
  });

  it('refuses a malformed click id (400) and an unknown campaign (404), naming the parameter, writing nothing', async () => {
    const t = await setup();
    const bad = await t.go(goEvent('clickid=<script>'));
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toBe('Rejected: clickid: "script" is not a click id of this tracker. Nothing was recorded.\n');
    expect((await t.go(goEvent(''))).statusCode).toBe(400);
    expect((await t.go(goEvent('offer=nope'))).statusCode).toBe(400);
    const unknown = await t.go(goEvent(`clickid=${mintClickId('not-a-campaign-here')}`));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toMatch(/^Unknown campaign: click id [0-9A-Z]{30} belongs to no campaign of this tracker/);
    expect(t.calls).toEqual([]);
    expect(await t.queue.list()).toEqual([]);
  });

  it('sends a visitor without a click id (consent refused) to the offer its link names, untracked', async () => {
    const t = await setup();
    const answer = await t.go(goEvent('offer=ds24'));
    expect(answer.statusCode).toBe(302);
    expect(answer.headers?.location).toBe('https://www.digistore24.com/redir/123456/aff/?cid=');
    expect(t.calls).toEqual([]);
  });

  it('writes nothing for bots, HEAD requests and prefetches; a bot on a cloaked campaign goes to its botUrl', async () => {
    const t = await setup();
    const clickId = await landerVisit(t.click);
    const preview = await t.go(goEvent(`clickid=${clickId}`, { 'user-agent': FACEBOOK_PREVIEW_UA }));
    expect(preview.statusCode).toBe(302);
    const head = await t.go(goEvent(`clickid=${clickId}`, {}, 'HEAD'));
    expect(head.statusCode).toBe(302);
    expect(head.body).toBe('');
    const prefetch = await t.go(goEvent(`clickid=${clickId}`, { 'sec-purpose': 'prefetch' }));
    expect(prefetch.statusCode).toBe(503);
    expect(prefetch.headers?.['cache-control']).toBe('no-store');
    expect(t.calls).toEqual([]);
    expect((await t.stored(clickId))?.lpClickAt).toBeUndefined();
    const cloaked = await t.go(goEvent(`clickid=${mintClickId('cloaked')}`, { 'user-agent': FACEBOOK_PREVIEW_UA }));
    expect(cloaked.headers?.location).toBe('https://safe.example.org/about?c=cloaked');
    // A person after all that: the first real lander click is recorded.
    expect((await t.go(goEvent(`clickid=${clickId}`, { 'user-agent': DESKTOP_UA }))).statusCode).toBe(302);
    expect((await t.stored(clickId))?.lpClickAt).toBeDefined();
  });

  it('refuses requests that bypass CloudFront, writing nothing', async () => {
    const t = await setup({ originSecret: 'origin-secret-value' });
    const clickId = await landerVisit(t.click);
    expect((await t.go(goEvent(`clickid=${clickId}`))).statusCode).toBe(403);
    expect((await t.go(goEvent(`clickid=${clickId}`, { [ORIGIN_VERIFY_HEADER]: 'wrong' }))).statusCode).toBe(403);
    expect(t.calls).toEqual([]);
    expect((await t.go(goEvent(`clickid=${clickId}`, { [ORIGIN_VERIFY_HEADER]: 'origin-secret-value' }))).statusCode).toBe(302);
    expect(t.calls).toEqual(['UpdateItemCommand']);
  });

  it('recognises its own lost-answer retry as recorded, not as a repeat', async () => {
    const t = await setup();
    const clickId = await landerVisit(t.click);
    const store = new DynamoClickStore(t.client, t.tables.clicks);
    const landerClick = { clickId, offerId: 'ds24', at: '2026-11-25T10:00:00.000Z' };
    expect((await store.recordLanderClick(landerClick)).status).toBe('recorded');
    // The SDK sends the same request again after a reset connection: same time, same offer.
    expect((await store.recordLanderClick(landerClick)).status).toBe('recorded');
    expect((await store.recordLanderClick({ ...landerClick, at: '2026-11-25T10:00:01.000Z' })).status).toBe('repeat');
  });
});
