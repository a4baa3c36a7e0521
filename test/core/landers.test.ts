/**
 * Landers, direct tracking and bots in the core: which lander a click records, where it sends
 * the visitor, what a JSON click keeps, which requests are bots or prefetches.
 */
import { botVerdict, isPrefetch } from '../../lambda/core/bots';
import { buildClick, clickTarget, fillUrl, handleClick, type ClickDeps } from '../../lambda/core/click';
import { DynamoClickStore } from '../../lambda/adapters/dynamodb-store';
import type { ClickRecord } from '../../lambda/core/model';
import { logger } from '../../lambda/logger';
import { compileConfig, landerOfPage, landerOrigin, landerPagePattern, pickLander } from '../../lambda/core/tracker-config';
import { DESKTOP_UA, FACEBOOK_PREVIEW_UA } from '../support/browser';
import { funnelConfig } from '../support/config';
import { freshTables, scanAll } from '../support/dynamo';

const config = compileConfig(funnelConfig());
const funnel = config.campaigns.get('funnel');
if (!funnel) throw new Error('funnelConfig has no funnel campaign');
const now = new Date('2026-11-25T10:00:00.000Z');
const request = (campaign: string, query = '', method = 'GET') => ({ method, path: `/click/${campaign}`, query, body: '', headers: {} });
const build = (campaign: string, query = '', extra: Partial<Parameters<typeof buildClick>[0]> = {}, random = 0) =>
  buildClick({ campaignId: campaign, request: request(campaign, query), userAgent: DESKTOP_UA, now, ...extra }, { config, random: () => random });

describe('lander choice', () => {
  it('follows the landers\' weights', () => {
    const picks: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const id = pickLander(funnel, i / 1000)?.id ?? 'none';
      picks[id] = (picks[id] ?? 0) + 1;
    }
    expect(picks).toEqual({ bridge: 750, quiz: 250 });
    const demo = config.campaigns.get('demo');
    expect(demo?.landers).toEqual([]);
    if (demo) expect(pickLander(demo, 0.5)).toBeUndefined();
  });

  it('knows a lander\'s pages by origin and path (macros in the path match one segment), whatever the query', () => {
    expect(landerPagePattern('https://lp.example.com/bridge?clickid={clickid}').test('https://lp.example.com/bridge')).toBe(true);
    expect(landerOfPage(funnel, 'https://lp.example.com/bridge?fbclid=x&utm_source=fb')?.id).toBe('bridge');
    expect(landerOfPage(funnel, 'https://LP.example.com/bridge/')?.id).toBe('bridge');
    expect(landerOfPage(funnel, 'https://quiz.example.net/q/summer-sale/start')?.id).toBe('quiz');
    expect(landerOfPage(funnel, 'https://quiz.example.net/q/a/b/start')).toBeUndefined();
    expect(landerOfPage(funnel, 'https://lp.example.com/bridge2')).toBeUndefined();
    expect(landerOfPage(funnel, 'http://lp.example.com/bridge')).toBeUndefined();
    expect(landerOfPage(funnel, 'not a url')).toBeUndefined();
    expect(landerOrigin('https://quiz.example.net/q/{sub2}/start?cid={clickid}')).toBe('https://quiz.example.net');
  });

  it('allows the JSON click from every lander\'s origin and the corsOrigins, and from nothing else', () => {
    expect([...config.corsOrigins].sort()).toEqual(['https://lp.example.com', 'https://pages.example.org', 'https://quiz.example.net']);
  });
});

describe('a click on a campaign with landers', () => {
  it('records the lander picked by weight and no offer (the offer is chosen at /go); it goes to the lander with its macros filled', () => {
    const click = build('funnel', 'sub1=adset%201&sub2=spring', {}, 0.9) as ClickRecord;
    expect(click).toMatchObject({ campaignId: 'funnel', landerId: 'quiz', subs: { sub1: 'adset 1', sub2: 'spring' } });
    expect(click.offerId).toBeUndefined();
    expect(click.bot).toBeUndefined();
    expect(fillUrl(clickTarget(config, click), click)).toBe(`https://quiz.example.net/q/spring/start?cid=${click.clickId}`);
    const bridge = build('funnel', 'sub1=a%26b', {}, 0) as ClickRecord;
    expect(bridge.landerId).toBe('bridge');
    expect(fillUrl(clickTarget(config, bridge), bridge)).toBe(`https://lp.example.com/bridge?clickid=${bridge.clickId}&s1=a%26b`);
  });

  it('still picks an offer by weight on a campaign without landers', () => {
    const click = build('split', '', {}, 0.99) as ClickRecord;
    expect(click.offerId).toBe('lp');
    expect(click.landerId).toBeUndefined();
  });
});

describe('a direct visit (format=json from t.js)', () => {
  const json = (query: string, extra: Partial<Parameters<typeof buildClick>[0]> = {}) => build('funnel', `format=json&${query}`, { referer: 'https://lp.example.com/', ...extra });

  it('records the lander the visitor is on, the page without its query, the visitor\'s own referrer and Meta\'s cookies', () => {
    const click = json(
      `sub1=ad7&fbclid=FBCLID1&page=${encodeURIComponent('https://lp.example.com/bridge?fbclid=FBCLID1&sub1=ad7')}` +
        `&ref=${encodeURIComponent('https://m.facebook.com/')}&_fbp=fb.1.1764064800000.1234567890&_fbc=fb.1.1764064800000.FBCLID1`,
    ) as ClickRecord;
    expect(click).toMatchObject({
      landerId: 'bridge',
      page: 'https://lp.example.com/bridge',
      referer: 'https://m.facebook.com/',
      fbp: 'fb.1.1764064800000.1234567890',
      fbc: 'fb.1.1764064800000.FBCLID1',
      channelClickId: 'FBCLID1',
      subs: { sub1: 'ad7' },
    });
    expect(click.offerId).toBeUndefined();
  });

  it('records no lander for a page that is none of the campaign\'s (the redirect\'s lander stands in for redirectUrl)', () => {
    const click = json(`page=${encodeURIComponent('https://pages.example.org/other')}`) as ClickRecord;
    expect(click.landerId).toBeUndefined();
    expect(click.page).toBe('https://pages.example.org/other');
    expect(clickTarget(config, click, () => 0)).toBe('https://lp.example.com/bridge?clickid={clickid}&s1={sub1}');
  });

  it('takes the page from the Referer header when t.js sent none, and drops what is not an http(s) URL or a Meta cookie', () => {
    expect((json('') as ClickRecord).page).toBe('https://lp.example.com/');
    const odd = json(`page=${encodeURIComponent('javascript:alert(1)')}&_fbp=%3Cscript%3E&_fbc=fb.1.x.y&ref=%0A%0D`, { referer: undefined }) as ClickRecord;
    expect(odd.page).toBeUndefined();
    expect(odd.fbp).toBeUndefined();
    expect(odd.fbc).toBeUndefined();
    expect(odd.referer).toBeUndefined();
    const long = json(`page=${encodeURIComponent(`https://lp.example.com/${'p'.repeat(5000)}`)}&_fbc=fb.1.1.${'f'.repeat(600)}`) as ClickRecord;
    expect(long.page).toHaveLength(512);
    expect(long.fbc).toBeUndefined();
  });

  it('keeps page, ref and Meta cookies only on the JSON click', () => {
    const click = build('funnel', `page=${encodeURIComponent('https://lp.example.com/bridge')}&_fbp=fb.1.1.2&ref=x`, { referer: 'https://m.facebook.com/' }) as ClickRecord;
    expect(click.page).toBeUndefined();
    expect(click.fbp).toBeUndefined();
    expect(click.referer).toBe('https://m.facebook.com/');
  });
});

describe('bots', () => {
  it('flags known bots by user agent and every HEAD request, never a person for lacking a user agent', () => {
    expect(botVerdict('GET', FACEBOOK_PREVIEW_UA)).toEqual({ bot: true, reason: 'user_agent' });
    expect(botVerdict('GET', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36')).toEqual({ bot: true, reason: 'user_agent' });
    expect(botVerdict('GET', 'curl/8.5.0')).toEqual({ bot: true, reason: 'user_agent' });
    expect(botVerdict('HEAD', DESKTOP_UA)).toEqual({ bot: true, reason: 'head' });
    expect(botVerdict('GET', DESKTOP_UA)).toBeUndefined();
    expect(botVerdict('GET', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/489.0]')).toBeUndefined();
    expect(botVerdict('GET', undefined)).toBeUndefined();
    expect(botVerdict('GET', '   ')).toBeUndefined();
  });

  it('recognises a prefetch by Sec-Purpose (prefetch, prefetch;prerender), nothing else', () => {
    expect(isPrefetch('prefetch')).toBe(true);
    expect(isPrefetch('prefetch;prerender')).toBe(true);
    expect(isPrefetch(' Prefetch ; anonymous-client-ip')).toBe(true);
    expect(isPrefetch(undefined)).toBe(false);
    expect(isPrefetch('prefetcher')).toBe(false);
    expect(isPrefetch('navigate')).toBe(false);
  });

  it('stores a bot flagged with its reason, still sent to the lander or offer unless the campaign has a botUrl', () => {
    const bot = build('funnel', 'sub1=x', { userAgent: FACEBOOK_PREVIEW_UA }) as ClickRecord;
    expect(bot).toMatchObject({ bot: true, botReason: 'user_agent', landerId: 'bridge' });
    expect(clickTarget(config, bot)).toBe('https://lp.example.com/bridge?clickid={clickid}&s1={sub1}');
    const head = buildClick({ campaignId: 'demo', request: request('demo', '', 'HEAD'), userAgent: DESKTOP_UA, now }, { config }) as ClickRecord;
    expect(head).toMatchObject({ bot: true, botReason: 'head', offerId: 'ds24' });
    const cloaked = build('cloaked', '', { userAgent: FACEBOOK_PREVIEW_UA }) as ClickRecord;
    expect(cloaked).toMatchObject({ bot: true, botReason: 'user_agent' });
    expect(cloaked.landerId).toBeUndefined();
    expect(cloaked.offerId).toBeUndefined();
    expect(fillUrl(clickTarget(config, cloaked), cloaked)).toBe('https://safe.example.org/about?c=cloaked');
    // A person on the same campaign goes to the lander.
    expect(clickTarget(config, build('cloaked') as ClickRecord)).toBe('https://lp.example.com/bridge?clickid={clickid}&s1={sub1}');
  });
});

describe('handleClick (on a real DynamoDB API)', () => {
  const deps = async (): Promise<ClickDeps & { stored: () => Promise<unknown[]> }> => {
    const { client, tables } = await freshTables();
    return {
      config,
      clicks: new DynamoClickStore(client, tables.clicks),
      deadLetters: () => {
        throw new Error('nothing should be queued here');
      },
      log: logger,
      stored: () => scanAll(client, tables.clicks),
    };
  };
  const input = (campaignId: string, query: string, extra: Partial<Parameters<typeof handleClick>[0]> = {}) => ({ campaignId, request: request(campaignId, query), userAgent: DESKTOP_UA, now, ...extra });

  it('answers a prefetch without writing anything, before anything else', async () => {
    const d = await deps();
    expect(await handleClick(input('funnel', '', { purpose: 'prefetch' }), d)).toEqual({ kind: 'prefetch' });
    expect(await handleClick(input('nope', '', { purpose: 'prefetch;prerender' }), d)).toEqual({ kind: 'prefetch' });
    expect(await d.stored()).toEqual([]);
  });

  it('allows a JSON click from a lander\'s origin or corsOrigins, refuses other pages without writing, and lets servers (no Origin) call it', async () => {
    const d = await deps();
    expect(await handleClick(input('funnel', 'format=json', { origin: 'https://quiz.example.net' }), d)).toMatchObject({ kind: 'redirect', json: true, allowOrigin: 'https://quiz.example.net' });
    expect(await handleClick(input('funnel', 'format=json', { origin: 'https://pages.example.org' }), d)).toMatchObject({ kind: 'redirect', allowOrigin: 'https://pages.example.org' });
    expect(await handleClick(input('funnel', 'format=json', { origin: 'https://evil.example' }), d)).toEqual({ kind: 'origin_refused', origin: 'https://evil.example', json: true });
    expect(await handleClick(input('funnel', 'format=json', { origin: 'null' }), d)).toMatchObject({ kind: 'origin_refused' });
    expect(await handleClick(input('funnel', 'format=json', { origin: 'https://lp.example.com.evil.example' }), d)).toMatchObject({ kind: 'origin_refused' });
    const server = await handleClick(input('funnel', 'format=json'), d);
    expect(server).toMatchObject({ kind: 'redirect', json: true });
    expect(server).not.toHaveProperty('allowOrigin');
    // The redirect (no format=json) does not care about Origin.
    expect(await handleClick(input('funnel', '', { origin: 'https://evil.example' }), d)).toMatchObject({ kind: 'redirect' });
    expect(await d.stored()).toHaveLength(4);
  });

  it('answers an unknown campaign with 404 data and the CORS it would have had', async () => {
    expect(await handleClick(input('nope', 'format=json', { origin: 'https://lp.example.com' }), await deps())).toEqual({
      kind: 'not_found',
      message: 'Unknown campaign',
      json: true,
      allowOrigin: 'https://lp.example.com',
    });
  });
});
