/**
 * Reports: clicks and conversions grouped by any of campaign, offer, lander, channel,
 * sub1..sub5, channel click-id presence, country, day or hour (in a chosen time zone), with
 * conversions per type, net revenue per currency, conversion rate, EPC, cost / profit / ROI
 * where clicks carried a cost or spend was imported, lander clicks and lander CTR, and bots.
 * Pure aggregation over plain rows (raw clicks and conversions, or rollup counters: the same
 * rows either way); money is summed exactly in micro-units.
 *
 * Clicks flagged as bots are counted only as `bots`: never in clicks, CR, EPC, cost or lander
 * clicks.
 *
 * Conversions are attributed to their click: they land in the click's row and on the click's
 * day (the usual tracker convention, so a campaign's EPC is revenue per click it bought).
 * Unattributed (organic) conversions have no click: they land in a row of their own, on the
 * day they arrived.
 */
import { formatMicros, toMicros } from './decimal';
import { terminalJson, terminalSafe } from './terminal-safe';

export const GROUP_KEYS = ['campaign', 'offer', 'lander', 'channel', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'clickid', 'country', 'day', 'hour'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

/** JSON field name of each grouping key. */
export const GROUP_FIELDS: Record<GroupKey, string> = {
  campaign: 'campaignId',
  offer: 'offerId',
  lander: 'landerId',
  channel: 'channelId',
  sub1: 'sub1',
  sub2: 'sub2',
  sub3: 'sub3',
  sub4: 'sub4',
  sub5: 'sub5',
  clickid: 'hasChannelClickId',
  country: 'country',
  day: 'day',
  hour: 'hour',
};

/** The click attributes reports group by (conversions carry a copy of them). */
interface ClickAttributes {
  offerId?: string;
  /** The lander of a lander campaign's click (conversions carry it too). */
  landerId?: string;
  channelId?: string;
  country?: string;
  channelClickId?: string;
  sub1?: string;
  sub2?: string;
  sub3?: string;
  sub4?: string;
  sub5?: string;
}

/** What a report needs of a click (its queries project exactly this). */
export interface ReportClick extends ClickAttributes {
  clickId: string;
  campaignId: string;
  createdAt: string;
  cost?: string;
  /** When the visitor left the lander through GET /go (the first time). */
  lpClickAt?: string;
  /** A bot: counted in `bots` only. */
  bot?: true;
}

/** What a report needs of a conversion (the conversions index projects exactly this). */
export interface ReportConversion extends ClickAttributes {
  clickId: string;
  /** Absent for unattributed (organic) conversions. */
  campaignId?: string;
  type: string;
  counted: boolean;
  /** Canonical decimal text. */
  revenue: string;
  currency: string;
  createdAt: string;
  clickCreatedAt?: string;
  /** A Digistore24 test order (read only when a report includes tests). */
  test?: true;
}

export interface ReportRow {
  /** Grouping values by JSON field name (campaignId, day, ...); null where there is none. */
  keys: Record<string, string | boolean | null>;
  /** Grouped by campaign: whether the campaign was removed from the config (the catalog says when). */
  retired?: boolean;
  /** Clicks by people: bots are not in it. */
  clicks: number;
  /** Clicks flagged as bots (crawlers, link previewers, HEAD requests): stored, shown here only. */
  bots: number;
  /** Clicks whose visitor left the lander through GET /go (the first lander click of each click). */
  lpClicks: number;
  /**
   * lpClicks / clicks, for rows whose clicks went to a lander (a lander campaign's, or a direct
   * visit that clicked through); null for rows without lander traffic, and when the click count
   * is partial.
   */
  lpCtr: number | null;
  /** Counted conversions per type. */
  conversions: Record<string, number>;
  /** Net revenue per currency (refunds and chargebacks are negative): exact decimal text, 2 places. */
  revenue: Record<string, string>;
  /** Share of clicks with at least one counted conversion; null when the click count is partial. */
  cr: number | null;
  /** Net revenue per click, per currency (decimal text, 4 places); null when the click count is partial. */
  epc: Record<string, string> | null;
  /**
   * Sum of click costs and imported ad spend (in the config's default currency, decimal text);
   * present where clicks carried a cost or spend was imported, null when the click count is partial.
   */
  cost?: string | null;
  /**
   * Where `cost` came from: `clickUrl`, the click URL's cost= parameter, taken only for campaigns
   * with `cost.fromUrl` and capped at their `cost.max`; `spend`, ad spend imported with
   * `npm run spend`; `clickUrl+spend`, both.
   */
  costSource?: 'clickUrl' | 'spend' | 'clickUrl+spend';
  profit?: string | null;
  /** profit / cost; null when cost is 0 or the click count is partial. */
  roi?: number | null;
  /**
   * Some clicks of this row's time span may have expired (DynamoDB TTL): clicks and everything
   * computed from them are incomplete. Conversions and revenue are kept forever and complete.
   */
  partial: boolean;
}

/** A half-open span of time [from, to), in epoch milliseconds. */
export interface Span {
  from: number;
  to: number;
}

/**
 * Which click counts a report can trust: spans of click time whose clicks may have been deleted
 * by TTL. Built from the retention history (expiredSpans); anything that later keeps counts past
 * expiry (rollups) makes its spans complete by leaving them out of `expired`.
 */
export interface ClickCoverage {
  expired: Span[];
}

/** One click retention that was in force from `since` (ISO) until the next one (the catalog). */
export interface RetentionEra {
  days: number;
  since: string;
}

/**
 * Spans of click time whose clicks may be gone at `now`: a click made at t under a retention of
 * r days expires at t + r (DynamoDB deletes it some time after). Eras run from their `since` to
 * the next one's; the first one also covers the time before it (a tracker older than its
 * catalog: the first retention recorded is the best knowledge). Each era is widened by
 * `switchMarginMs` on both sides because a deploy changes the functions and the catalog minutes
 * apart, so clicks near a switch may carry either retention.
 */
export function expiredSpans(history: readonly RetentionEra[], now: Date, switchMarginMs = 3600_000): Span[] {
  const eras = [...history].map((e) => ({ days: e.days, since: Date.parse(e.since) })).filter((e) => Number.isFinite(e.since) && e.days > 0).sort((a, b) => a.since - b.since);
  const spans: Span[] = [];
  eras.forEach((era, i) => {
    const start = i === 0 ? Number.NEGATIVE_INFINITY : era.since - switchMarginMs;
    const next = eras[i + 1];
    const end = next ? next.since + switchMarginMs : Number.POSITIVE_INFINITY;
    const to = Math.min(end, now.getTime() - era.days * 86400_000);
    if (to > start) spans.push({ from: start, to });
  });
  return spans;
}

/**
 * THE rule for partial click counts, in one place: a row is partial when its span of click time
 * overlaps a span whose clicks may have expired. Every output (table, JSON, CSV, HTML) takes the
 * row's `partial` from here.
 */
export function isPartial(span: Span, coverage: ClickCoverage): boolean {
  return coverage.expired.some((e) => e.from < span.to && span.from < e.to);
}

/** The latest instant before which clicks in the range may be gone, or undefined when none are. */
export function clicksRetainedFrom(range: Span, coverage: ClickCoverage): Date | undefined {
  const overlapping = coverage.expired.filter((e) => isPartial(range, { expired: [e] }));
  if (overlapping.length === 0) return undefined;
  return new Date(Math.max(...overlapping.map((e) => e.to)));
}

/**
 * Which clicks may be gone, from the retention history (the catalog); without one, the
 * retention the config names now is all there is to go on.
 */
export function clickCoverage(history: readonly RetentionEra[], currentDays: number, now: Date): ClickCoverage {
  const eras = history.length > 0 ? history : [{ days: currentDays, since: new Date(0).toISOString() }];
  return { expired: expiredSpans(eras, now) };
}

/**
 * The campaigns a report covers: the config's, then every other campaign the catalog knows
 * (ever deployed), so a campaign removed from the config keeps its clicks and revenue in
 * reports. Retired: known to the catalog as removed, and not back in the config.
 */
export function reportCampaigns(configured: readonly string[], catalog: readonly { id: string; retiredAt?: string }[] = []): { campaigns: string[]; retired: Set<string> } {
  const inConfig = new Set(configured);
  const others = catalog.filter((c) => !inConfig.has(c.id)).map((c) => c.id).sort();
  const retired = new Set(catalog.filter((c) => c.retiredAt !== undefined && !inConfig.has(c.id)).map((c) => c.id));
  return { campaigns: [...new Set([...configured, ...others])], retired };
}

export interface ReportOptions {
  by: GroupKey[];
  /** IANA time zone for day and hour (default UTC). */
  timeZone: string;
  /** Currency costs are in (the config's default). */
  costCurrency: string;
  /**
   * The report's range and which click counts in it are complete. Rows grouped by day or hour
   * are judged by their own day or hour, other rows by the whole range. Absent: nothing is
   * judged partial.
   */
  completeness?: { range: { from: Date; to: Date }; coverage: ClickCoverage };
  /** Campaigns removed from the config: rows grouped by campaign say so. */
  retired?: ReadonlySet<string>;
  /** Only what matches every given key (`--filter campaign=demo,sub1=adset-7`); null: no value. */
  filter?: ReportFilter;
}

/** What a report can be narrowed by: every grouping key but day and hour. */
export const FILTER_KEYS = GROUP_KEYS.filter((k): k is Exclude<GroupKey, 'day' | 'hour'> => k !== 'day' && k !== 'hour');
export type FilterKey = (typeof FILTER_KEYS)[number];
/** Key -> the value it must have; null: it must have none. `clickid` takes `yes` or `no`. */
export type ReportFilter = Partial<Record<FilterKey, string | null>>;

/**
 * Parses `campaign=demo,sub1=adset-7` (an empty value means "no value": `sub2=`). Values may not
 * contain commas; repeating a key is an error, so is an unknown key.
 */
export function parseFilter(text: string): ReportFilter {
  const filter: ReportFilter = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new Error(`"${part}" is not key=value (e.g. campaign=demo,sub1=adset-7)`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1);
    if (!(FILTER_KEYS as readonly string[]).includes(key)) throw new Error(`"${key}" cannot be filtered on; use ${FILTER_KEYS.join(', ')}`);
    if (key in filter) throw new Error(`"${key}" is given twice`);
    if (key === 'clickid' && value !== 'yes' && value !== 'no') throw new Error('clickid takes yes or no');
    if (value.length > 255) throw new Error(`the value of "${key}" is longer than 255 characters`);
    filter[key as FilterKey] = value === '' ? null : value;
  }
  return filter;
}

/** Whether a click's or conversion's attributes match the filter (organic sales have none). */
export function matchesFilter(source: Source, filter: ReportFilter | undefined): boolean {
  if (!filter) return true;
  for (const [key, want] of Object.entries(filter) as [FilterKey, string | null][]) {
    let have: string | null;
    switch (key) {
      case 'campaign':
        have = source.campaignId ?? null;
        break;
      case 'clickid':
        have = source.campaignId === undefined ? null : source.channelClickId !== undefined ? 'yes' : 'no';
        break;
      default:
        have = source[GROUP_FIELDS[key] as keyof ClickAttributes] ?? null;
    }
    if (have !== want) return false;
  }
  return true;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per time zone (building one costs far more than using it, and reports call this per item). */
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** `GMT+05:30` / `GMT-03:06:28` / `GMT` -> `+05:30` / `-03:06` / `+00:00`. */
function offsetLabel(name: string): string {
  const m = /^GMT([+-])(\d{1,2})(?::(\d{2}))?/.exec(name);
  if (!m) return '+00:00';
  return `${m[1]}${(m[2] ?? '0').padStart(2, '0')}:${m[3] ?? '00'}`;
}

/**
 * Day (`YYYY-MM-DD`) and hour of an instant in a time zone. The hour is labelled with its UTC
 * offset, `YYYY-MM-DDTHH:00±HH:MM` (ISO 8601, so `Date.parse` reads it back as the instant the
 * hour starts): the hour a DST fall-back repeats is two hours, `2026-10-25T02:00+02:00` and
 * `2026-10-25T02:00+01:00` in Europe/Berlin, never one merged row.
 */
export function zonedParts(iso: string | number | Date, timeZone: string): { day: string; hour: string } {
  // Rollups ask the same whole hours again and again (every campaign, every grouping): those
  // answers are kept, per zone, for the exact instant.
  const cacheable = typeof iso === 'number' && iso % 60_000 === 0;
  let cache: Map<number, { day: string; hour: string }> | undefined;
  if (cacheable) {
    cache = zonedCache.get(timeZone);
    if (!cache) zonedCache.set(timeZone, (cache = new Map()));
    const hit = cache.get(iso);
    if (hit) return hit;
    if (cache.size >= ZONED_CACHE_MAX) cache.clear();
  }
  const parts = formatter(timeZone).formatToParts(new Date(iso));
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '00';
  const day = `${get('year')}-${get('month')}-${get('day')}`;
  const answer = Object.freeze({ day, hour: `${day}T${get('hour')}:00${offsetLabel(get('timeZoneName'))}` });
  if (cacheable) cache?.set(iso as number, answer);
  return answer;
}

/** zonedParts' answers for whole minutes, per time zone (at most ZONED_CACHE_MAX each: ten years of hours). */
const zonedCache = new Map<string, Map<number, { day: string; hour: string }>>();
const ZONED_CACHE_MAX = 100_000;

/** An instant as local time to the minute with its offset: `2026-08-27 14:05+02:00`. */
export function localTime(instant: Date, timeZone: string): string {
  const parts = formatter(timeZone).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '00';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}${offsetLabel(get('timeZoneName'))}`;
}

/** The day after a date (YYYY-MM-DD), as a date. */
export function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * The instant a local date (YYYY-MM-DD) starts in a time zone: the first instant whose local
 * date is that day. Usually local midnight; where a DST change skips midnight (America/Santiago
 * and America/Havana spring forward from 00:00 to 01:00) it is the first instant that exists,
 * 01:00. Found by bisection on the instant (local dates never run backwards), so it does not
 * depend on guessing offsets.
 */
export function startOfDay(date: string, timeZone: string): Date {
  const m = DATE.exec(date);
  if (!m) throw new Error(`not a date (YYYY-MM-DD): "${date}"`);
  const naive = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // UTC offsets lie within -12h..+14h: the day starts between naive - 15h and naive + 13h.
  let lo = naive - 15 * 3600_000; // local date before `date`
  let hi = naive + 13 * 3600_000; // local date `date` (or later)
  const reached = (instant: number) => zonedParts(instant, timeZone).day >= date;
  if (reached(lo) || !reached(hi)) throw new Error(`cannot find the start of ${date} in ${timeZone}`);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (reached(mid)) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

interface Accumulator {
  keys: Record<string, string | boolean | null>;
  clicks: number;
  bots: number;
  /** Clicks sent to a lander (not bots); with lpClicks, whether the row has lander traffic. */
  lpViews: number;
  lpClicks: number;
  /** Converted clicks seen one by one (raw), and counted ones from rollups (never the same click). */
  converted: Set<string>;
  convertedCount: number;
  conversions: Map<string, number>;
  revenue: Map<string, bigint>;
  cost: bigint;
  costSeen: boolean;
  /** Imported ad spend is part of `cost`. */
  spendSeen: boolean;
}

type Source = ClickAttributes & { campaignId?: string };

/** When a contribution happened: an instant (a click's time, a rollup hour) or, for spend, a local day. */
type When = string | number | { day: string };

function keysOf(source: Source, at: When, options: ReportOptions): Record<string, string | boolean | null> {
  const keys: Record<string, string | boolean | null> = {};
  const timed = options.by.includes('day') || options.by.includes('hour');
  const zoned = !timed ? undefined : typeof at === 'object' ? { day: at.day, hour: null } : zonedParts(at, options.timeZone);
  for (const key of options.by) {
    const field = GROUP_FIELDS[key];
    switch (key) {
      case 'campaign':
        keys[field] = source.campaignId ?? null;
        break;
      case 'offer':
        keys[field] = source.offerId ?? null;
        break;
      case 'lander':
        keys[field] = source.landerId ?? null;
        break;
      case 'channel':
        keys[field] = source.channelId ?? null;
        break;
      case 'clickid':
        keys[field] = source.campaignId === undefined ? null : source.channelClickId !== undefined;
        break;
      case 'day':
        keys[field] = zoned?.day ?? null;
        break;
      case 'hour':
        keys[field] = zoned?.hour ?? null;
        break;
      default:
        keys[field] = source[key] ?? null;
    }
  }
  return keys;
}

/**
 * The grouping values of a click or conversion (`at`: the click's time) for `by`, by JSON field
 * name: exactly what a report row is keyed by, so a filter on them (the dashboard's drill-down,
 * core/report-query.ts) selects exactly one row's items.
 */
export function groupValues(source: Source, at: string, by: GroupKey[], timeZone: string): Record<string, string | boolean | null> {
  return keysOf(source, at, { by, timeZone, costCurrency: '' });
}

function compareKeys(a: Record<string, string | boolean | null>, b: Record<string, string | boolean | null>, fields: string[]): number {
  for (const field of fields) {
    const x = a[field];
    const y = b[field];
    if (x === y) continue;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    // Hours sort by the instant they start, not by their text: 02:00+02:00 comes before
    // 02:00+01:00, and labels of different offsets compare correctly.
    if (field === GROUP_FIELDS.hour) return Date.parse(String(x)) - Date.parse(String(y));
    return String(x).localeCompare(String(y));
  }
  return 0;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** The span of click time a row stands for: its hour, its day, or the report's range. */
function rowSpan(keys: Record<string, string | boolean | null>, options: ReportOptions, range: { from: Date; to: Date }): Span {
  const hour = keys[GROUP_FIELDS.hour];
  if (typeof hour === 'string') {
    const from = Date.parse(hour);
    return { from, to: from + 3600_000 };
  }
  const day = keys[GROUP_FIELDS.day];
  if (typeof day === 'string') return { from: startOfDay(day, options.timeZone).getTime(), to: startOfDay(nextDay(day), options.timeZone).getTime() };
  return { from: range.from.getTime(), to: range.to.getTime() };
}

/** What rollups add to a row for one value in one hour (core/rollups counters, summed). */
export interface RollupClickCounts {
  clicks: number;
  bots: number;
  lpViews: number;
  lpClicks: number;
  cost: bigint;
  costClicks: number;
}

export interface RollupConversionCounts {
  conversions: Record<string, number>;
  revenue: Record<string, bigint>;
  converted: number;
}

/**
 * Aggregates clicks and conversions as they stream in (memory grows with the number of rows,
 * not of clicks), then yields the rows. Raw items and rollup counters land in the same rows.
 */
export class ReportBuilder {
  private readonly acc = new Map<string, Accumulator>();
  /**
   * Grouped by lander: the lander of each lander click read so far. The conversions index
   * does not project `landerId` (adding it to an existing index would mean replacing the index),
   * so a conversion takes its lander from its click, which a report reads before the campaign's
   * conversions. Only lander clicks, only when grouping by lander.
   */
  private readonly landers = new Map<string, string>();

  constructor(private readonly options: ReportOptions) {}

  private row(keys: Record<string, string | boolean | null>): Accumulator {
    const id = JSON.stringify(keys);
    let acc = this.acc.get(id);
    if (!acc) {
      acc = { keys, clicks: 0, bots: 0, lpViews: 0, lpClicks: 0, converted: new Set(), convertedCount: 0, conversions: new Map(), revenue: new Map(), cost: 0n, costSeen: false, spendSeen: false };
      this.acc.set(id, acc);
    }
    return acc;
  }

  /** The row a source belongs to, or undefined when the filter leaves it out. */
  private rowOf(source: Source, at: When): Accumulator | undefined {
    if (!matchesFilter(source, this.options.filter)) return undefined;
    return this.row(keysOf(source, at, this.options));
  }

  addClick(click: ReportClick): void {
    if (click.landerId !== undefined && this.options.by.includes('lander')) this.landers.set(click.clickId, click.landerId);
    const acc = this.rowOf(click, click.createdAt);
    if (!acc) return;
    // A bot is stored (one write) and shown as a bot, never counted as a click or its cost.
    if (click.bot) {
      acc.bots++;
      return;
    }
    acc.clicks++;
    if (click.landerId !== undefined) acc.lpViews++;
    if (click.lpClickAt !== undefined) acc.lpClicks++;
    if (click.cost !== undefined) {
      acc.cost += toMicros(click.cost);
      acc.costSeen = true;
    }
  }

  /**
   * One conversion. `convertedCounted`: its click is already counted as converted by a rollup
   * part of the same row (a conversion that arrived after the part was computed).
   */
  addConversion(conversion: ReportConversion, convertedCounted = false): void {
    const landerId = conversion.landerId ?? this.landers.get(conversion.clickId);
    const c = landerId !== undefined ? { ...conversion, landerId } : conversion;
    const acc = this.rowOf(c, c.clickCreatedAt ?? c.createdAt);
    if (!acc) return;
    if (c.counted) {
      acc.conversions.set(c.type, (acc.conversions.get(c.type) ?? 0) + 1);
      // CR counts clicks that converted; an organic sale has no click to count.
      if (c.campaignId !== undefined && !convertedCounted) acc.converted.add(c.clickId);
    }
    const micros = toMicros(c.revenue);
    if (micros !== 0n || acc.revenue.has(c.currency)) acc.revenue.set(c.currency, (acc.revenue.get(c.currency) ?? 0n) + micros);
  }

  /** The clicks of one rollup value in one UTC hour (`hourStart`, epoch ms). */
  addRollupClicks(source: Source, hourStart: number, c: RollupClickCounts): void {
    const acc = this.rowOf(source, hourStart);
    if (!acc) return;
    acc.clicks += c.clicks;
    acc.bots += c.bots;
    acc.lpViews += c.lpViews;
    acc.lpClicks += c.lpClicks;
    if (c.costClicks > 0) {
      acc.cost += c.cost;
      acc.costSeen = true;
    }
  }

  /** The conversions of one rollup value in one hour (the click's hour; organic: arrival). */
  addRollupConversions(source: Source, hourStart: number, c: RollupConversionCounts): void {
    const acc = this.rowOf(source, hourStart);
    if (!acc) return;
    for (const [type, n] of Object.entries(c.conversions)) acc.conversions.set(type, (acc.conversions.get(type) ?? 0) + n);
    acc.convertedCount += c.converted;
    // Present once any non-zero amount was seen, as for raw conversions.
    for (const [currency, micros] of Object.entries(c.revenue)) acc.revenue.set(currency, (acc.revenue.get(currency) ?? 0n) + micros);
  }

  /** Imported ad spend of one local day (`npm run spend`): cost, in the cost currency. */
  addSpend(source: Source, day: string, micros: bigint): void {
    const acc = this.rowOf(source, { day });
    if (!acc) return;
    acc.cost += micros;
    acc.spendSeen = true;
  }

  rows(): ReportRow[] {
    const { options } = this;
    const fields = options.by.map((k) => GROUP_FIELDS[k]);
    const all = [...this.acc.values()];
    const anyCost = all.some((a) => a.costSeen || a.spendSeen);
    const byCampaign = options.by.includes('campaign');
    return all
      .sort((a, b) => compareKeys(a.keys, b.keys, fields))
      .map((acc) => {
        const revenue = new Map([...acc.revenue].sort(([a], [b]) => a.localeCompare(b)));
        const completeness = options.completeness;
        const partial = completeness !== undefined && isPartial(rowSpan(acc.keys, options, completeness.range), completeness.coverage);
        const campaignId = acc.keys[GROUP_FIELDS.campaign];
        const converted = acc.converted.size + acc.convertedCount;
        const out: Omit<ReportRow, 'partial'> = {
          keys: acc.keys,
          ...(byCampaign ? { retired: typeof campaignId === 'string' && options.retired?.has(campaignId) === true } : {}),
          clicks: acc.clicks,
          bots: acc.bots,
          lpClicks: acc.lpClicks,
          // Lander CTR is lander clicks per (non-bot) click, for rows with lander traffic.
          lpCtr: partial || (acc.lpViews === 0 && acc.lpClicks === 0) ? null : acc.clicks > 0 ? round(acc.lpClicks / acc.clicks, 4) : 0,
          conversions: Object.fromEntries([...acc.conversions].sort(([a], [b]) => a.localeCompare(b))),
          revenue: Object.fromEntries([...revenue].map(([cur, m]) => [cur, formatMicros(m, 2)])),
          cr: partial ? null : acc.clicks > 0 ? round(converted / acc.clicks, 4) : 0,
          epc: partial ? null : Object.fromEntries([...revenue].map(([cur, m]) => [cur, formatMicros(acc.clicks > 0 ? m / BigInt(acc.clicks) : 0n, 4)])),
        };
        if (partial) {
          // Cost and profit come from clicks too: some of them may be gone.
          if (anyCost) Object.assign(out, { cost: null, profit: null, roi: null });
        } else if (acc.costSeen || acc.spendSeen) {
          const net = revenue.get(options.costCurrency) ?? 0n;
          const profit = net - acc.cost;
          out.cost = formatMicros(acc.cost, 2);
          out.costSource = acc.costSeen && acc.spendSeen ? 'clickUrl+spend' : acc.spendSeen ? 'spend' : 'clickUrl';
          out.profit = formatMicros(profit, 2);
          out.roi = acc.cost === 0n ? null : round(Number(profit) / Number(acc.cost), 4);
        }
        // Last, so JSON reads keys, metrics, then whether the click-based ones can be trusted.
        return { ...out, partial };
      });
  }
}

export function buildReport(clicks: Iterable<ReportClick>, conversions: Iterable<ReportConversion>, options: ReportOptions): ReportRow[] {
  const builder = new ReportBuilder(options);
  for (const click of clicks) builder.addClick(click);
  for (const conversion of conversions) builder.addConversion(conversion);
  return builder.rows();
}

/**
 * The JSON shape of a row: grouping keys by name first (and `retired` beside a campaign), then
 * the metrics and `partial`. Money stays exact decimal text here; formatJson writes it as JSON
 * numbers without ever making it a float.
 */
export function rowToJson(row: ReportRow): Record<string, unknown> {
  const { keys, retired, ...metrics } = row;
  return { ...keys, ...(retired === undefined ? {} : { retired }), ...metrics };
}

const MONEY_FIELDS = new Set(['revenue', 'epc', 'cost', 'profit']);

/**
 * `--json`: an array of rows (rowToJson). Money is written as JSON numbers with the exact
 * decimal text (`90071992547409.93`, `30.00`), not through a JS float, which would round it.
 */
export function formatJson(rows: ReportRow[]): string {
  const decimals: string[] = [];
  // A placeholder no report value can spell (it carries a fresh random part), swapped for the
  // decimal text after JSON.stringify.
  const token = `@@decimal${Math.random().toString(36).slice(2)}@@`;
  const asToken = (text: string) => {
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new Error(`not a decimal: "${text}"`);
    decimals.push(text);
    return `${token}${decimals.length - 1}`;
  };
  const replaced = rows.map((row) =>
    Object.fromEntries(
      Object.entries(rowToJson(row)).map(([field, value]) => {
        if (!MONEY_FIELDS.has(field) || value === null || value === undefined) return [field, value];
        if (typeof value === 'string') return [field, asToken(value)];
        return [field, Object.fromEntries(Object.entries(value as Record<string, string>).map(([cur, v]) => [cur, asToken(v)]))];
      }),
    ),
  );
  // terminalJson: C1, DEL and bidi controls in subs or types escaped as \uXXXX (same values).
  return terminalJson(replaced).replace(new RegExp(`"${token}(\\d+)"`, 'g'), (_, i: string) => decimals[Number(i)] ?? 'null');
}

/**
 * What to tell the reader when the range reaches before the oldest click that is surely kept:
 * from when clicks are kept, and what is and is not shown. Said even when no row is left (the
 * clicks of an old period may all be gone). Undefined when the range is complete.
 */
export function partialNotice(options: ReportOptions): string | undefined {
  const completeness = options.completeness;
  if (!completeness) return undefined;
  const range = { from: completeness.range.from.getTime(), to: completeness.range.to.getTime() };
  if (!isPartial(range, completeness.coverage)) return undefined;
  const since = clicksRetainedFrom(range, completeness.coverage);
  const when = since ? `${localTime(since, options.timeZone)} (${options.timeZone})` : 'the start of the range';
  const which = options.by.includes('day') || options.by.includes('hour') ? 'Rows marked * count' : 'This report counts';
  return (
    `* Partial click counts: clicks made before ${when} are past their retention (clickRetentionDays) and may be deleted. ` +
    `${which} only the clicks still stored, so cr, epc, cost, profit and roi are not shown (n/a); ` +
    'conversions and revenue are complete.'
  );
}

const NA = 'n/a';
const money = (values: Record<string, string>) =>
  Object.entries(values)
    .map(([cur, v]) => `${v} ${cur}`)
    .join(', ') || '-';

/** A row's key cell as text: (unattributed) for organic sales, a campaign's retirement. */
export function keyText(row: ReportRow, field: string): string {
  const v = row.keys[field];
  if (v === null || v === undefined) return field === GROUP_FIELDS.campaign ? '(unattributed)' : '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return field === GROUP_FIELDS.campaign && row.retired ? `${v} (retired)` : v;
}

/**
 * Which of the optional metric columns the table and the HTML page show: `bots` when some row
 * has a bot, `lpClicks` and `lpCtr` when some row has lander traffic. (JSON and CSV always carry
 * them, so their shape does not change with the data.)
 */
export interface MetricColumns {
  bots: boolean;
  landers: boolean;
}

export function metricColumns(rows: readonly ReportRow[]): MetricColumns {
  return { bots: rows.some((r) => r.bots > 0), landers: rows.some((r) => r.lpCtr !== null || r.lpClicks > 0) };
}

const NO_OPTIONAL_COLUMNS: MetricColumns = { bots: false, landers: false };

/** The metric column headers of the table and the HTML page. */
export function metricHeaders(columns: MetricColumns = NO_OPTIONAL_COLUMNS): string[] {
  return ['clicks', ...(columns.bots ? ['bots'] : []), ...(columns.landers ? ['lpClicks', 'lpCtr'] : []), 'conversions', 'revenue', 'cr', 'epc', 'cost', 'profit', 'roi'];
}

/** Metric columns that hold one number each (right-aligned). */
export const NUMERIC_METRICS = new Set(['clicks', 'bots', 'lpClicks', 'lpCtr', 'cr', 'cost', 'profit', 'roi']);

/** The metric cells of a row as the table and the HTML page show them (metricHeaders' order). */
export function metricTexts(row: ReportRow, columns: MetricColumns = NO_OPTIONAL_COLUMNS): string[] {
  const absent = row.partial ? NA : '-';
  return [
    `${row.clicks}${row.partial ? '*' : ''}`,
    ...(columns.bots ? [String(row.bots)] : []),
    ...(columns.landers ? [String(row.lpClicks), row.lpCtr === null ? absent : `${(row.lpCtr * 100).toFixed(2)}%`] : []),
    Object.entries(row.conversions).map(([t, n]) => `${t}=${n}`).join(' ') || '-',
    money(row.revenue),
    row.cr === null ? NA : `${(row.cr * 100).toFixed(2)}%`,
    row.epc === null ? NA : Object.entries(row.epc).map(([cur, v]) => `${v} ${cur}`).join(', ') || '-',
    row.cost === undefined || row.cost === null ? absent : row.cost,
    row.profit === undefined || row.profit === null ? absent : row.profit,
    row.roi === undefined || row.roi === null ? absent : `${(row.roi * 100).toFixed(1)}%`,
  ];
}

export const METRIC_HEADERS = metricHeaders();

/** An aligned plain-text table (with the partial-count notice under it when there is one). */
export function formatTable(rows: ReportRow[], by: GroupKey[], notice?: string): string {
  const fields = by.map((k) => GROUP_FIELDS[k]);
  const columns = metricColumns(rows);
  const metrics = metricHeaders(columns);
  const header = [...by, ...metrics];
  // Subs, countries and types came from requests: nothing in them may act on the terminal.
  const lines = rows.map((r) => [...fields.map((f) => keyText(r, f)), ...metricTexts(r, columns)].map(terminalSafe));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const numeric = new Set(metrics.map((m, i) => (NUMERIC_METRICS.has(m) ? by.length + i : -1)));
  const fmt = (c: string[]) => c.map((v, i) => (numeric.has(i) ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt), ...(notice ? ['', notice] : [])].join('\n');
}

function csvCell(raw: string): string {
  // No control characters (they would act on a terminal showing the file), quoted as RFC 4180,
  // and spreadsheet formulas (=, +, -, @ at the start of text) defused.
  const value = terminalSafe(raw);
  const plainNumber = /^-?\d+(\.\d+)?$/.test(value);
  const safe = /^[=+\-@\t\r]/.test(value) && !plainNumber ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * CSV: one column per grouping key, per conversion type and per currency, then `partial`
 * (and `retired` after the campaign); `bots`, `lpClicks` and `lpCtr` after `clicks`. Ratios of
 * partial rows (and lpCtr of rows without lander traffic) are left empty.
 */
export function formatCsv(rows: ReportRow[], by: GroupKey[]): string {
  const fields = by.map((k) => GROUP_FIELDS[k]);
  const byCampaign = by.includes('campaign');
  const types = [...new Set(rows.flatMap((r) => Object.keys(r.conversions)))].sort();
  const currencies = [...new Set(rows.flatMap((r) => Object.keys(r.revenue)))].sort();
  const header = [
    ...fields,
    ...(byCampaign ? ['retired'] : []),
    'clicks',
    'bots',
    'lpClicks',
    'lpCtr',
    ...types.map((t) => `conversions_${t}`),
    ...currencies.map((c) => `revenue_${c}`),
    'cr',
    ...currencies.map((c) => `epc_${c}`),
    'cost',
    'profit',
    'roi',
    'partial',
  ];
  const lines = rows.map((r) => [
    ...fields.map((f) => {
      const v = r.keys[f];
      return v === null || v === undefined ? '' : String(v);
    }),
    ...(byCampaign ? [String(r.retired === true)] : []),
    String(r.clicks),
    String(r.bots),
    String(r.lpClicks),
    r.lpCtr === null ? '' : String(r.lpCtr),
    ...types.map((t) => String(r.conversions[t] ?? 0)),
    ...currencies.map((c) => r.revenue[c] ?? '0.00'),
    r.cr === null ? '' : String(r.cr),
    ...currencies.map((c) => (r.epc === null ? '' : (r.epc[c] ?? '0.0000'))),
    r.cost ?? '',
    r.profit ?? '',
    r.roi === undefined || r.roi === null ? '' : String(r.roi),
    String(r.partial),
  ]);
  return [header, ...lines].map((l) => l.map(csvCell).join(',')).join('\n');
}
