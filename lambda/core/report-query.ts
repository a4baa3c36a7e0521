/**
 * One report, as `npm run report` and the dashboard's `GET /api/report` both ask for it: a range
 * of days in a time zone, a grouping, an optional filter (the drill-down path: campaign, then
 * sub1, then sub2 ...) and whether test orders count. `runReport` is the one function both call,
 * so the dashboard's numbers are the CLI's numbers by construction; reading the data is a port
 * (the DynamoDB adapter in AWS and locally), so this file stays free of AWS shapes.
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
} from './report';

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
}

export interface ReportSink {
  addClick(click: ReportClick): void;
  addConversion(conversion: ReportConversion): void;
}

export interface ReportReadRequest {
  campaigns: string[];
  from: Date;
  to: Date;
  includeUnattributed: boolean;
  includeTests: boolean;
  onProgress?: (message: string) => void;
}

export interface ReportReadSummary {
  clicks: number;
  conversions: number;
  tests: number;
  stats: { queries: number; items: number; capacityUnits: number };
}

/** What a report reads: the deployed campaigns and retention (the catalog), and the clicks and conversions. */
export interface ReportPorts {
  /** The catalog; undefined where none was written yet (a data directory older than it). */
  catalog(): Promise<{ campaigns: { id: string; retiredAt?: string }[]; retention: RetentionEra[] } | undefined>;
  read(request: ReportReadRequest, sinks: ReportSink[]): Promise<ReportReadSummary>;
}

/** What a report needs of the config. */
export interface ReportSettings {
  campaignIds: string[];
  costCurrency: string;
  clickRetentionDays: number;
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

function filtered(sink: ReportSink, filter: ReportFilter, timeZone: string): ReportSink {
  const matches = matcher(filter, timeZone);
  if (!matches) return sink;
  return {
    addClick: (click) => {
      if (matches(click, click.createdAt)) sink.addClick(click);
    },
    addConversion: (conversion) => {
      if (matches(conversion, conversion.clickCreatedAt ?? conversion.createdAt)) sink.addConversion(conversion);
    },
  };
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
  const options: ReportOptions = {
    by: query.by,
    timeZone: query.timeZone,
    costCurrency: settings.costCurrency,
    completeness: { range: { from, to }, coverage: clickCoverage(catalog?.retention ?? [], settings.clickRetentionDays, now) },
    retired: known.retired,
  };
  const table = new ReportBuilder(options);
  // The chart follows the report's finest time grouping: hours when it is grouped by hour.
  const chart = new ReportBuilder({ ...options, by: [query.by.includes('hour') ? 'hour' : 'day'] });
  const totals = new ReportBuilder({ ...options, by: [] });
  const read = await ports.read(
    { campaigns, from, to, includeUnattributed, includeTests: query.includeTests, ...(onProgress ? { onProgress } : {}) },
    [table, chart, totals].map((sink) => filtered(sink, query.filter, query.timeZone)),
  );
  const notice = partialNotice(options);
  return { query, rows: table.rows(), chart: chart.rows(), totals: totals.rows()[0], ...(notice ? { notice } : {}), catalog: catalog !== undefined, read, options };
}

/** What a report takes from the tracker config. */
export function reportSettings(config: { campaigns: readonly { id: string }[]; defaults: { currency: string; clickRetentionDays: number } }): ReportSettings {
  return { campaignIds: config.campaigns.map((c) => c.id), costCurrency: config.defaults.currency, clickRetentionDays: config.defaults.clickRetentionDays };
}
