/** The silent-breakage alarm's monthly cost model (bench/silence-cost.ts): what it counts and how it scales. */
import { SILENCE_COST_ASSUMPTIONS, silenceMonthlyCost } from '../../bench/silence-cost';

describe('silence alarm cost', () => {
  it('costs nothing when no campaign has it on (nothing is deployed)', () => {
    expect(silenceMonthlyCost(0)).toEqual({ items: [], monthly: 0, perMillionClicks: 0 });
  });

  it('is an alarm and a metric per campaign plus the check\'s own, and cents of runs and reads', () => {
    const one = silenceMonthlyCost(1);
    const by = Object.fromEntries(one.items.map((i) => [i.item, i.monthly]));
    expect(by['CloudWatch alarms']).toBe(0.2);
    expect(by['custom metrics']).toBe(0.6);
    // 2,880 runs: $0.000576 of requests + 2,880 x 1.5 s x 0.25 GB x $0.0000133334.
    expect(by.Lambda).toBeCloseTo(0.0150, 4);
    expect(by['DynamoDB reads']).toBeCloseTo(2880 * 36 * 0.125e-6, 4);
    const ten = silenceMonthlyCost(10);
    // Each further campaign: $0.40 of alarm and metric, about a cent of reads.
    expect(ten.monthly - one.monthly).toBeGreaterThan(9 * 0.4);
    expect(ten.monthly - one.monthly).toBeLessThan(9 * 0.42);
    expect(SILENCE_COST_ASSUMPTIONS.runsPerMonth).toBe(2880);
    // A click read ~5 times, eventually consistent, 550 B of 4 KB: about 4 cents per million clicks.
    expect(one.perMillionClicks).toBeCloseTo(0.042, 3);
  });
});
