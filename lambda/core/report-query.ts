/**
 * One report, as `npm run report` and the dashboard's `GET /api/report` both ask for it: a range
 * of days in a time zone, a grouping, an optional filter (the drill-down path: campaign, then
 * sub1, then sub2 ...) and whether test orders count. `runReport` is the one function both call,
 * so the dashboard's numbers are the CLI's numbers by construction; reading the data is a port
 * (the DynamoDB adapter in AWS and locally), so this file stays free of AWS shapes.
 *
 * The read port answers from rollups wherever they can (core/report-run readReport: closed UTC
 * hours from rollups, open and changed hours raw), so the CLI and the dashboard both read them.
 */
import { InvalidInput } from './postback-params';
import { quote } from './quote';
import {
  GROUP_FIELDS,
  GROUP_KEYS,
  ReportBuilder,
  clickCoverage,
  groupValues,
  isTimeZone,
  nextDay,
  partialNotice,
  reportCampaigns,
  startOfDay,
  zonedParts,
  type GroupKey,
  type ReportClick,
  type ReportConversion,
  type ReportOptions,
  type ReportRow,
  type RetentionEra,
  type ReportFilter as BuilderFilter,
  type Span,
} from './report';
import { RollupsCannotAnswerError, intersectSpans, type ReportStats, type Sink, type SourceChoice } from './report-run';
import { rollupEras } from './rollup-upkeep';

/** A grouping value a filter pins: text, a channel-click-id flag, or null for "none" (no sub1, organic). */
export type FilterValue = string | boolean | null;
export type ReportFilter = Partial<Record<GroupKey, FilterValue>>;

export interface ReportQuery {
  /** First day, `YYYY-MM-DD`, in `timeZone`. */
  fromDay: string;
  /** Last day, inclusive. */
  toDay: string;
  timeZone: string;
  by: GroupKey[];
  /** Only clicks and conversions whose grouping values equal these. */
  filter: ReportFilter;
  /** Count Digistore24 test orders too (`--include-tests`, the dashboard's toggle). */
  includeTests: boolean;
  /** Only these campaigns (`--campaign`); default every campaign of the config and the catalog. */
  campaigns?: string[];
  /** Where to read from (`--source`): rollups wherever they answer (auto, the default), raw, or rollups only. */
  source?: SourceChoice;
  /**
   * A bound on raw work (a web request): at most `maxRawItems` clicks and conversions read one by
   * one, no reading after `deadline` (epoch ms); past either, core/report-run NarrowRangeError.
   */
  limits?: { maxRawItems?: number; deadline?: number };
}

/** What the read port feeds: the report's builders (clicks and conversions, rollup counters, spend). */
export type ReportSink = Sink;

export interface ReportReadRequest {
  campaigns: string[];
  from: Date;
  to: Date;
  /** The range as local days in `timeZone` (imported spend is per day). */
  fromDay: string;
  toDay: string;
  timeZone: string;
  /** The grouping of each sink, in order (the table's first): what rollups must be able to answer. */
  groupings: GroupKey[][];
  /** The filter the sinks apply (rollups can answer only what they keep). */
  filter: BuilderFilter;
  source: SourceChoice;
  includeUnattributed: boolean;
  includeTests: boolean;
  /** defaults.rollupRetentionDays over time: where rollups may be gone. */
  rollupRetention: RetentionEra[];
  now: Date;
  limits?: { maxRawItems?: number; deadline?: number };
  onProgress?: (message: string) => void;
}

export interface ReportReadSummary {
  clicks: number;
  conversions: number;
  tests: number;
  stats: { queries: number; items: number; capacityUnits: number };
  /** Where it was read from (rollups, raw or mixed), and why raw, with the time it took. */
  report?: ReportStats;
  /** Why imported spend is not in these rows, when some exists. */
  spendNotice?: string;
  /** The spans whose clicks were read one by one (absent: all of them). */
  rawClickSpans?: Span[];
}

/** What a report reads: the deployed campaigns and retention (the catalog), and the clicks and conversions. */
export interface ReportPorts {
  /** The catalog; undefined where none was written yet (a data directory older than it). */
  catalog(): Promise<{ campaigns: { id: string; retiredAt?: string }[]; retention: RetentionEra[]; rollupRetention?: RetentionEra[] } | undefined>;
  read(request: ReportReadRequest, sinks: ReportSink[]): Promise<ReportReadSummary>;
}

/** What a report needs of the config. */
export interface ReportSettings {
  campaignIds: string[];
  costCurrency: string;
  clickRetentionDays: number;
  rollupRetentionDays: number;
}

export interface ReportResult {
  query: ReportQuery;
  rows: ReportRow[];
  /** The same data by day (or by hour when the report is grouped by hour): the daily chart. */
  chart: ReportRow[];
  /** Everything in one row (no grouping): the totals above the table. */
  totals: ReportRow | undefined;
  /** The partial-click-count notice, when the range reaches past the click retention. */
  notice?: string;
  /** Whether the catalog was there (else campaigns came from the config alone). */
  catalog: boolean;
  read: ReportReadSummary;
  options: ReportOptions;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** The longest range one request may read (a year and a day: "this month last year" still fits). */
export const MAX_RANGE_DAYS = 366;

function isDay(text: string): boolean {
  if (!DAY.test(text)) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
}

function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The grouping keys of a comma list; each unknown one is named. */
export function parseGroupKeys(text: string, parameter: string): GroupKey[] {
  const keys = text.split(',').map((k) => k.trim()).filter(Boolean);
  if (keys.length === 0) throw new InvalidInput(parameter, `give at least one of ${GROUP_KEYS.join(', ')}`);
  const unknown = keys.filter((k) => !(GROUP_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new InvalidInput(parameter, `unknown key(s) ${unknown.join(', ')}; use ${GROUP_KEYS.join(', ')}`);
  if (new Set(keys).size !== keys.length) throw new InvalidInput(parameter, 'a key is named twice');
  return keys as GroupKey[];
}

/**
 * The filter of a drill-down: a JSON object from grouping key to value (`{"campaign":"demo",
 * "sub1":null}`; null is "none": no sub1, an organic sale). JSON, because a sub value may hold
 * any character a comma list would have to escape.
 */
export function parseFilter(text: string, parameter = 'filter'): ReportFilter {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidInput(parameter, 'must be a JSON object, e.g. {"campaign":"demo","sub1":"adset-1"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidInput(parameter, 'must be a JSON object of grouping key -> value');
  const filter: ReportFilter = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(GROUP_KEYS as readonly string[]).includes(key)) throw new InvalidInput(`${parameter}.${key}`, `unknown key; use ${GROUP_KEYS.join(', ')}`);
    const ok = value === null || typeof value === 'boolean' || (typeof value === 'string' && value.length <= 500);
    if (!ok) throw new InvalidInput(`${parameter}.${key}`, 'must be a string (at most 500 characters), true/false or null');
    filter[key as GroupKey] = value as FilterValue;
  }
  return filter;
}

/**
 * The query of `GET /api/report?from&to&tz&by&filter&tests` (and the CLI's flags, which name the
 * same things): every parameter checked, each refusal naming it. Defaults as the CLI's: the last
 * 30 days up to today in the zone, by campaign, UTC.
 */
export function parseReportQuery(params: Readonly<Record<string, string | undefined>>, now: Date = new Date()): ReportQuery {
  const timeZone = params.tz || 'UTC';
  if (timeZone.length > 64 || !isTimeZone(timeZone)) throw new InvalidInput('tz', `"${quote(timeZone, 64)}" is not a time zone (e.g. UTC, Europe/Berlin, America/New_York)`);
  const toDay = params.to || zonedParts(now.toISOString(), timeZone).day;
  if (!isDay(toDay)) throw new InvalidInput('to', `"${quote(toDay, 64)}" is not a date (YYYY-MM-DD)`);
  const fromDay = params.from || addDays(toDay, -29);
  if (!isDay(fromDay)) throw new InvalidInput('from', `"${quote(fromDay, 64)}" is not a date (YYYY-MM-DD)`);
  if (fromDay > toDay) throw new InvalidInput('from', `${fromDay} is after to ${toDay}`);
  if (fromDay < addDays(toDay, -(MAX_RANGE_DAYS - 1))) throw new InvalidInput('from', `the range may span at most ${MAX_RANGE_DAYS} days`);
  const by = parseGroupKeys(params.by || 'campaign', 'by');
  const filter = params.filter ? parseFilter(params.filter) : {};
  const tests = params.tests ?? '';
  if (!['', '0', '1', 'true', 'false'].includes(tests)) throw new InvalidInput('tests', 'must be 1 or 0');
  return { fromDay, toDay, timeZone, by, filter, includeTests: tests === '1' || tests === 'true' };
}

/** Whether an item's grouping values equal the filter's (the same values the report groups by). */
function matcher(filter: ReportFilter, timeZone: string): ((source: ReportClick | ReportConversion, at: string) => boolean) | undefined {
  const keys = Object.keys(filter) as GroupKey[];
  if (keys.length === 0) return undefined;
  return (source, at) => {
    const values = groupValues(source, at, keys, timeZone);
    return keys.every((key) => values[GROUP_FIELDS[key]] === filter[key]);
  };
}

/** A filter on day or hour (raw only: rollup counters are not filtered by time): each item is matched as it is read. */
function filtered(sink: ReportSink, filter: ReportFilter, timeZone: string): ReportSink {
  const matches = matcher(filter, timeZone);
  if (!matches) return sink;
  const refuse = () => {
    throw new Error('a report filtered by day or hour is read raw');
  };
  return {
    addClick: (click) => {
      if (matches(click, click.createdAt)) sink.addClick(click);
    },
    addConversion: (conversion, counted) => {
      if (matches(conversion, conversion.clickCreatedAt ?? conversion.createdAt)) sink.addConversion(conversion, counted);
    },
    addRollupClicks: refuse,
    addRollupConversions: refuse,
    addSpend: refuse,
  };
}

/**
 * The filter as the report builders apply it (core/report ReportFilter: the channel click-id
 * flag as yes/no), or undefined when it pins a day or an hour, or a flag on a text key: those
 * are matched item by item on the raw path.
 */
function builderFilter(filter: ReportFilter): BuilderFilter | undefined {
  const out: BuilderFilter = {};
  for (const [key, value] of Object.entries(filter) as [GroupKey, FilterValue][]) {
    if (key === 'day' || key === 'hour') return undefined;
    if (key === 'clickid') {
      if (typeof value !== 'boolean' && value !== null) return undefined;
      out.clickid = value === null ? null : value ? 'yes' : 'no';
    } else {
      if (typeof value === 'boolean') return undefined;
      out[key] = value;
    }
  }
  return out;
}

/**
 * The report: the campaigns to read (the config's and every one the catalog knows, narrowed by
 * `campaigns` or a campaign filter), the clicks and conversions of the range streamed through
 * the filter into the table and the chart, and the partial-count notice.
 */
export async function runReport(
  query: ReportQuery,
  settings: ReportSettings,
  ports: ReportPorts,
  now: Date = new Date(),
  onProgress?: (message: string) => void,
): Promise<ReportResult> {
  const from = startOfDay(query.fromDay, query.timeZone);
  const to = startOfDay(nextDay(query.toDay), query.timeZone);
  const catalog = await ports.catalog();
  const known = reportCampaigns(settings.campaignIds, catalog?.campaigns);
  let campaigns = query.campaigns ?? known.campaigns;
  // Organic sales belong to no campaign: shown when the report is not narrowed to some.
  let includeUnattributed = query.campaigns === undefined;
  const pinned = query.filter.campaign;
  if (typeof pinned === 'string') {
    campaigns = campaigns.filter((c) => c === pinned);
    includeUnattributed = false;
  } else if (pinned === null) {
    campaigns = [];
  }
  const coverage = clickCoverage(catalog?.retention ?? [], settings.clickRetentionDays, now);
  // A filter the builders apply themselves (rollup counters included); one on day or hour is
  // matched item by item, which only the raw path can do.
  const builderPinned = builderFilter(query.filter);
  let source: SourceChoice = query.source ?? 'auto';
  if (builderPinned === undefined) {
    if (source === 'rollups') throw new RollupsCannotAnswerError('a filter on day, hour or a flag is matched click by click');
    source = 'raw';
  }
  const options: ReportOptions = {
    by: query.by,
    timeZone: query.timeZone,
    costCurrency: settings.costCurrency,
    // The coverage is narrowed below to the clicks that were read one by one.
    completeness: { range: { from, to }, coverage },
    retired: known.retired,
    ...(builderPinned ? { filter: builderPinned } : {}),
  };
  const table = new ReportBuilder(options);
  // The chart follows the report's finest time grouping: hours when it is grouped by hour.
  const chartBy: GroupKey[] = [query.by.includes('hour') ? 'hour' : 'day'];
  const chart = new ReportBuilder({ ...options, by: chartBy });
  const totals = new ReportBuilder({ ...options, by: [] });
  const read = await ports.read(
    {
      campaigns,
      from,
      to,
      fromDay: query.fromDay,
      toDay: query.toDay,
      timeZone: query.timeZone,
      groupings: [query.by, chartBy, []],
      filter: builderPinned ?? {},
      source,
      includeUnattributed,
      includeTests: query.includeTests,
      rollupRetention: rollupEras(catalog?.rollupRetention ?? [], settings.rollupRetentionDays),
      now,
      ...(query.limits ? { limits: query.limits } : {}),
      ...(onProgress ? { onProgress } : {}),
    },
    [table, chart, totals].map((sink) => (builderPinned ? sink : filtered(sink, query.filter, query.timeZone))),
  );
  // Click counts are partial only where clicks were read one by one and may have expired
  // (rollups outlive the clicks). The three builders share this completeness object.
  if (read.rawClickSpans && options.completeness) options.completeness.coverage = { expired: intersectSpans(coverage.expired, read.rawClickSpans) };
  const notice = partialNotice(options);
  return { query, rows: table.rows(), chart: chart.rows(), totals: totals.rows()[0], ...(notice ? { notice } : {}), catalog: catalog !== undefined, read, options };
}

/** What a report takes from the tracker config. */
export function reportSettings(config: { campaigns: readonly { id: string }[]; defaults: { currency: string; clickRetentionDays: number; rollupRetentionDays: number } }): ReportSettings {
  return {
    campaignIds: config.campaigns.map((c) => c.id),
    costCurrency: config.defaults.currency,
    clickRetentionDays: config.defaults.clickRetentionDays,
    rollupRetentionDays: config.defaults.rollupRetentionDays,
  };
}
