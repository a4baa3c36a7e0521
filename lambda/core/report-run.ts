/**
 * The report, as every caller runs it (`npm run report`, the dashboard's API): decides where each
 * hour of each campaign is read from, reads it through ports, and builds the rows.
 *
 * - Rollups (core/rollups) answer groupings by campaign, offer, lander, channel, country, or
 *   the subs sub1 > sub2 > sub3 (with campaign, day and hour), for every UTC hour that maps
 *   whole into one row: all hours in zones a whole number of hours from UTC, the inner hours of
 *   a range otherwise.
 * - What rollups do not hold yet is read raw: hours not closed yet, hours whose clicks changed
 *   since (marks), hours before rollups began; and the conversions that arrived since the last
 *   sweep, counted on top of the parts that do not hold them yet.
 * - Everything else (other groupings and filters, split hours, a tracker without rollups) reads
 *   raw, and says so.
 * The raw path is bounded (`limits`): a web request gets "narrow the range" instead of running
 * past its time.
 */
import { TEST_CAMPAIGN_PREFIX, UNATTRIBUTED_CLICK_ID } from './model';
import { campaignCode } from './ids';
import { expiredSpans, ReportBuilder, isPartial, partialNotice, zonedParts, GROUP_FIELDS, type ClickCoverage, type GroupKey, type ReportClick, type ReportConversion, type ReportFilter, type ReportOptions, type ReportRow, type RetentionEra, type RollupConversionCounts, type Span } from './report';
import type { RollupMark, RollupState } from './rollup-marks';
import { HOUR_MS, conversionHour, hourOf, sourceOf, type ClickGroup, type ClickPart, type ConversionCounters, type ConversionPart, type RollupDimension, type StoredPart, groupOf } from './rollups';
import { toMicros } from './decimal';
import type { SpendRow } from './spend';
import type { OpenClicks } from './open-hours';

export type SourceChoice = 'auto' | 'raw' | 'rollups';

export interface ReportRequest {
  by: GroupKey[];
  timeZone: string;
  /** The range as local days (for spend) and as instants [from, to). */
  fromDay: string;
  toDay: string;
  from: Date;
  to: Date;
  /** Campaigns to read (a `campaign` filter narrows them further). */
  campaigns: readonly string[];
  /** Organic sales (no campaign) are read too. */
  includeUnattributed: boolean;
  includeTests: boolean;
  filter?: ReportFilter;
  source: SourceChoice;
  costCurrency: string;
  retired?: ReadonlySet<string>;
  /** Which clicks may have expired (from the catalog's retention history). */
  clickCoverage: ClickCoverage;
  /**
   * defaults.rollupRetentionDays over time (the catalog; without a history, the config's value
   * as one era): which rollups may have expired.
   */
  rollupRetention: readonly RetentionEra[];
  /** The time the report is made at (retention is judged against it). */
  now: Date;
  /** A second grouping built from the same reads (the HTML page's chart: day or hour). */
  chartBy?: GroupKey[];
  /**
   * A bound on raw work: at most `maxRawItems` raw clicks and conversions, and no reading
   * after `deadline` (epoch ms). Past either, NarrowRangeError.
   */
  limits?: { maxRawItems?: number; deadline?: number };
}

export interface RawReader {
  /** Clicks of a campaign made in [from, to). */
  clicks(campaignId: string, from: Date, to: Date): AsyncIterable<ReportClick>;
  /** Conversions indexed under `key` (campaign or `~test:<campaign>`) whose click was made in [from, to). */
  conversions(key: string, from: Date, to: Date): AsyncIterable<ReportConversion>;
  /**
   * Conversions indexed under `key` (also `~unattributed`) that arrived in [from, to) (to
   * undefined: until now); `landers`: with their landerId (the arrival index lacks it).
   */
  arrived(key: string, from: Date, to: Date | undefined, options?: { landers?: boolean }): AsyncIterable<ReportConversion>;
}

export interface RollupReader {
  state(): Promise<RollupState | undefined>;
  marks(): Promise<RollupMark[]>;
  /** Parts of the hours fromHour..toHour (both included), holding (at least) the given dimensions. */
  clickParts(campaignId: string, group: ClickGroup, fromHour: number, toHour: number, dimensions: readonly RollupDimension[]): AsyncIterable<StoredPart<ClickPart>>;
  conversionParts(campaign: string, fromHour: number, toHour: number, dimensions: readonly RollupDimension[]): AsyncIterable<StoredPart<ConversionPart>>;
}

export interface SpendReader {
  /** Imported spend of a campaign for the days fromDay..toDay. */
  spend(campaignId: string, fromDay: string, toDay: string): Promise<SpendRow[]>;
}

export interface ReportPorts {
  raw: RawReader;
  /** Absent: a tracker without rollups (raw only). */
  rollups?: RollupReader;
  spend?: SpendReader;
  /** What the readers have read so far (they count into one place). */
  readStats(): { items: number; queries: number; readUnits: number };
  /**
   * The local server's view of the open hours' clicks (core/open-hours viewOf): a campaign's
   * hours from `from` on counted from its parts instead of read raw. Absent (AWS, the CLIs), or
   * undefined for a campaign: read raw.
   */
  openClicks?: (campaignId: string, now: number) => OpenClicks | undefined;
  clock?: () => number;
}

export interface ReportStats {
  source: 'rollups' | 'raw' | 'mixed';
  items: number;
  queries: number;
  readUnits: number;
  ms: number;
  /** Why (some of) it was read raw. */
  reason?: string;
  /** The open hours' clicks came from the local server's view, which holds every click made before this (ISO). */
  openHoursUntil?: string;
}

export interface ReportResult {
  rows: ReportRow[];
  chartRows?: ReportRow[];
  /** The partial-click-count notice (core/report partialNotice), when the rows need one. */
  notice?: string;
  /** Why imported spend is not in these rows, when some exists. */
  spendNotice?: string;
  /** Test conversions read (with includeTests). */
  tests: number;
  stats: ReportStats;
}

/** The raw work a request may do is used up: the range must be narrowed. */
export class NarrowRangeError extends Error {
  constructor(detail: string) {
    super(`narrow the range: ${detail}`);
    this.name = 'NarrowRangeError';
  }
}

/** `source: 'rollups'` for a report rollups cannot answer. */
export class RollupsCannotAnswerError extends Error {
  constructor(reason: string) {
    super(`rollups cannot answer this report: ${reason} (use --source auto or raw)`);
    this.name = 'RollupsCannotAnswerError';
  }
}

/** Campaigns read side by side (each of them reads its click partitions side by side too). */
export const CAMPAIGN_CONCURRENCY = 4;
/**
 * Campaigns read side by side when rollups answer: a campaign is then a few queries one after
 * another (parts, conversions since the cut), so the wait is round trips, not reading.
 */
export const ROLLUP_CAMPAIGN_CONCURRENCY = 8;

/**
 * Runs `work` for every item, at most `n` at once; the first failure fails the whole and stops
 * the others (`stopped` tells the readers to give up at their next item).
 */
async function inPool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>, stopped: { error?: unknown }): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && stopped.error === undefined) {
      try {
        await work(items[next++] as T);
      } catch (err) {
        stopped.error ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (stopped.error !== undefined) throw stopped.error;
}

/** More separate raw ranges than this per campaign (a split hour every day): read all of it raw instead. */
export const MAX_RAW_RANGES = 8;

const TIME_KEYS = new Set<GroupKey>(['day', 'hour']);
const MAIN = new Set<GroupKey>(['offer', 'lander', 'channel', 'country']);
const SUB_LEVEL: Partial<Record<GroupKey, number>> = { sub1: 1, sub2: 2, sub3: 3 };

/**
 * Which rollup dimension answers a grouping and filter, or why none does. Rollups keep each of
 * offer, lander, channel and country per campaign and hour, and the subs as a path (sub1 > sub2 >
 * sub3); a report may combine campaign, day and hour with one of them.
 */
export function rollupDimension(by: readonly GroupKey[], filter: ReportFilter = {}): { dimension: RollupDimension } | { reason: string } {
  const keys = new Set<GroupKey>([...by, ...(Object.keys(filter) as GroupKey[])]);
  keys.delete('campaign');
  for (const k of TIME_KEYS) keys.delete(k);
  const rest = [...keys];
  if (rest.length === 0) return { dimension: 'campaign' };
  if (rest.length === 1 && MAIN.has(rest[0] as GroupKey)) return { dimension: rest[0] as RollupDimension };
  if (rest.every((k) => SUB_LEVEL[k] !== undefined)) {
    const level = Math.max(...rest.map((k) => SUB_LEVEL[k] ?? 0));
    return { dimension: (['sub1', 'sub2', 'sub3'] as const)[level - 1] as RollupDimension };
  }
  return {
    reason:
      `rollups keep campaign, day and hour with one of offer, lander, channel, country or sub1 > sub2 > sub3; ` +
      `${rest.join(', ')} ${rest.length === 1 ? 'is' : 'are'} read raw`,
  };
}

const offsetOf = (hourLabel: string): string => hourLabel.slice(-6);

/**
 * Whether the UTC hour starting at `h` maps whole into one row of the grouping: one local day
 * for `day`, one local hour (a whole-hour offset that does not change inside it) for `hour`.
 */
export function hourFits(h: number, timeKeys: ReadonlySet<GroupKey>, timeZone: string): boolean {
  if (timeKeys.size === 0) return true;
  const a = zonedParts(h, timeZone);
  const b = zonedParts(h + HOUR_MS - 1, timeZone);
  if (timeKeys.has('day') && a.day !== b.day) return false;
  if (timeKeys.has('hour') && (offsetOf(a.hour) !== offsetOf(b.hour) || !offsetOf(a.hour).endsWith(':00') || a.hour.slice(0, 13) !== b.hour.slice(0, 13))) return false;
  return true;
}

interface Segment extends Span {
  rollup: boolean;
  /** Why this raw segment is raw. */
  why?: 'open' | 'marked' | 'before' | 'zone' | 'edge' | 'retention';
}

/** Splits [from, to) at UTC hours and merges neighbours with the same answer. */
function segments(from: number, to: number, decide: (h: number, span: Span) => Omit<Segment, 'from' | 'to'>): Segment[] {
  const out: Segment[] = [];
  for (let h = hourOf(from); h < to; h += HOUR_MS) {
    const span = { from: Math.max(h, from), to: Math.min(h + HOUR_MS, to) };
    const d = decide(h, span);
    const last = out[out.length - 1];
    if (last && last.to === span.from && last.rollup === d.rollup && (d.rollup || last.why === d.why)) last.to = span.to;
    else out.push({ ...span, ...d });
  }
  return out;
}

/** The overlaps of two lists of spans. */
export function intersectSpans(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  for (const x of a) for (const y of b) {
    const from = Math.max(x.from, y.from);
    const to = Math.min(x.to, y.to);
    if (from < to) out.push({ from, to });
  }
  return out;
}

/** What the reads feed: a ReportBuilder (or a wrapper of one). */
export interface Sink {
  addClick(click: ReportClick): void;
  addConversion(c: ReportConversion, convertedCounted?: boolean): void;
  addRollupClicks: ReportBuilder['addRollupClicks'];
  addRollupConversions: ReportBuilder['addRollupConversions'];
  addSpend: ReportBuilder['addSpend'];
}

function conversionCounts(c: ConversionCounters, tests: boolean): RollupConversionCounts {
  if (!tests) return { conversions: c.conversions, revenue: c.revenue, converted: c.converted };
  const conversions = { ...c.conversions };
  for (const [t, n] of Object.entries(c.testConversions)) conversions[t] = (conversions[t] ?? 0) + n;
  const revenue = { ...c.revenue };
  for (const [cur, m] of Object.entries(c.testRevenue)) revenue[cur] = (revenue[cur] ?? 0n) + m;
  return { conversions, revenue, converted: c.convertedAny };
}

const SPEND_KEYS = new Set<GroupKey>(['campaign', 'sub1', 'sub2', 'sub3', 'day']);

/** What readReport needs: a ReportRequest without the builders' settings, and the sinks' groupings. */
export type ReadRequest = Omit<ReportRequest, 'by' | 'chartBy' | 'costCurrency' | 'retired' | 'clickCoverage'> & {
  /** The grouping of each sink, in order; the first is the table's (spend follows it). */
  groupings: readonly (readonly GroupKey[])[];
};

export interface ReadOutcome {
  /** Test conversions read (with includeTests). */
  tests: number;
  /** Clicks (bots included) and conversions counted into the sinks, raw or from rollups. */
  clicks: number;
  conversions: number;
  stats: ReportStats;
  spendNotice?: string;
  /** The spans whose clicks were read one by one (only there may expired clicks be missing). */
  rawClickSpans: Span[];
}

/**
 * The report with its own builders (the table and the chart): readReport, then the
 * partial-count notice judged on the clicks that were read raw.
 */
export async function runReport(request: ReportRequest, ports: ReportPorts): Promise<ReportResult> {
  const filter = request.filter ?? {};
  const options = (by: GroupKey[]): ReportOptions => ({
    by,
    timeZone: request.timeZone,
    costCurrency: request.costCurrency,
    filter,
    ...(request.retired ? { retired: request.retired } : {}),
    // Filled in below, once it is known which clicks were read raw.
    completeness: { range: { from: request.from, to: request.to }, coverage: { expired: [] } },
  });
  const mainOptions = options(request.by);
  const chartOptions = request.chartBy ? options(request.chartBy) : undefined;
  const main = new ReportBuilder(mainOptions);
  const chart = chartOptions ? new ReportBuilder(chartOptions) : undefined;
  const outcome = await readReport(
    { ...request, groupings: chartOptions ? [mainOptions.by, chartOptions.by] : [mainOptions.by] },
    ports,
    chart ? [main, chart] : [main],
  );
  // Click counts are partial only where they were read raw and clicks may have expired.
  const coverage: ClickCoverage = { expired: intersectSpans(request.clickCoverage.expired, outcome.rawClickSpans) };
  for (const o of [mainOptions, chartOptions]) if (o?.completeness) o.completeness.coverage = coverage;
  const notice = partialNotice(mainOptions);
  return {
    rows: main.rows(),
    ...(chart ? { chartRows: chart.rows() } : {}),
    ...(notice ? { notice } : {}),
    ...(outcome.spendNotice ? { spendNotice: outcome.spendNotice } : {}),
    tests: outcome.tests,
    stats: outcome.stats,
  };
}

/**
 * Reads a report's clicks and conversions into `sinks` (builders that apply the request's
 * filter themselves): from rollups where they answer, raw for the rest, within the limits.
 */
export async function readReport(request: ReadRequest, ports: ReportPorts, sinks: readonly Sink[]): Promise<ReadOutcome> {
  const clock = ports.clock ?? Date.now;
  const started = clock();
  const before = ports.readStats();
  const allKeys = [...new Set(request.groupings.flat())];
  const tableBy = request.groupings[0] ?? [];
  const from = request.from.getTime();
  const to = request.to.getTime();
  const filter = request.filter ?? {};
  const limits = request.limits ?? {};

  // A campaign filter narrows what is read; `campaign=` (none) leaves only organic sales.
  const wanted = filter.campaign;
  const campaigns = wanted === undefined ? [...request.campaigns] : wanted === null ? [] : [wanted];
  const organic = request.includeUnattributed && (wanted === undefined || wanted === null);

  let rawItems = 0;
  const stopped: { error?: unknown } = {};
  const checkTime = () => {
    if (stopped.error !== undefined) throw stopped.error;
    if (limits.deadline !== undefined && clock() > limits.deadline) throw new NarrowRangeError('the report ran out of time');
  };
  async function* raw<T>(items: AsyncIterable<T>): AsyncGenerator<T> {
    for await (const item of items) {
      rawItems++;
      if (limits.maxRawItems !== undefined && rawItems > limits.maxRawItems) {
        throw new NarrowRangeError(`this report would read more than ${limits.maxRawItems} clicks and conversions one by one (not from rollups)`);
      }
      checkTime();
      yield item;
    }
  }

  // ---- decide ---------------------------------------------------------------------------------
  let reason: string | undefined;
  let plan: RollupPlan | undefined;
  if (request.source === 'raw') reason = 'asked for the raw path (--source raw)';
  else if (!ports.rollups) reason = 'this tracker keeps no rollups';
  else {
    const dimension = rollupDimension(allKeys, filter);
    if ('reason' in dimension) reason = dimension.reason;
    else {
      const [state, marks] = await Promise.all([ports.rollups.state(), ports.rollups.marks()]);
      if (!state) reason = 'the rollup upkeep has not run yet';
      else {
        const planned = planRollups(request, allKeys, state, marks, campaigns, organic, dimension.dimension, ports.openClicks);
        if ('reason' in planned) reason = planned.reason;
        else plan = planned;
      }
    }
  }
  if (request.source === 'rollups') {
    if (plan === undefined) throw new RollupsCannotAnswerError(reason ?? 'unknown');
    if (plan.zoneSplits) throw new RollupsCannotAnswerError(plan.zoneSplits);
  }

  // ---- read ---------------------------------------------------------------------------------
  const rawClickSpans: Span[] = [];
  let clickCount = 0;
  let conversionCount = 0;
  const each = (f: (s: Sink) => void) => sinks.forEach(f);
  let tests = 0;
  const testRuns = request.includeTests ? [false, true] : [false];
  const key = (campaign: string, test: boolean) => (test ? `${TEST_CAMPAIGN_PREFIX}${campaign}` : campaign);
  const addConversion = (c: ReportConversion, counted = false) => {
    if (c.test) tests++;
    conversionCount++;
    each((s) => s.addConversion(c, counted));
  };
  const addClick = (click: ReportClick) => {
    clickCount++;
    each((s) => s.addClick(click));
  };

  if (!plan) {
    rawClickSpans.push({ from, to });
    await inPool(campaigns, CAMPAIGN_CONCURRENCY, async (campaign) => {
      for await (const click of raw(ports.raw.clicks(campaign, request.from, request.to))) addClick(click);
      for (const test of testRuns) for await (const c of raw(ports.raw.conversions(key(campaign, test), request.from, request.to))) addConversion(c);
    }, stopped);
    if (organic) for (const test of testRuns) for await (const c of raw(ports.raw.arrived(key(UNATTRIBUTED_CLICK_ID, test), request.from, request.to))) addConversion(c);
  } else {
    const rollups = ports.rollups as RollupReader;
    const { dimension, state } = plan;
    const group = groupOf(dimension);
    const countClickPart = (campaign: string, hour: number, part: ClickPart) => {
      for (const e of part.dims[dimension]?.values() ?? []) {
        const source = sourceOf(dimension, campaign, e.value);
        clickCount += e.counters.clicks + e.counters.bots;
        each((s) => s.addRollupClicks(source, hour, e.counters));
      }
    };
    await inPool([...plan.campaigns], ROLLUP_CAMPAIGN_CONCURRENCY, async ([campaign, p]) => {
      const isOrganic = campaign === UNATTRIBUTED_CLICK_ID;
      // Clicks: rollup parts for the rolled-up hours, raw for the rest.
      if (!isOrganic) {
        const hours = [...p.clickHours].sort((a, b) => a - b);
        if (hours.length > 0) {
          for await (const { hour, part } of rollups.clickParts(campaign, group, hours[0] as number, hours[hours.length - 1] as number, [dimension])) {
            checkTime();
            if (!p.clickHours.has(hour)) continue;
            countClickPart(campaign, hour, part);
          }
        }
        // Open hours the local server's view holds (hours without a part had no click).
        if (p.open) {
          for (const hour of p.open.hours) {
            const part = p.open.parts.get(hour);
            if (part) countClickPart(campaign, hour, part);
          }
        }
        for (const span of p.rawClicks) {
          rawClickSpans.push(span);
          for await (const click of raw(ports.raw.clicks(campaign, new Date(span.from), new Date(span.to)))) addClick(click);
        }
      }
      // Conversions: parts for the rolled-up hours (what arrived before their cut), then what
      // arrived since, then raw for the rest.
      const cuts = new Map<number, { cut: string; converted: Set<string> }>();
      const hours = [...p.conversionHours].sort((a, b) => a - b);
      if (hours.length > 0) {
        for await (const { hour, part } of rollups.conversionParts(campaign, hours[0] as number, hours[hours.length - 1] as number, isOrganic ? ['campaign'] : [dimension])) {
          checkTime();
          if (!p.conversionHours.has(hour)) continue;
          cuts.set(hour, { cut: part.cut, converted: new Set(request.includeTests ? [...part.converted, ...part.convertedTest] : part.converted) });
          // Organic sales have no attributes: whatever the grouping, they are one row of nulls.
          const entries = isOrganic ? (part.dims.campaign?.values() ?? []) : (part.dims[dimension]?.values() ?? []);
          for (const e of entries) {
            const source = isOrganic ? {} : sourceOf(dimension, campaign, e.value);
            const counts = conversionCounts(e.counters, request.includeTests);
            conversionCount += Object.values(counts.conversions).reduce((a, n) => a + n, 0);
            each((s) => s.addRollupConversions(source, hour, counts));
          }
        }
      }
      if (hours.length > 0) {
        for (const test of testRuns) {
          const landers = dimension === 'lander';
          for await (const c of raw(ports.raw.arrived(key(campaign, test), new Date(state.cut), undefined, { landers }))) {
            const hour = conversionHour(c);
            if (!p.conversionHours.has(hour)) continue; // read raw below, or outside the range
            const part = cuts.get(hour);
            const cut = part && part.cut > state.cut ? part.cut : state.cut;
            if (c.createdAt < cut) continue; // the part holds it
            addConversion(c, part?.converted.has(c.clickId) ?? false);
          }
        }
      }
      for (const span of p.rawConversions) {
        for (const test of testRuns) {
          const read = isOrganic ? ports.raw.arrived(key(campaign, test), new Date(span.from), new Date(span.to)) : ports.raw.conversions(key(campaign, test), new Date(span.from), new Date(span.to));
          for await (const c of raw(read)) addConversion(c);
        }
      }
    }, stopped);
  }

  // ---- spend ----------------------------------------------------------------------------------
  let spendNotice: string | undefined;
  if (ports.spend && campaigns.length > 0) {
    const blocking = [...tableBy.filter((k) => !SPEND_KEYS.has(k)), ...(Object.keys(filter) as GroupKey[]).filter((k) => !SPEND_KEYS.has(k) || k === 'day')];
    const spend = ports.spend;
    // Side by side (a query each), kept in campaign order.
    const rows: SpendRow[] = (await Promise.all(campaigns.map((campaign) => spend.spend(campaign, request.fromDay, request.toDay)))).flat();
    if (rows.length > 0 && blocking.length > 0) {
      spendNotice = `Imported ad spend is per campaign, sub1..sub3 and day: it is not in rows grouped or filtered by ${[...new Set(blocking)].join(', ')}.`;
    } else {
      for (const row of rows) {
        const source = { campaignId: row.campaignId, ...(row.sub1 !== undefined ? { sub1: row.sub1 } : {}), ...(row.sub2 !== undefined ? { sub2: row.sub2 } : {}), ...(row.sub3 !== undefined ? { sub3: row.sub3 } : {}) };
        // A grouping by hour (the chart by hour) cannot place a day's spend.
        sinks.forEach((sink, i) => {
          if ((request.groupings[i] ?? tableBy).every((k) => SPEND_KEYS.has(k))) sink.addSpend(source, row.day, toMicros(row.amount));
        });
      }
    }
  }

  const after = ports.readStats();
  const stats: ReportStats = {
    source: plan ? (plan.mixed ? 'mixed' : 'rollups') : 'raw',
    ...(plan?.openUntil !== undefined ? { openHoursUntil: new Date(plan.openUntil).toISOString() } : {}),
    items: after.items - before.items,
    queries: after.queries - before.queries,
    readUnits: Number((after.readUnits - before.readUnits).toFixed(1)),
    ms: Math.round(clock() - started),
    ...(plan ? (plan.mixed ? { reason: plan.mixed } : {}) : { reason: reason ?? 'raw' }),
  };
  return { tests, clicks: clickCount, conversions: conversionCount, stats, ...(spendNotice ? { spendNotice } : {}), rawClickSpans };
}

interface CampaignPlan {
  /** Hours whose click part comes from rollups. */
  clickHours: Set<number>;
  /** Open hours whose clicks come from the local server's view. */
  open?: { hours: Set<number>; parts: OpenClicks['parts'] };
  rawClicks: Span[];
  conversionHours: Set<number>;
  rawConversions: Span[];
}

interface RollupPlan {
  dimension: RollupDimension;
  state: RollupState;
  campaigns: Map<string, CampaignPlan>;
  /** Closed hours read raw, and why (the report is then `mixed`). */
  mixed?: string;
  /** The time zone splits some hours of the range into two rows: rollups alone cannot answer. */
  zoneSplits?: string;
  /** Some open hours came from the local server's view: the earliest `until` of those used. */
  openUntil?: number;
}

function planRollups(
  request: ReadRequest,
  keys: readonly GroupKey[],
  state: RollupState,
  marks: readonly RollupMark[],
  campaigns: readonly string[],
  organic: boolean,
  dimension: RollupDimension,
  openClicks?: ReportPorts['openClicks'],
): { reason: string } | RollupPlan {
  const from = request.from.getTime();
  const to = request.to.getTime();
  const timeKeys = new Set(keys.filter((k) => TIME_KEYS.has(k)));
  // Rollups may be gone where their retention ran out (as clicks: the same rule, their own history).
  const gone = expiredSpans(request.rollupRetention, request.now);
  const clickMarks = new Set(marks.filter((m) => m.kind === 'clicks').map((m) => `${m.code}#${m.hour}`));
  const conversionMarks = new Set(marks.filter((m) => m.kind === 'conversions').map((m) => `${m.campaign}#${m.hour}`));
  const fitCache = new Map<number, boolean>();
  const fits = (h: number) => {
    let f = fitCache.get(h);
    if (f === undefined) fitCache.set(h, (f = hourFits(h, timeKeys, request.timeZone)));
    return f;
  };
  const base = (h: number, span: Span): Omit<Segment, 'from' | 'to'> => {
    if (span.from !== h || span.to !== h + HOUR_MS) return { rollup: false, why: 'edge' };
    if (!fits(h)) return { rollup: false, why: 'zone' };
    if (h < state.since) return { rollup: false, why: 'before' };
    if (isPartial({ from: h, to: h + HOUR_MS }, { expired: gone })) return { rollup: false, why: 'retention' };
    return { rollup: true };
  };
  const plans = new Map<string, CampaignPlan>();
  const whys = new Set<string>();
  let zoneSplits: string | undefined;
  let openUntil: number | undefined;
  const all = [...campaigns, ...(organic ? [UNATTRIBUTED_CLICK_ID] : [])];
  for (const campaign of all) {
    const code = campaign === UNATTRIBUTED_CLICK_ID ? '' : campaignCode(campaign);
    const clicks = campaign === UNATTRIBUTED_CLICK_ID ? [] : segments(from, to, (h, span) => {
      const b = base(h, span);
      if (!b.rollup) return b;
      if (h + HOUR_MS > state.closedUntil) return { rollup: false, why: 'open' };
      if (clickMarks.has(`${code}#${h}`)) return { rollup: false, why: 'marked' };
      return b;
    });
    const conversions = segments(from, to, (h, span) => {
      const b = base(h, span);
      if (!b.rollup) return b;
      if (conversionMarks.has(`${campaign}#${h}`)) return { rollup: false, why: 'marked' };
      return b;
    });
    const view = campaign === UNATTRIBUTED_CLICK_ID ? undefined : openClicks?.(campaign, request.now.getTime());
    const rawClicks: Segment[] = [];
    const openHours = new Set<number>();
    for (const s of clicks) {
      if (s.rollup) continue;
      if (s.why === 'open' && view && s.to > view.from) {
        // Whole open hours (an `open` segment is never a partial hour) the view holds.
        if (s.from < view.from) rawClicks.push({ ...s, to: view.from });
        for (let h = Math.max(s.from, view.from); h < s.to; h += HOUR_MS) openHours.add(h);
      } else rawClicks.push(s);
    }
    if (view && openHours.size > 0) openUntil = Math.min(openUntil ?? view.until, view.until);
    const zone = `${request.timeZone} splits UTC hours across the report's ${timeKeys.has('hour') ? 'hours' : 'days'} (rollups are kept per UTC hour)`;
    if (rawClicks.length > MAX_RAW_RANGES) return { reason: zone };
    if (clicks.some((s) => s.why === 'zone')) zoneSplits = zone;
    for (const s of [...rawClicks, ...conversions.filter((x) => !x.rollup)]) if (s.why && s.why !== 'open' && s.why !== 'marked') whys.add(s.why);
    const hoursOf = (segs: Segment[]) => {
      const set = new Set<number>();
      for (const s of segs) if (s.rollup) for (let h = s.from; h < s.to; h += HOUR_MS) set.add(h);
      return set;
    };
    plans.set(campaign, {
      clickHours: hoursOf(clicks),
      rawClicks,
      ...(view && openHours.size > 0 ? { open: { hours: openHours, parts: view.parts } } : {}),
      conversionHours: hoursOf(conversions),
      rawConversions: conversions.filter((s) => !s.rollup),
    });
  }
  const said: Record<string, string> = {
    before: 'hours before rollups began',
    zone: `hours ${request.timeZone} splits`,
    edge: 'the partial hours at the ends of the range',
    retention: 'hours whose rollups are past rollupRetentionDays',
  };
  const mixed = [...whys].map((w) => said[w] ?? w).join(', ');
  const rolled = [...plans.values()].some((p) => p.clickHours.size > 0 || (p.open?.hours.size ?? 0) > 0 || p.conversionHours.size > 0);
  if (!rolled && plans.size > 0) return { reason: zoneSplits ?? `no hour of this range is rolled up (${mixed || 'not closed yet'})` };
  return { dimension, state, campaigns: plans, ...(mixed ? { mixed: `read raw: ${mixed}` } : {}), ...(zoneSplits ? { zoneSplits } : {}), ...(openUntil !== undefined ? { openUntil } : {}) };
}

/** The JSON field of a grouping key (re-exported for callers that only import this module). */
export const fieldOf = (key: GroupKey): string => GROUP_FIELDS[key];
