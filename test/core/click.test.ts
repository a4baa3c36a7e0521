import { buildClick, offerLocation } from '../../lambda/core/click';
import { compileConfig, pickOffer } from '../../lambda/core/tracker-config';
import { DESKTOP_UA } from '../support/browser';
import { testConfig } from '../support/config';

const config = compileConfig(testConfig());
const request = (query: string) => ({ method: 'GET', path: '/click/split', query, body: '', headers: {} });
const now = new Date('2026-11-25T10:00:00.000Z');

describe('offer choice', () => {
  it('follows the weights', () => {
    const split = config.campaigns.get('split');
    if (!split) throw new Error('no split campaign');
    const picks = { ds24: 0, lp: 0 };
    for (let i = 0; i < 1000; i++) picks[pickOffer(split, i / 1000).id as 'ds24' | 'lp']++;
    expect(picks).toEqual({ ds24: 750, lp: 250 });
  });
});

describe('buildClick', () => {
  it('records subs, channel click id, country, truncated IP and TTL (and no cost: split does not opt in)', () => {
    const click = buildClick(
      {
        campaignId: 'split',
        request: request('sub1=adset%201&sub20=z&gclid=G-123&cost=0.050&other=x'),
        userAgent: DESKTOP_UA,
        referer: 'https://news.example/',
        country: 'de',
        ip: '203.0.113.77',
        now,
      },
      { config, random: () => 0, newId: () => '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7' },
    );
    expect(click).toEqual({
      clickId: '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7',
      campaignId: 'split',
      offerId: 'ds24',
      channelId: 'google',
      createdAt: '2026-11-25T10:00:00.000Z',
      expiresAt: Math.floor(now.getTime() / 1000) + 30 * 86400,
      subs: { sub1: 'adset 1', sub20: 'z' },
      channelClickId: 'G-123',
      userAgent: DESKTOP_UA,
      referer: 'https://news.example/',
      country: 'DE',
      ip: '203.0.113.0',
    });
  });

  it('takes the URL cost only for a campaign that opts in, capped at its max', () => {
    const cost = (campaignId: string, value: string) =>
      buildClick({ campaignId, request: request(`cost=${encodeURIComponent(value)}`), now }, { config, random: () => 0 })?.cost;
    // demo: cost: { fromUrl: true, max: '2.00' }
    expect(cost('demo', '0.050')).toBe('0.05');
    expect(cost('demo', '2.00')).toBe('2');
    expect(cost('demo', '999999999')).toBe('2');
    expect(cost('demo', '-1')).toBeUndefined();
    // split has no cost opt-in: whatever the URL says is ignored.
    expect(cost('split', '0.05')).toBeUndefined();
    expect(cost('split', '999999999')).toBeUndefined();
  });

  it('bounds lengths, strips control characters and drops a cost that is not a decimal', () => {
    const click = buildClick(
      { campaignId: 'demo', request: request(`sub1=${'a'.repeat(5000)}&sub2=%0Aevil%0D&cost=1e9&fbclid=${'f'.repeat(600)}`), userAgent: 'u'.repeat(2000), now },
      { config },
    );
    expect(click?.subs.sub1).toHaveLength(255);
    expect(click?.subs.sub2).toBe('evil');
    expect(click?.cost).toBeUndefined();
    expect(click?.channelClickId).toHaveLength(512);
    expect(click?.userAgent).toHaveLength(512);
  });

  it('stores no IP when the config says none', () => {
    const none = compileConfig(testConfig({ ipStorage: 'none' }));
    expect(buildClick({ campaignId: 'demo', request: request(''), ip: '203.0.113.77', now }, { config: none })?.ip).toBeUndefined();
  });
});

describe('offerLocation', () => {
  it('fills clickid, campaignid and subs URL-encoded, and nothing else', () => {
    const click = {
      clickId: 'CID',
      campaignId: 'split',
      offerId: 'lp',
      channelId: 'google',
      createdAt: '',
      expiresAt: 0,
      subs: { sub1: 'a b&c=d/"<x>' },
    };
    expect(offerLocation('https://shop.example.com/lp?c={clickid}&camp={campaignid}&s1={sub1}&s20={sub20}&k={keep}', click)).toBe(
      'https://shop.example.com/lp?c=CID&camp=split&s1=a%20b%26c%3Dd%2F%22%3Cx%3E&s20=&k={keep}',
    );
  });
});
