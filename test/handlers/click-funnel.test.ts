/**
 * The click handler's funnel side against a real DynamoDB API: lander campaigns, the JSON click
 * of direct tracking with its CORS, bots (stored, flagged), HEAD requests and prefetches — and
 * still one write and no read per click.
 */
import { DynamoClickStore } from '../../lambda/adapters/dynamodb-store';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import { logger } from '../../lambda/logger';
import { DESKTOP_UA, FACEBOOK_PREVIEW_UA } from '../support/browser';
import { funnelConfig } from '../support/config';
import { countingClient, freshTables, scanAll } from '../support/dynamo';
import { httpEvent } from '../support/events';

const config = compileConfig(funnelConfig());

async function setup() {
  const { client, tables } = await freshTables();
  const counting = countingClient();
  const handler = createClickHandler({
    config,
    clicks: new DynamoClickStore(counting.client, tables.clicks),
    deadLetters: () => {
      throw new Error('nothing is queued here');
    },
    log: logger,
    random: () => 0,
  });
  return { handler, calls: counting.calls, stored: () => scanAll(client, tables.clicks) };
}

const clickEvent = (campaignId: string, query = '', headers: Record<string, string> = {}, method = 'GET') =>
  httpEvent({ method, path: `/click/${campaignId}`, query, headers, pathParameters: { campaignId } });

const page = encodeURIComponent('https://lp.example.com/bridge?fbclid=FB-9&sub1=ad-3');

describe('GET /click/{campaignId} on a campaign with landers', () => {
  it('redirects to the lander picked by weight with its macros filled, one write, no read', async () => {
    const t = await setup();
    const answer = await t.handler(clickEvent('funnel', 'sub1=ad%203&fbclid=FB-1'));
    expect(answer.statusCode).toBe(302);
    const location = new URL(String(answer.headers?.location));
    expect(`${location.origin}${location.pathname}`).toBe('https://lp.example.com/bridge');
    expect(location.searchParams.get('s1')).toBe('ad 3');
    const clickId = location.searchParams.get('clickid');
    expect(t.calls).toEqual(['PutItemCommand']);
    const [stored] = await t.stored();
    expect(stored).toMatchObject({ clickId, campaignId: 'funnel', landerId: 'bridge', channelClickId: 'FB-1' });
    expect(stored?.offerId).toBeUndefined();
  });
});

describe('GET /click/{campaignId}?format=json (direct tracking)', () => {
  it('answers exactly {clickid, campaignId, redirectUrl, bot} as JSON, no redirect, with CORS for the lander\'s origin (never credentials)', async () => {
    const t = await setup();
    const answer = await t.handler(
      clickEvent('funnel', `format=json&sub1=ad-3&fbclid=FB-9&page=${page}&ref=${encodeURIComponent('https://m.facebook.com/')}&_fbp=fb.1.1764064800000.42&_fbc=fb.1.1764064800000.FB-9`, {
        origin: 'https://lp.example.com',
        referer: 'https://lp.example.com/',
      }),
    );
    expect(answer.statusCode).toBe(200);
    expect(answer.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'access-control-allow-origin': 'https://lp.example.com',
      vary: 'Origin',
    });
    expect(answer.headers).not.toHaveProperty('access-control-allow-credentials');
    expect(answer.headers).not.toHaveProperty('location');
    const body = JSON.parse(String(answer.body)) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['clickid', 'campaignId', 'redirectUrl', 'bot']);
    expect(body).toEqual({ clickid: expect.stringMatching(/^[0-9A-Z]{30}$/), campaignId: 'funnel', redirectUrl: `https://lp.example.com/bridge?clickid=${String(body.clickid)}&s1=ad-3`, bot: false });
    expect(t.calls).toEqual(['PutItemCommand']);
    expect(await t.stored()).toEqual([
      expect.objectContaining({
        clickId: body.clickid,
        landerId: 'bridge',
        page: 'https://lp.example.com/bridge',
        referer: 'https://m.facebook.com/',
        fbp: 'fb.1.1764064800000.42',
        fbc: 'fb.1.1764064800000.FB-9',
        channelClickId: 'FB-9',
        sub1: 'ad-3',
      }),
    ]);
  });

  it('reflects an origin listed in corsOrigins; refuses any other page with 403, Vary: Origin and no CORS header, writing nothing', async () => {
    const t = await setup();
    const listed = await t.handler(clickEvent('funnel', 'format=json', { origin: 'https://pages.example.org' }));
    expect(listed.headers?.['access-control-allow-origin']).toBe('https://pages.example.org');
    const before = (await t.stored()).length;
    for (const origin of ['https://evil.example', 'null', 'https://lp.example.com:8443', 'http://lp.example.com']) {
      const refused = await t.handler(clickEvent('funnel', 'format=json', { origin }));
      expect(refused.statusCode).toBe(403);
      expect(refused.headers).toMatchObject({ vary: 'Origin', 'cache-control': 'no-store' });
      expect(refused.headers).not.toHaveProperty('access-control-allow-origin');
      expect(JSON.parse(String(refused.body)).error).toMatch(/may not create clicks; add the origin to corsOrigins/);
    }
    expect(await t.stored()).toHaveLength(before);
  });

  it('answers a server (no Origin) without CORS headers, and an unknown campaign with a JSON 404', async () => {
    const t = await setup();
    const server = await t.handler(clickEvent('demo', 'format=json'));
    expect(server.statusCode).toBe(200);
    expect(server.headers).not.toHaveProperty('access-control-allow-origin');
    expect(JSON.parse(String(server.body))).toMatchObject({ campaignId: 'demo', redirectUrl: expect.stringMatching(/^https:\/\/www\.digistore24\.com\/redir\/123456\/aff\/\?cid=[0-9A-Z]{30}$/), bot: false });
    const missing = await t.handler(clickEvent('nope', 'format=json', { origin: 'https://lp.example.com' }));
    expect(missing.statusCode).toBe(404);
    expect(missing.headers?.['access-control-allow-origin']).toBe('https://lp.example.com');
    expect(JSON.parse(String(missing.body))).toEqual({ error: 'Unknown campaign: "nope" is not a campaign of this tracker' });
  });
});

describe('bots, HEAD requests and prefetches', () => {
  it('stores a bot click flagged (one write), redirects it as usual, and says bot: true in JSON', async () => {
    const t = await setup();
    const preview = await t.handler(clickEvent('funnel', 'sub1=x', { 'user-agent': FACEBOOK_PREVIEW_UA }));
    expect(preview.statusCode).toBe(302);
    const json = await t.handler(clickEvent('demo', 'format=json', { 'user-agent': 'curl/8.5.0' }));
    expect(JSON.parse(String(json.body)).bot).toBe(true);
    expect(t.calls).toEqual(['PutItemCommand', 'PutItemCommand']);
    expect((await t.stored()).map((c) => [c.campaignId, c.bot, c.botReason]).sort()).toEqual([
      ['demo', true, 'user_agent'],
      ['funnel', true, 'user_agent'],
    ]);
  });

  it('sends bots to the campaign\'s botUrl when it has one (people still go to the lander)', async () => {
    const t = await setup();
    const bot = await t.handler(clickEvent('cloaked', '', { 'user-agent': FACEBOOK_PREVIEW_UA }));
    expect(bot.headers?.location).toBe('https://safe.example.org/about?c=cloaked');
    const person = await t.handler(clickEvent('cloaked', '', { 'user-agent': DESKTOP_UA }));
    expect(String(person.headers?.location)).toMatch(/^https:\/\/lp\.example\.com\/bridge\?clickid=/);
  });

  it('answers HEAD like GET without a body and stores it as a bot', async () => {
    const t = await setup();
    const head = await t.handler(clickEvent('demo', '', {}, 'HEAD'));
    expect(head.statusCode).toBe(302);
    expect(head.body).toBe('');
    expect(head.headers?.location).toMatch(/cid=/);
    expect((await t.stored()).map((c) => c.botReason)).toEqual(['head']);
  });

  it('answers a prefetch 503 no-store and records nothing, redirect or JSON', async () => {
    const t = await setup();
    for (const query of ['', 'format=json']) {
      const answer = await t.handler(clickEvent('funnel', query, { 'sec-purpose': 'prefetch;prerender', origin: 'https://lp.example.com' }));
      expect(answer.statusCode).toBe(503);
      expect(answer.headers?.['cache-control']).toBe('no-store');
      expect(answer.headers).not.toHaveProperty('location');
    }
    expect(t.calls).toEqual([]);
  });
});
