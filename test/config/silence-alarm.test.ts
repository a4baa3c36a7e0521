/** config: defaults.silenceAlarm and campaigns[].silenceAlarm — shapes, ranges and the errors a user sees. */
import { ConfigError, parseConfig } from '../../config/schema';
import { testConfig } from '../support/config';

function problems(defaultsSilence: unknown, campaignSilence?: unknown): string[] {
  const base = testConfig();
  try {
    parseConfig({
      ...base,
      defaults: { ...base.defaults, ...(defaultsSilence === undefined ? {} : { silenceAlarm: defaultsSilence }) },
      campaigns: base.campaigns.map((c, i) => (i === 1 && campaignSilence !== undefined ? { ...c, silenceAlarm: campaignSilence } : c)),
    });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const SHAPE = 'silenceAlarm is false, true, or { hours, minClicks } (whole numbers: hours 1..168, minClicks 1..10000000)';

describe('silenceAlarm config', () => {
  it('is on by default (6 hours, 500 clicks); an object may leave either value out', () => {
    expect(testConfig().defaults.silenceAlarm).toEqual({ hours: 6, minClicks: 500 });
    const base = testConfig();
    const { silenceAlarm: _left, ...rest } = base.defaults;
    expect(parseConfig({ ...base, defaults: rest }).defaults.silenceAlarm).toEqual({ hours: 6, minClicks: 500 });
    expect(parseConfig({ ...base, defaults: undefined }).defaults.silenceAlarm).toEqual({ hours: 6, minClicks: 500 });
    expect(parseConfig({ ...base, defaults: { ...rest, silenceAlarm: { hours: 12 } } }).defaults.silenceAlarm).toEqual({ hours: 12, minClicks: 500 });
    expect(problems(false)).toEqual([]);
    expect(problems({ hours: 1, minClicks: 1 }, false)).toEqual([]);
    expect(problems(undefined, true)).toEqual([]);
    expect(problems(undefined, { hours: 168 })).toEqual([]);
    expect(problems(undefined, {})).toEqual([]);
  });

  it('refuses hours outside 1..168 and minClicks below 1, naming the path', () => {
    expect(problems({ hours: 0, minClicks: 10 })).toEqual(['defaults.silenceAlarm.hours: hours must be at least 1']);
    expect(problems({ hours: 169, minClicks: 10 })).toEqual(['defaults.silenceAlarm.hours: hours must be at most 168 (a week)']);
    expect(problems({ hours: 1.5, minClicks: 10 })).toEqual(['defaults.silenceAlarm.hours: hours must be a whole number of hours from 1 to 168']);
    expect(problems(undefined, { minClicks: 0 })).toEqual(['campaigns[1].silenceAlarm.minClicks: minClicks must be at least 1']);
    expect(problems(undefined, { minClicks: 2.5 })).toEqual(['campaigns[1].silenceAlarm.minClicks: minClicks must be a whole number from 1 to 10000000']);
    // A value of another type fails the union: its message names the shape and the ranges.
    expect(problems(undefined, { hours: '6' })).toEqual([`campaigns[1].silenceAlarm: ${SHAPE}`]);
  });

  it('refuses other shapes and unknown keys', () => {
    expect(problems(true)).toEqual([`defaults.silenceAlarm: ${SHAPE}`]);
    expect(problems(undefined, 'off')).toEqual([`campaigns[1].silenceAlarm: ${SHAPE}`]);
    expect(problems(undefined, { hours: 6, clicks: 10 }).join('\n')).toMatch(/campaigns\[1\]\.silenceAlarm/);
  });
});
