/**
 * The silent-breakage check (README, "Silent breakage alarm"): a campaign that keeps getting
 * clicks while no sale arrives for hours usually means a broken Digistore24 postback URL (edited,
 * wrong key, the product's IPN switched off) — clicks keep costing money and nothing says so.
 *
 * A campaign is *silent* at `now` when, for its rule `{ hours: N, minClicks: M }`:
 * - at least M clicks of people (bots left out) were made in [now − N h, now), and
 * - no conversion that counts (its type's `countsAsConversion`; test orders left out) attributed
 *   to the campaign ARRIVED server to server (recorded from a postback or an IPN) in
 *   [now − N h, now].
 * What matters is arrival, not the click's time: a sale recorded now for a click of last week
 * still proves the postback works. Pixels do not (the order-form pixel's InitiateCheckout, or any
 * type sent as a pixel): they come from the buyer's browser — anyone holding a click id can send
 * one — and keep coming when exactly the server-to-server postback is broken.
 *
 * Pure: the clicks are read through the report's read port (rollups for closed hours, raw for the
 * rest, so a campaign's hours cost a few reads), the last arrival through its own port. Nothing
 * here is on the click path: a schedule runs it (lambda/handlers/silence-check.ts, every 15
 * minutes in AWS; a timer under `npm start`), and the dashboard's `GET /api/alerts` asks it too.
 */
import type { ReportPorts } from './report-query';
import type { Sink } from './report-run';
import { rollupEras } from './rollup-upkeep';

/** On by default: 6 hours and 500 clicks (at a 1 % conversion rate a healthy campaign has a ~0.7 % chance of 500 clicks without a sale). */
export const SILENCE_DEFAULT = { hours: 6, minClicks: 500 } as const;

const HOUR_MS = 3_600_000;

/** What the check takes from the config (a validated TrackerConfig fits). */
export interface SilenceConfig {
  defaults: { rollupRetentionDays: number; silenceAlarm: false | { hours: number; minClicks: number } };
  campaigns: readonly { id: string; name: string; silenceAlarm?: boolean | { hours?: number; minClicks?: number } }[];
}

/** One campaign's rule, after the campaign's own setting was laid over the defaults. */
export interface SilenceRule {
  campaignId: string;
  name: string;
  hours: number;
  minClicks: number;
}

/**
 * The rules of the campaigns whose alarm is on, in config order. A campaign's `false` switches
 * it off; `true` or an object switches it on even where `defaults.silenceAlarm` is `false`,
 * taking what it leaves out from the defaults (or the built-in SILENCE_DEFAULT). Campaigns no
 * longer in the config have no rule: they get no clicks (their click URL answers 404).
 */
export function silenceRules(config: SilenceConfig): SilenceRule[] {
  const base = config.defaults.silenceAlarm;
  const rules: SilenceRule[] = [];
  for (const c of config.campaigns) {
    const own = c.silenceAlarm;
    if (own === false || (own === undefined && base === false)) continue;
    const from = base === false ? SILENCE_DEFAULT : base;
    const o = typeof own === 'object' ? own : {};
    rules.push({ campaignId: c.id, name: c.name, hours: o.hours ?? from.hours, minClicks: o.minClicks ?? from.minClicks });
  }
  return rules;
}

export interface SilencePorts {
  /** The report's read port: the campaigns' clicks, from rollups where they answer. */
  report: Pick<ReportPorts, 'catalog' | 'read'>;
  /**
   * When the newest conversion of `campaignId` that counts and came by postback or IPN (not a
   * pixel, not a test order) arrived, if one arrived at or after `since`; undefined when none did.
   */
  lastArrival(campaignId: string, since: Date): Promise<string | undefined>;
}

export interface SilenceStatus {
  campaignId: string;
  name: string;
  hours: number;
  minClicks: number;
  /** Clicks of people in [since, checkedAt). */
  clicks: number;
  /** The window's start (checkedAt − hours). */
  since: string;
  /** The newest conversion that counts in the window (absent: none, or not asked because clicks < minClicks). */
  lastConversionAt?: string;
  silent: boolean;
  /** What the dashboard and the log line say about a silent campaign. */
  message?: string;
}

export interface SilenceReport {
  checkedAt: string;
  /** One entry per campaign whose alarm is on, in config order. */
  campaigns: SilenceStatus[];
}

/** The warning a silent campaign gets (dashboard, log line). */
export function silenceMessage(s: Pick<SilenceStatus, 'campaignId' | 'clicks' | 'hours'>): string {
  return `${s.campaignId}: ${s.clicks} click${s.clicks === 1 ? '' : 's'}, no postback for ${s.hours} h — check the Digistore24 postback URL (npm run urls) and the campaign's offer link`;
}

/** Counts clicks of people per campaign from the report's reads; conversions and spend are not its business. */
class ClickCounter implements Sink {
  readonly counts = new Map<string, number>();
  private add(campaignId: string | undefined, n: number): void {
    if (campaignId !== undefined && n > 0) this.counts.set(campaignId, (this.counts.get(campaignId) ?? 0) + n);
  }
  addClick(click: { campaignId: string; bot?: true }): void {
    if (click.bot !== true) this.add(click.campaignId, 1);
  }
  addRollupClicks(source: { campaignId?: string }, _hour: number, counters: { clicks: number }): void {
    this.add(source.campaignId, counters.clicks);
  }
  addConversion(): void {}
  addRollupConversions(): void {}
  addSpend(): void {}
}

/**
 * Checks every rule at `now`. Campaigns with the same window are read together (one report
 * read); the arrival index is asked only for campaigns that reached minClicks. `deadline` (epoch
 * ms) bounds the raw reads (the report's limits).
 */
export async function checkSilence(rules: readonly SilenceRule[], config: Pick<SilenceConfig, 'defaults'>, ports: SilencePorts, now: Date, deadline?: number): Promise<SilenceReport> {
  const counts = new Map<string, number>();
  if (rules.length > 0) {
    const catalog = await ports.report.catalog();
    const rollupRetention = rollupEras(catalog?.rollupRetention ?? [], config.defaults.rollupRetentionDays);
    const byHours = new Map<number, string[]>();
    for (const r of rules) byHours.set(r.hours, [...(byHours.get(r.hours) ?? []), r.campaignId]);
    for (const [hours, campaigns] of byHours) {
      const from = new Date(now.getTime() - hours * HOUR_MS);
      const counter = new ClickCounter();
      await ports.report.read(
        {
          campaigns,
          from,
          to: now,
          fromDay: from.toISOString().slice(0, 10),
          toDay: now.toISOString().slice(0, 10),
          timeZone: 'UTC',
          groupings: [['campaign']],
          filter: {},
          source: 'auto',
          includeUnattributed: false,
          includeTests: false,
          rollupRetention,
          now,
          ...(deadline !== undefined ? { limits: { deadline } } : {}),
        },
        [counter],
      );
      for (const c of campaigns) counts.set(c, counter.counts.get(c) ?? 0);
    }
  }
  const statuses: SilenceStatus[] = [];
  for (const r of rules) {
    const since = new Date(now.getTime() - r.hours * HOUR_MS);
    const clicks = counts.get(r.campaignId) ?? 0;
    const base = { campaignId: r.campaignId, name: r.name, hours: r.hours, minClicks: r.minClicks, clicks, since: since.toISOString() };
    if (clicks < r.minClicks) {
      statuses.push({ ...base, silent: false });
      continue;
    }
    const last = await ports.lastArrival(r.campaignId, since);
    if (last !== undefined) statuses.push({ ...base, lastConversionAt: last, silent: false });
    else statuses.push({ ...base, silent: true, message: silenceMessage(base) });
  }
  return { checkedAt: now.toISOString(), campaigns: statuses };
}
