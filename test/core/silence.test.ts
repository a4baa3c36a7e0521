/**
 * The silent-breakage check's decision (core/silence) at its edges: the window is exactly N
 * hours for clicks and arrivals, minClicks is a floor, bots are no clicks, conversions that do
 * not count do not break the silence, a campaign switched off or removed from the config is not
 * checked, and the campaign's own setting is laid over the defaults. The read port here is a
 * list of clicks and arrivals (the DynamoDB path is test/handlers/silence-check.test.ts).
 */
import { parseConfig } from '../../config/schema';
import type { ReportReadRequest } from '../../lambda/core/report-query';
import type { Sink } from '../../lambda/core/report-run';
import { SILENCE_DEFAULT, checkSilence, silenceMessage, silenceRules, type SilencePorts, type SilenceRule } from '../../lambda/core/silence';
import { testConfig } from '../support/config';

const H = 3_600_000;
const NOW = new Date('2026-11-26T12:07:30.000Z');
const at = (msAgo: number) => new Date(NOW.getTime() - msAgo).toISOString();

interface World {
  clicks: { campaignId: string; createdAt: string; bot?: true }[];
  /** Arrivals as the index holds them (test orders are under another key and never reach this port). */
  arrivals: { campaignId: string; createdAt: string; counted: boolean }[];
  /** Clicks given as rollup counters (a closed hour): per campaign and hour. */
  rolled?: { campaignId: string; hour: number; clicks: number; bots: number }[];
}

/** The report's read port over a list: what readReport feeds a sink for [from, to). */
function ports(world: World, requests: ReportReadRequest[] = []): SilencePorts {
  return {
    report: {
      catalog: async () => undefined,
      read: async (request, sinks: Sink[]) => {
        requests.push(request);
        const from = request.from.getTime();
        const to = request.to.getTime();
        for (const c of world.clicks) {
          const t = Date.parse(c.createdAt);
          if (request.campaigns.includes(c.campaignId) && t >= from && t < to) for (const s of sinks) s.addClick({ clickId: 'x', ...c });
        }
        for (const r of world.rolled ?? []) {
          if (request.campaigns.includes(r.campaignId) && r.hour >= from && r.hour + H <= to) {
            for (const s of sinks) s.addRollupClicks({ campaignId: r.campaignId }, r.hour, { clicks: r.clicks, bots: r.bots, lpViews: 0, lpClicks: 0, cost: 0n, costClicks: 0 });
          }
        }
        return { clicks: 0, conversions: 0, tests: 0, stats: { queries: 0, items: 0, capacityUnits: 0 } };
      },
    },
    lastArrival: async (campaignId, since) =>
      world.arrivals
        .filter((a) => a.campaignId === campaignId && a.counted && a.createdAt >= since.toISOString())
        .map((a) => a.createdAt)
        .sort()
        .pop(),
  };
}

const rule = (over: Partial<SilenceRule> = {}): SilenceRule => ({ campaignId: 'demo', name: 'Demo', hours: 6, minClicks: 3, ...over });
const defaults = { defaults: { rollupRetentionDays: 1095, silenceAlarm: { ...SILENCE_DEFAULT } } };
const clicks = (n: number, msAgo: number, extra: { bot?: true; campaignId?: string } = {}) =>
  Array.from({ length: n }, () => ({ campaignId: extra.campaignId ?? 'demo', createdAt: at(msAgo), ...(extra.bot ? { bot: true as const } : {}) }));

async function check(world: World, rules: SilenceRule[] = [rule()]) {
  return (await checkSilence(rules, defaults, ports(world), NOW)).campaigns;
}

describe('silence check', () => {
  it('is silent with minClicks clicks and no conversion in the window, and says what to check', async () => {
    const [s] = await check({ clicks: clicks(3, H), arrivals: [] });
    expect(s).toMatchObject({ campaignId: 'demo', clicks: 3, silent: true, since: at(6 * H), hours: 6, minClicks: 3 });
    expect(s?.message).toBe(silenceMessage({ campaignId: 'demo', clicks: 3, hours: 6 }));
    expect(s?.message).toMatch(/^demo: 3 clicks, no postback for 6 h — check the Digistore24 postback URL/);
  });

  it('is not silent below minClicks (minClicks - 1)', async () => {
    const [s] = await check({ clicks: clicks(2, H), arrivals: [] });
    expect(s).toMatchObject({ clicks: 2, silent: false });
    expect(s?.message).toBeUndefined();
  });

  it('counts clicks made exactly N hours ago, not one millisecond earlier', async () => {
    expect((await check({ clicks: clicks(3, 6 * H), arrivals: [] }))[0]).toMatchObject({ clicks: 3, silent: true });
    expect((await check({ clicks: clicks(3, 6 * H + 1), arrivals: [] }))[0]).toMatchObject({ clicks: 0, silent: false });
  });

  it('a conversion that arrived exactly N hours ago breaks the silence; one a millisecond earlier does not', async () => {
    const exactly = await check({ clicks: clicks(5, H), arrivals: [{ campaignId: 'demo', createdAt: at(6 * H), counted: true }] });
    expect(exactly[0]).toMatchObject({ silent: false, lastConversionAt: at(6 * H) });
    const before = await check({ clicks: clicks(5, H), arrivals: [{ campaignId: 'demo', createdAt: at(6 * H + 1), counted: true }] });
    expect(before[0]).toMatchObject({ silent: true });
  });

  it('goes by arrival: a sale recorded now for a click of days ago breaks the silence', async () => {
    // The click was made 3 days ago (outside the window); the postback arrived a minute ago.
    const [s] = await check({ clicks: [...clicks(5, H), ...clicks(1, 72 * H)], arrivals: [{ campaignId: 'demo', createdAt: at(60_000), counted: true }] });
    expect(s).toMatchObject({ clicks: 5, silent: false, lastConversionAt: at(60_000) });
  });

  it('leaves bots out of the clicks (raw clicks and rollup counters alike)', async () => {
    expect((await check({ clicks: [...clicks(2, H), ...clicks(10, H, { bot: true })], arrivals: [] }))[0]).toMatchObject({ clicks: 2, silent: false });
    const hour = Math.floor(NOW.getTime() / H) * H - 2 * H;
    const rolled = await check({ clicks: [], arrivals: [], rolled: [{ campaignId: 'demo', hour, clicks: 2, bots: 40 }] });
    expect(rolled[0]).toMatchObject({ clicks: 2, silent: false });
    const enough = await check({ clicks: clicks(1, 30 * 60_000), arrivals: [], rolled: [{ campaignId: 'demo', hour, clicks: 2, bots: 40 }] });
    expect(enough[0]).toMatchObject({ clicks: 3, silent: true });
  });

  // (A pixel naming a type that counts is left out by the arrival port: test/handlers/silence-check.test.ts.)
  it('an event that does not count (InitiateCheckout from the order-form pixel) does not break the silence', async () => {
    const [s] = await check({ clicks: clicks(5, H), arrivals: [{ campaignId: 'demo', createdAt: at(60_000), counted: false }] });
    expect(s).toMatchObject({ silent: true });
  });

  it("another campaign's conversion does not break this campaign's silence", async () => {
    const rules = [rule(), rule({ campaignId: 'split', name: 'Split' })];
    const result = await check({ clicks: [...clicks(3, H), ...clicks(3, H, { campaignId: 'split' })], arrivals: [{ campaignId: 'split', createdAt: at(H), counted: true }] }, rules);
    expect(result.map((s) => [s.campaignId, s.silent])).toEqual([
      ['demo', true],
      ['split', false],
    ]);
  });

  it('reads campaigns with the same window together, and each window once', async () => {
    const requests: ReportReadRequest[] = [];
    const rules = [rule(), rule({ campaignId: 'split' }), rule({ campaignId: 'funnel', hours: 24 })];
    await checkSilence(rules, defaults, ports({ clicks: [], arrivals: [] }, requests), NOW);
    expect(requests.map((r) => [r.campaigns, r.from.toISOString(), r.to.toISOString(), r.includeTests, r.includeUnattributed])).toEqual([
      [['demo', 'split'], at(6 * H), NOW.toISOString(), false, false],
      [['funnel'], at(24 * H), NOW.toISOString(), false, false],
    ]);
    expect(await checkSilence([], defaults, ports({ clicks: [], arrivals: [] }, requests), NOW)).toEqual({ checkedAt: NOW.toISOString(), campaigns: [] });
    expect(requests).toHaveLength(2);
  });
});

describe('silence rules from the config', () => {
  const withCampaigns = (defaultsSilence: unknown, own: Record<string, unknown>) => {
    const base = testConfig();
    return parseConfig({
      ...base,
      defaults: { ...base.defaults, ...(defaultsSilence === undefined ? {} : { silenceAlarm: defaultsSilence }) },
      campaigns: base.campaigns.map((c) => (own[c.id] === undefined ? c : { ...c, silenceAlarm: own[c.id] })),
    });
  };

  it('is on by default for every campaign: 6 hours, 500 clicks', () => {
    expect(SILENCE_DEFAULT).toEqual({ hours: 6, minClicks: 500 });
    expect(silenceRules(testConfig())).toEqual([
      { campaignId: 'demo', name: 'Demo', hours: 6, minClicks: 500 },
      { campaignId: 'split', name: 'Split', hours: 6, minClicks: 500 },
    ]);
  });

  it('a campaign with the alarm off has no rule; its own values are laid over the defaults', () => {
    const config = withCampaigns({ hours: 12, minClicks: 200 }, { demo: false, split: { minClicks: 50 } });
    expect(silenceRules(config)).toEqual([{ campaignId: 'split', name: 'Split', hours: 12, minClicks: 50 }]);
  });

  it('defaults off: only campaigns that switch it on, with the built-in values for what they leave out', () => {
    const config = withCampaigns(false, { demo: true, split: { hours: 2 } });
    expect(silenceRules(config)).toEqual([
      { campaignId: 'demo', name: 'Demo', hours: 6, minClicks: 500 },
      { campaignId: 'split', name: 'Split', hours: 2, minClicks: 500 },
    ]);
    expect(silenceRules(withCampaigns(false, {}))).toEqual([]);
  });

  it('a campaign removed from the config is not checked, whatever data it left', async () => {
    const config = withCampaigns({ hours: 6, minClicks: 1 }, {});
    const rules = silenceRules(config);
    expect(rules.map((r) => r.campaignId)).toEqual(['demo', 'split']);
    // "gone" still has clicks in the store and no sale: no rule, no status, no alarm.
    const result = await check({ clicks: [...clicks(50, H, { campaignId: 'gone' }), ...clicks(1, H)], arrivals: [] }, rules);
    expect(result.map((s) => [s.campaignId, s.silent])).toEqual([
      ['demo', true],
      ['split', false],
    ]);
  });
});
