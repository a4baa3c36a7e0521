/**
 * Rollups: per campaign and UTC hour, the report's numbers kept apart from the raw clicks and
 * conversions, so a report of any range reads a few small items per hour instead of every click,
 * and a period keeps its true click counts after TTL deleted its clicks.
 *
 * A rollup is never incremented: each part is recomputed from the raw data and overwritten, so
 * doing the same work twice (a retried run, a replayed batch) writes the same item.
 *
 * - The CLICK part of hour H is computed from the clicks made in H once H is closed (and again
 *   when a lander click or a replayed click changes one of them later), never after H's clicks
 *   may have expired. Two items: the main dimensions and the sub dimensions.
 * - The CONVERSION part of hour H holds the conversions whose click was made in H (organic
 *   sales: that arrived in H) and arrived before the part's `cut`; conversions that arrived
 *   since are read raw by reports. It is recomputed whenever one arrives, however late.
 *
 * Plain data and pure functions: the adapters store and read parts, the upkeep decides when.
 */
import { toMicros } from './decimal';
import { UNATTRIBUTED_CLICK_ID } from './model';
import type { ReportClick, ReportConversion } from './report';

export const HOUR_MS = 3600_000;

/** What the rollups keep, each with its own map of value -> counters per campaign and hour. */
export const ROLLUP_DIMENSIONS = ['campaign', 'offer', 'lander', 'channel', 'country', 'sub1', 'sub2', 'sub3'] as const;
export type RollupDimension = (typeof ROLLUP_DIMENSIONS)[number];

/** The click part is stored as two items: the small main dimensions, and the subs. */
export const MAIN_DIMENSIONS = ['campaign', 'offer', 'lander', 'channel', 'country'] as const satisfies readonly RollupDimension[];
export const SUB_DIMENSIONS = ['sub1', 'sub2', 'sub3'] as const satisfies readonly RollupDimension[];
export type ClickGroup = 'main' | 'subs';
export const groupOf = (dimension: RollupDimension): ClickGroup => ((SUB_DIMENSIONS as readonly string[]).includes(dimension) ? 'subs' : 'main');

/**
 * The value a click or conversion has in a dimension: one element, or the path of subs for
 * `sub2` (sub1, sub2) and `sub3` (sub1, sub2, sub3), so a drill-down under one sub1 stays exact.
 * null where there is none.
 */
export type DimensionValue = readonly (string | null)[];

/** The attributes a rollup value stands for (what report rows are keyed and filtered by). */
export interface RollupSource {
  campaignId?: string;
  offerId?: string;
  landerId?: string;
  channelId?: string;
  country?: string;
  sub1?: string;
  sub2?: string;
  sub3?: string;
}

export interface ClickCounters {
  /** Clicks of people (bots are never counted here). */
  clicks: number;
  bots: number;
  /** Clicks that were sent to a lander (lander campaigns): lpCtr's base. */
  lpViews: number;
  /** Of those, the ones whose visitor clicked through the lander (`/go`). */
  lpClicks: number;
  /** Sum of the clicks' costs in micro-units, and how many carried one. */
  cost: bigint;
  costClicks: number;
}

export interface ConversionCounters {
  /** Counted conversions per type, live (not Digistore24 test orders). */
  conversions: Record<string, number>;
  /** Revenue per currency in micro-units; a currency is present once a non-zero amount was seen. */
  revenue: Record<string, bigint>;
  /** Clicks with at least one counted live conversion. */
  converted: number;
  testConversions: Record<string, number>;
  testRevenue: Record<string, bigint>;
  /** Clicks with at least one counted conversion, live or test (the CR of `--include-tests`). */
  convertedAny: number;
}

export interface Entry<C> {
  value: DimensionValue;
  counters: C;
}

/** Dimension -> value (JSON of the value) -> entry. */
export type DimensionMaps<C> = Partial<Record<RollupDimension, Map<string, Entry<C>>>>;

export interface ClickPart {
  dims: DimensionMaps<ClickCounters>;
}

export interface ConversionPart {
  /** ISO time: the part holds exactly the conversions that arrived (createdAt) before it. */
  cut: string;
  /** Clicks with a counted live conversion in this part (reports must not count them converted twice). */
  converted: string[];
  /** Clicks with a counted test conversion and no counted live one. */
  convertedTest: string[];
  dims: DimensionMaps<ConversionCounters>;
}

export const valueKey = (value: DimensionValue): string => JSON.stringify(value);

/** A source's value in a dimension. Organic sales (no campaign) have none anywhere. */
export function dimensionValue(dimension: RollupDimension, s: RollupSource): DimensionValue {
  const v = (x: string | undefined) => x ?? null;
  switch (dimension) {
    case 'campaign':
      return [v(s.campaignId)];
    case 'offer':
      return [v(s.offerId)];
    case 'lander':
      return [v(s.landerId)];
    case 'channel':
      return [v(s.channelId)];
    case 'country':
      return [v(s.country)];
    case 'sub1':
      return [v(s.sub1)];
    case 'sub2':
      return [v(s.sub1), v(s.sub2)];
    case 'sub3':
      return [v(s.sub1), v(s.sub2), v(s.sub3)];
  }
}

/** The attributes a value of a dimension stands for (the inverse of dimensionValue). */
export function sourceOf(dimension: RollupDimension, campaignId: string | undefined, value: DimensionValue): RollupSource {
  const out: RollupSource = campaignId === undefined ? {} : { campaignId };
  const set = (key: keyof RollupSource, x: string | null | undefined) => {
    if (typeof x === 'string') out[key] = x;
  };
  switch (dimension) {
    case 'campaign':
      break;
    case 'offer':
      set('offerId', value[0]);
      break;
    case 'lander':
      set('landerId', value[0]);
      break;
    case 'channel':
      set('channelId', value[0]);
      break;
    case 'country':
      set('country', value[0]);
      break;
    default: {
      // sub1, sub2 (sub1, sub2), sub3 (sub1, sub2, sub3)
      const subs = ['sub1', 'sub2', 'sub3'] as const;
      subs.slice(0, subs.indexOf(dimension) + 1).forEach((key, i) => set(key, value[i]));
    }
  }
  return out;
}

export const emptyClickCounters = (): ClickCounters => ({ clicks: 0, bots: 0, lpViews: 0, lpClicks: 0, cost: 0n, costClicks: 0 });
export const emptyConversionCounters = (): ConversionCounters => ({ conversions: {}, revenue: {}, converted: 0, testConversions: {}, testRevenue: {}, convertedAny: 0 });

function entry<C>(dims: DimensionMaps<C>, dimension: RollupDimension, value: DimensionValue, empty: () => C): C {
  let map = dims[dimension];
  if (!map) dims[dimension] = map = new Map();
  const key = valueKey(value);
  let e = map.get(key);
  if (!e) map.set(key, (e = { value, counters: empty() }));
  return e.counters;
}

/** Adds one click to counters: a bot only to `bots`; a person to clicks, lander views/clicks and cost. */
export function countClick(c: ClickCounters, click: Pick<ReportClick, 'bot' | 'landerId' | 'lpClickAt' | 'cost'>): void {
  if (click.bot) {
    c.bots++;
    return;
  }
  c.clicks++;
  if (click.landerId !== undefined) c.lpViews++;
  if (click.lpClickAt !== undefined) c.lpClicks++;
  if (click.cost !== undefined) {
    c.cost += toMicros(click.cost);
    c.costClicks++;
  }
}

/** The click part of one campaign-hour from its clicks, in the given dimensions. */
/** Clicks by the UTC hour they were made in (epoch ms of its start). */
export async function clicksByHour(clicks: AsyncIterable<ReportClick>): Promise<Map<number, ReportClick[]>> {
  const byHour = new Map<number, ReportClick[]>();
  for await (const click of clicks) {
    const hour = hourOf(click.createdAt);
    let list = byHour.get(hour);
    if (!list) byHour.set(hour, (list = []));
    list.push(click);
  }
  return byHour;
}

export function clickPart(clicks: Iterable<ReportClick>, dimensions: readonly RollupDimension[]): ClickPart {
  const dims: DimensionMaps<ClickCounters> = {};
  for (const click of clicks) {
    for (const d of dimensions) countClick(entry(dims, d, dimensionValue(d, click), emptyClickCounters), click);
  }
  return { dims };
}

/** Adds an amount the way raw reports do: a currency appears once a non-zero amount was seen. */
export function addRevenue(revenue: Record<string, bigint>, currency: string, micros: bigint): void {
  if (micros !== 0n) revenue[currency] = (revenue[currency] ?? 0n) + micros;
}

/**
 * The conversion part of one campaign-hour: every conversion given that arrived before `cut`
 * (test orders marked `test`), with the clicks that converted.
 */
export function conversionPart(conversions: Iterable<ReportConversion>, cut: string, dimensions: readonly RollupDimension[]): ConversionPart {
  const dims: DimensionMaps<ConversionCounters> = {};
  const live = new Set<string>();
  const any = new Set<string>();
  // Per dimension value: the clicks that converted (live / any), counted at the end.
  const liveBy = new Map<ConversionCounters, Set<string>>();
  const anyBy = new Map<ConversionCounters, Set<string>>();
  const add = (sets: Map<ConversionCounters, Set<string>>, c: ConversionCounters, clickId: string) => {
    let set = sets.get(c);
    if (!set) sets.set(c, (set = new Set()));
    set.add(clickId);
  };
  for (const conversion of conversions) {
    if (conversion.createdAt >= cut) continue;
    // An organic sale has no click: it never counts as a converted click (as in raw reports).
    const attributed = conversion.campaignId !== undefined && conversion.clickId !== UNATTRIBUTED_CLICK_ID;
    const micros = toMicros(conversion.revenue);
    if (attributed && conversion.counted) {
      any.add(conversion.clickId);
      if (!conversion.test) live.add(conversion.clickId);
    }
    for (const d of dimensions) {
      const c = entry(dims, d, dimensionValue(d, conversion), emptyConversionCounters);
      const conversionsOf = conversion.test ? c.testConversions : c.conversions;
      if (conversion.counted) conversionsOf[conversion.type] = (conversionsOf[conversion.type] ?? 0) + 1;
      addRevenue(conversion.test ? c.testRevenue : c.revenue, conversion.currency, micros);
      if (attributed && conversion.counted) {
        add(anyBy, c, conversion.clickId);
        if (!conversion.test) add(liveBy, c, conversion.clickId);
      }
    }
  }
  for (const [c, set] of liveBy) c.converted = set.size;
  for (const [c, set] of anyBy) c.convertedAny = set.size;
  return {
    cut,
    converted: [...live].sort(),
    convertedTest: [...any].filter((id) => !live.has(id)).sort(),
    dims,
  };
}

/** A part as read back, with the UTC hour (epoch ms of its start) it is for. */
export interface StoredPart<P> {
  hour: number;
  part: P;
}

export const isEmptyPart = (part: { dims: DimensionMaps<unknown> }): boolean => Object.values(part.dims).every((m) => m === undefined || m.size === 0);

/** The UTC hour an instant falls in, as epoch ms of its start. */
export const hourOf = (instant: string | number): number => {
  const t = typeof instant === 'number' ? instant : Date.parse(instant);
  return Math.floor(t / HOUR_MS) * HOUR_MS;
};

/** `2026-11-25T13` — the sort key of an hour (UTC). */
export const hourKey = (hourStart: number): string => new Date(hourStart).toISOString().slice(0, 13);
export const hourFromKey = (key: string): number => Date.parse(`${key}:00:00.000Z`);

/** The hour a conversion belongs to in rollups: its click's (organic sales: their own arrival). */
export const conversionHour = (c: Pick<ReportConversion, 'clickCreatedAt' | 'createdAt'>): number => hourOf(c.clickCreatedAt ?? c.createdAt);

// ---- the stored form (plain JSON; the adapter compresses it) --------------------------------

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

const bigMap = (m: Record<string, bigint>): Record<string, string> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString()]));

function encodeDims<C>(dims: DimensionMaps<C>, counters: (c: C) => Json[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const d of ROLLUP_DIMENSIONS) {
    const map = dims[d];
    if (map && map.size > 0) out[d] = [...map.values()].map((e) => [e.value as Json[], ...counters(e.counters)]);
  }
  return out;
}

export function encodeClickPart(part: ClickPart): Json {
  return { v: 1, d: encodeDims(part.dims, (c) => [c.clicks, c.bots, c.lpViews, c.lpClicks, c.cost.toString(), c.costClicks]) };
}

export function encodeConversionPart(part: ConversionPart): Json {
  return {
    v: 1,
    cut: part.cut,
    ids: part.converted,
    idsT: part.convertedTest,
    d: encodeDims(part.dims, (c) => [c.conversions, bigMap(c.revenue), c.converted, c.testConversions, bigMap(c.testRevenue), c.convertedAny]),
  };
}

class PartError extends Error {}
const fail = (what: string): never => {
  throw new PartError(`stored rollup part is malformed: ${what}`);
};
const int = (v: unknown, what: string): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(what));
const big = (v: unknown, what: string): bigint => (typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : fail(what));
const counts = (v: unknown, what: string): Record<string, number> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(what);
  return Object.fromEntries(Object.entries(v).map(([k, n]) => [k, int(n, what)]));
};
const amounts = (v: unknown, what: string): Record<string, bigint> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(what);
  return Object.fromEntries(Object.entries(v).map(([k, n]) => [k, big(n, what)]));
};
const value = (v: unknown, what: string): DimensionValue => (Array.isArray(v) && v.every((x) => x === null || typeof x === 'string') ? (v as (string | null)[]) : fail(what));
const strings = (v: unknown, what: string): string[] => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : fail(what));

function decodeDims<C>(raw: unknown, counters: (row: unknown[], what: string) => C): DimensionMaps<C> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail('dimensions');
  const dims: DimensionMaps<C> = {};
  for (const [d, rows] of Object.entries(raw)) {
    if (!(ROLLUP_DIMENSIONS as readonly string[]).includes(d)) fail(`unknown dimension ${d}`);
    if (!Array.isArray(rows)) return fail(d);
    const map = new Map<string, Entry<C>>();
    for (const row of rows) {
      if (!Array.isArray(row)) return fail(d);
      const v = value(row[0], d);
      map.set(valueKey(v), { value: v, counters: counters(row.slice(1), d) });
    }
    dims[d as RollupDimension] = map;
  }
  return dims;
}

export function decodeClickPart(raw: unknown): ClickPart {
  const o = raw as { v?: unknown; d?: unknown } | null;
  if (o === null || typeof o !== 'object' || o.v !== 1) return fail('version');
  return {
    dims: decodeDims(o.d, (r, w) => ({ clicks: int(r[0], w), bots: int(r[1], w), lpViews: int(r[2], w), lpClicks: int(r[3], w), cost: big(r[4], w), costClicks: int(r[5], w) })),
  };
}

export function decodeConversionPart(raw: unknown): ConversionPart {
  const o = raw as { v?: unknown; cut?: unknown; ids?: unknown; idsT?: unknown; d?: unknown } | null;
  if (o === null || typeof o !== 'object' || o.v !== 1 || typeof o.cut !== 'string') return fail('version or cut');
  return {
    cut: o.cut,
    converted: strings(o.ids, 'ids'),
    convertedTest: strings(o.idsT, 'idsT'),
    dims: decodeDims(o.d, (r, w) => ({
      conversions: counts(r[0], w),
      revenue: amounts(r[1], w),
      converted: int(r[2], w),
      testConversions: counts(r[3], w),
      testRevenue: amounts(r[4], w),
      convertedAny: int(r[5], w),
    })),
  };
}
