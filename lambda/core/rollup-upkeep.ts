/**
 * The rollup upkeep: one run brings rollups up to date, as far as its deadline allows. The same
 * code runs on the AWS schedule, on the local server's timer and under `npm run rollups`.
 *
 * One run holds a lease (a conditional write on the state item), so runs never overlap; within
 * it, in this order:
 * 1. Close hours: for every hour that ended CLOSE_AFTER_MS ago and is not closed yet, the click
 *    part of every campaign, from the clicks made in that hour. Hours whose clicks may have
 *    expired are never computed (TTL must not subtract). A tracker's first run starts with the
 *    oldest hour whose clicks are surely all kept, so older data is rolled up too.
 * 2. Click marks: hours whose clicks changed after they were closed, recomputed.
 * 3. Sweep conversions: every conversion that arrived between the last cut and a new one (now
 *    minus SWEEP_MARGIN_MS) names the hour of its click; each such hour's conversion part is
 *    recomputed from all of that hour's conversions that arrived before the new cut (and the
 *    hours of conversion marks too). Then the cut moves.
 * Every part is recomputed from raw data and overwritten: a run repeated, or cut short and run
 * again, writes the same items. The state only moves forward after the work it stands for.
 */
import { markSortKey, CLOSE_AFTER_MS, MARK_SETTLE_MS, SWEEP_MARGIN_MS, type RollupMark, type RollupState } from './rollup-marks';
import { campaignCode } from './ids';
import { TEST_CAMPAIGN_PREFIX, UNATTRIBUTED_CLICK_ID, type Log } from './model';
import { expiredSpans, isPartial, type ClickCoverage, type RetentionEra, type ReportClick, type ReportConversion, type Span } from './report';
import {
  HOUR_MS,
  MAIN_DIMENSIONS,
  ROLLUP_DIMENSIONS,
  SUB_DIMENSIONS,
  clickPart,
  clicksByHour,
  conversionHour,
  conversionPart,
  hourOf,
  isEmptyPart,
  type ClickGroup,
  type ClickPart,
  type ConversionPart,
} from './rollups';

const DAY_MS = 86400_000;
/** Conversions are swept this often (the conversions since are read raw by reports). */
export const SWEEP_EVERY_MS = 60 * 60_000;
/** One sweep takes in at most this much arrival time (a first run catching up goes in steps). */
export const MAX_SWEEP_SPAN_MS = DAY_MS;
/** One close reads at most this many hours of a campaign's clicks at once (and never past a UTC midnight: one day item each). */
export const CLOSE_BATCH_HOURS = 24;
/** Clicks are not rolled up this close to the time they may expire (a run that starts late still finds them all). */
export const FREEZE_MARGIN_MS = DAY_MS;

export interface UpkeepStore {
  /**
   * Takes the lease until `until` when nobody holds it (or it has run out): the state as stored
   * (undefined before the first run), or `held` with the time another run holds it until.
   */
  acquire(owner: string, now: number, until: number): Promise<{ held: false; state: RollupState | undefined } | { held: true; until: number }>;
  /** Stores the state; fails when the lease is no longer `owner`'s. */
  saveState(owner: string, state: RollupState): Promise<void>;
  release(owner: string): Promise<void>;
  marks(): Promise<RollupMark[]>;
  /** Removes a mark unless it was marked again since it was read (another version). */
  deleteMark(mark: RollupMark): Promise<void>;
  /**
   * Writes (or, with undefined, deletes) the click parts of the given hours (epoch ms of their
   * start), leaving the other hours as they are; `expiresAt` gives an hour's TTL (epoch s).
   */
  putClickParts(campaignId: string, group: ClickGroup, parts: ReadonlyMap<number, ClickPart | undefined>, expiresAt: (hour: number) => number): Promise<void>;
  /** Writes (or deletes) conversion parts; `campaign` is a campaign id or `~unattributed`. */
  putConversionParts(campaign: string, parts: ReadonlyMap<number, ConversionPart | undefined>, expiresAt: (hour: number) => number): Promise<void>;
}

export interface UpkeepReader {
  /** The clicks of a campaign made in [from, to). */
  clicks(campaignId: string, from: number, to: number): AsyncIterable<ReportClick>;
  /** When the oldest stored click of a campaign was made (epoch ms), undefined without any. */
  oldestClick(campaignId: string): Promise<number | undefined>;
  /** Conversions indexed under `key` (a campaign id or `~test:<id>`) whose click was made in [from, to). */
  conversionsByClickTime(key: string, from: number, to: number): AsyncIterable<ReportConversion>;
  /** Conversions indexed under `key` (also `~unattributed`, `~test:...`) that arrived in [from, to). */
  conversionsArrived(key: string, from: number, to: number): AsyncIterable<ReportConversion>;
}

export interface UpkeepSettings {
  /** Every campaign ever deployed (the catalog), with when it was first seen. */
  campaigns: readonly { id: string; firstDeployedAt?: string }[];
  /** Which clicks may have expired (core/report clickCoverage). */
  clickCoverage: ClickCoverage;
  /** defaults.rollupRetentionDays as deployed over time (the catalog), and its current value. */
  rollupRetention: readonly RetentionEra[];
  rollupRetentionDays: number;
}

export interface UpkeepDeps {
  store: UpkeepStore;
  reader: UpkeepReader;
  settings: UpkeepSettings;
  now?: () => number;
  /** Work stops before this (epoch ms); the next run goes on from there. */
  deadline?: number;
  /** A unique id of this run (the lease owner). */
  owner: string;
  log?: Log;
}

export interface UpkeepReport {
  /** false: another run holds the lease (until `heldUntil`); nothing was done. */
  ran: boolean;
  heldUntil?: string;
  /** The first run: rollups start with this hour. */
  started?: string;
  closed: { hours: number; parts: number; frozen: number; until?: string };
  clickMarks: number;
  sweep?: { from: string; to: string; conversions: number; parts: number };
  conversionMarks: number;
  /** Nothing due was left undone (false when the deadline cut the run short). */
  caughtUp: boolean;
  state?: RollupState;
}

const iso = (t: number) => new Date(t).toISOString();
const nextUtcDay = (t: number) => (Math.floor(t / DAY_MS) + 1) * DAY_MS;
const ceilHour = (t: number) => Math.ceil(t / HOUR_MS) * HOUR_MS;

/** Rollup items are kept rollupRetentionDays after their hour (the longest of the hour's era and today's). */
export function rollupExpiresAt(hour: number, settings: Pick<UpkeepSettings, 'rollupRetention' | 'rollupRetentionDays'>): number {
  const eras = [...settings.rollupRetention].sort((a, b) => a.since.localeCompare(b.since));
  let days = eras[0]?.days ?? settings.rollupRetentionDays;
  for (const era of eras) if (Date.parse(era.since) <= hour) days = era.days;
  return Math.floor((hour + Math.max(days, settings.rollupRetentionDays) * DAY_MS) / 1000);
}

/** Spans whose click parts must not be computed any more: their clicks may expire within FREEZE_MARGIN_MS. */
function frozenSpans(coverage: ClickCoverage): Span[] {
  return coverage.expired.map((s) => ({ from: s.from, to: s.to + FREEZE_MARGIN_MS }));
}

/**
 * Where a new tracker's rollups start: the oldest hour whose clicks are all surely kept, so the
 * first runs roll up the whole history still stored. Not the first deploy of a campaign: a
 * tracker that upgrades to rollups holds clicks older than its catalog entries, and they must
 * outlive their TTL too.
 */
export function firstHour(settings: UpkeepSettings, now: number): number {
  const frozen = frozenSpans(settings.clickCoverage).filter((s) => s.from <= now);
  const since = frozen.length > 0 ? ceilHour(Math.max(...frozen.map((s) => Math.min(s.to, now)))) : 0;
  return Math.min(since, hourOf(now));
}

/**
 * Where the first run starts closing hours: the hour of the oldest stored click (none: now), not
 * before `since`. The hours between hold no click, so they are closed as they are (no part), and
 * a new tracker does not walk 90 days of empty partitions; a click replayed into them later
 * marks its hour like any other.
 */
export function firstClose(since: number, now: number, oldestClick: number | undefined): number {
  // Never an hour whose clicks may still be being written (the close waits CLOSE_AFTER_MS too).
  return Math.max(since, Math.min(hourOf(oldestClick ?? now), hourOf(now - CLOSE_AFTER_MS)));
}

const testKey = (key: string) => `${TEST_CAMPAIGN_PREFIX}${key}`;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export async function runUpkeep(deps: UpkeepDeps): Promise<UpkeepReport> {
  const now = deps.now ?? Date.now;
  const start = now();
  const deadline = deps.deadline ?? Number.POSITIVE_INFINITY;
  const timeLeft = () => now() < deadline;
  const report: UpkeepReport = { ran: false, closed: { hours: 0, parts: 0, frozen: 0 }, clickMarks: 0, conversionMarks: 0, caughtUp: false };
  // The lease outlives the deadline a little (a write in flight); without one, a generous hour.
  const leaseUntil = Number.isFinite(deadline) ? deadline + 60_000 : start + HOUR_MS;
  const lease = await deps.store.acquire(deps.owner, start, leaseUntil);
  if (lease.held) return { ...report, heldUntil: iso(lease.until) };
  report.ran = true;
  try {
    const { settings } = deps;
    let state = lease.state;
    if (!state) {
      let oldest: number | undefined;
      for (const c of settings.campaigns) {
        const t = await deps.reader.oldestClick(c.id);
        if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t;
      }
      const since = firstHour(settings, start);
      state = { since, closedUntil: firstClose(since, start, oldest), cut: iso(since) };
      await deps.store.saveState(deps.owner, state);
      report.started = iso(since);
    }
    const campaigns = settings.campaigns.map((c) => c.id);
    const frozen = frozenSpans(settings.clickCoverage);
    const isFrozen = (hour: number) => isPartial({ from: hour, to: hour + HOUR_MS }, { expired: frozen });
    const expiresAt = (hour: number) => rollupExpiresAt(hour, settings);

    /** Writes the click parts of the given hours (both groups); an hour without clicks: its parts removed. */
    const writeClickParts = async (campaignId: string, byHour: ReadonlyMap<number, ReportClick[]>): Promise<number> => {
      let written = 0;
      for (const [group, dims] of [['main', MAIN_DIMENSIONS], ['subs', SUB_DIMENSIONS]] as const) {
        const parts = new Map<number, ClickPart | undefined>();
        for (const [hour, clicks] of byHour) {
          const part = clickPart(clicks, dims);
          parts.set(hour, isEmptyPart(part) ? undefined : part);
          if (!isEmptyPart(part)) written++;
        }
        if (parts.size > 0) await deps.store.putClickParts(campaignId, group, parts, expiresAt);
      }
      return written;
    };

    // 1. Close the hours that are due.
    const lastClosable = hourOf(start - CLOSE_AFTER_MS) - HOUR_MS; // its end + CLOSE_AFTER_MS <= start
    while (state.closedUntil <= lastClosable && timeLeft()) {
      const from = state.closedUntil;
      const to = Math.min(from + CLOSE_BATCH_HOURS * HOUR_MS, nextUtcDay(from), lastClosable + HOUR_MS);
      for (const campaignId of campaigns) {
        const byHour = await clicksByHour(deps.reader.clicks(campaignId, from, to));
        for (const hour of [...byHour.keys()]) {
          if (isFrozen(hour)) {
            report.closed.frozen++;
            byHour.delete(hour);
          }
        }
        // Hours without clicks get no part (none was ever written for them).
        report.closed.parts += await writeClickParts(campaignId, byHour);
      }
      if (!timeLeft()) break; // the batch may be cut short: it is done again next time (same items)
      report.closed.hours += (to - from) / HOUR_MS;
      state = { ...state, closedUntil: to };
      await deps.store.saveState(deps.owner, state);
      report.closed.until = iso(to);
    }

    const settled = (await deps.store.marks()).filter((m) => m.markedAt <= start - MARK_SETTLE_MS);

    // 2. Hours whose clicks changed after they were closed.
    const byCode = new Map<string, string[]>();
    for (const id of campaigns) {
      const code = campaignCode(id);
      byCode.set(code, [...(byCode.get(code) ?? []), id]);
    }
    for (const mark of settled) {
      if (mark.kind !== 'clicks' || !timeLeft()) continue;
      if (mark.hour >= state.closedUntil) continue; // its close reads it
      if (mark.hour >= state.since && !isFrozen(mark.hour)) {
        for (const campaignId of byCode.get(mark.code) ?? []) {
          const clicks = await collect(deps.reader.clicks(campaignId, mark.hour, mark.hour + HOUR_MS));
          await writeClickParts(campaignId, new Map([[mark.hour, clicks]]));
        }
      } else {
        deps.log?.warn('rollup mark dropped: its hour is not rolled up or its clicks may have expired', { mark: markSortKey(mark) });
      }
      await deps.store.deleteMark(mark);
      report.clickMarks++;
    }

    // 3. Take in the conversions that arrived since the last cut, a span at a time.
    let pendingMarks = settled.filter((m): m is RollupMark & { kind: 'conversions' } => m.kind === 'conversions');
    const sweepTo = (cut: string) => Math.min(start - SWEEP_MARGIN_MS, Date.parse(cut) + MAX_SWEEP_SPAN_MS);
    const sweepDue = (cut: string) => {
      const span = sweepTo(cut) - Date.parse(cut);
      return span >= SWEEP_EVERY_MS || (pendingMarks.length > 0 && span > 0);
    };
    while (sweepDue(state.cut) && timeLeft()) {
      const from = Date.parse(state.cut);
      const target = sweepTo(state.cut);
      const cut = iso(target);
      const since = state.since;
      const touched = new Map<string, Set<number>>();
      const touch = (campaign: string, hour: number) => {
        if (hour < since) return; // read raw by reports
        let hours = touched.get(campaign);
        if (!hours) touched.set(campaign, (hours = new Set()));
        hours.add(hour);
      };
      let arrived = 0;
      for (const campaign of [...campaigns, UNATTRIBUTED_CLICK_ID]) {
        for (const key of [campaign, testKey(campaign)]) {
          for await (const c of deps.reader.conversionsArrived(key, from, target)) {
            arrived++;
            touch(campaign, conversionHour(c));
          }
        }
      }
      const marks = pendingMarks;
      for (const mark of marks) touch(mark.campaign, mark.hour);
      let parts = 0;
      for (const [campaign, hours] of touched) {
        // A day's hours are written together (one day item); the deadline is checked per day.
        const byDay = new Map<number, number[]>();
        for (const hour of [...hours].sort((a, b) => a - b)) {
          const day = Math.floor(hour / DAY_MS) * DAY_MS;
          byDay.set(day, [...(byDay.get(day) ?? []), hour]);
        }
        for (const dayHours of byDay.values()) {
          if (!timeLeft()) break;
          const organic = campaign === UNATTRIBUTED_CLICK_ID;
          const computed = new Map<number, ConversionPart | undefined>();
          for (const hour of dayHours) {
            const read = (key: string) => (organic ? deps.reader.conversionsArrived(key, hour, hour + HOUR_MS) : deps.reader.conversionsByClickTime(key, hour, hour + HOUR_MS));
            const conversions = [...(await collect(read(campaign))), ...(await collect(read(testKey(campaign))))];
            const part = conversionPart(conversions, cut, organic ? ['campaign'] : ROLLUP_DIMENSIONS);
            computed.set(hour, isEmptyPart(part) ? undefined : part);
            parts++;
          }
          await deps.store.putConversionParts(campaign, computed, expiresAt);
        }
      }
      // Cut short: the parts written hold the new cut, the state still the old one; the next run
      // does this span again (the same items), so nothing is counted twice or missed.
      if (!timeLeft()) break;
      state = { ...state, cut };
      await deps.store.saveState(deps.owner, state);
      for (const mark of marks) {
        await deps.store.deleteMark(mark);
        report.conversionMarks++;
      }
      pendingMarks = [];
      report.sweep = {
        from: report.sweep?.from ?? iso(from),
        to: cut,
        conversions: (report.sweep?.conversions ?? 0) + arrived,
        parts: (report.sweep?.parts ?? 0) + parts,
      };
    }

    const stillDue =
      state.closedUntil <= lastClosable ||
      sweepDue(state.cut) ||
      report.clickMarks < settled.filter((m) => m.kind === 'clicks' && m.hour < state!.closedUntil).length;
    report.caughtUp = timeLeft() && !stillDue;
    report.state = state;
    return report;
  } finally {
    await deps.store.release(deps.owner);
  }
}

/** What the catalog says (adapters/catalog Catalog, structurally). */
export interface DeployedHistory {
  campaigns: readonly { id: string; firstDeployedAt?: string }[];
  retention: readonly RetentionEra[];
  rollupRetention: readonly RetentionEra[];
}

/**
 * The upkeep's settings from the catalog (campaigns ever deployed, the retention histories) and
 * the config (its campaigns and retentions, for what the catalog does not have yet).
 */
export function upkeepSettings(
  catalog: DeployedHistory | undefined,
  config: { campaigns: readonly { id: string }[]; clickRetentionDays: number; rollupRetentionDays: number },
  now: number,
): UpkeepSettings {
  const known = new Map((catalog?.campaigns ?? []).map((c) => [c.id, c]));
  for (const c of config.campaigns) if (!known.has(c.id)) known.set(c.id, { id: c.id });
  const retention = catalog && catalog.retention.length > 0 ? catalog.retention : [{ days: config.clickRetentionDays, since: new Date(0).toISOString() }];
  return {
    campaigns: [...known.values()].sort((a, b) => a.id.localeCompare(b.id)),
    clickCoverage: { expired: expiredSpans(retention, new Date(now)) },
    rollupRetention: rollupEras(catalog?.rollupRetention ?? [], config.rollupRetentionDays),
    rollupRetentionDays: config.rollupRetentionDays,
  };
}

/** The rollup retention history, or the configured value as the only era when none was recorded. */
export function rollupEras(history: readonly RetentionEra[], currentDays: number): RetentionEra[] {
  return history.length > 0 ? [...history] : [{ days: currentDays, since: new Date(0).toISOString() }];
}
