/**
 * Reports: clicks and conversions grouped by any of campaign, offer, channel, sub1..sub5,
 * channel click-id presence, country, day or hour (in a chosen time zone), with conversions
 * per type, net revenue per currency, conversion rate, EPC, and cost / profit / ROI where
 * clicks carried a cost. Pure aggregation over plain rows; money is summed exactly in
 * micro-units.
 *
 * Conversions are attributed to their click: they land in the click's row and on the click's
 * day (the usual tracker convention, so a campaign's EPC is revenue per click it bought).
 * Unattributed (organic) conversions have no click: they land in a row of their own, on the
 * day they arrived.
 */
import { formatMicros, toMicros } from './decimal';
import { terminalSafe } from './terminal-safe';

export const GROUP_KEYS = ['campaign', 'offer', 'channel', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'clickid', 'country', 'day', 'hour'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

/** JSON field name of each grouping key. */
export const GROUP_FIELDS: Record<GroupKey, string> = {
  campaign: 'campaignId',
  offer: 'offerId',
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
}

export interface ReportRow {
  /** Grouping values by JSON field name (campaignId, day, ...); null where there is none. */
  keys: Record<string, string | boolean | null>;
  clicks: number;
  /** Counted conversions per type. */
  conversions: Record<string, number>;
  /** Net revenue per currency (refunds and chargebacks are negative). */
  revenue: Record<string, number>;
  /** Share of clicks with at least one counted conversion. */
  cr: number;
  /** Net revenue per click, per currency. */
  epc: Record<string, number>;
  /** Sum of click costs (in the config's default currency); present only where clicks carried a cost. */
  cost?: number;
  /**
   * Where `cost` came from: `clickUrl`, the click URL's cost= parameter, taken only for campaigns
   * with `cost.fromUrl` and capped at their `cost.max`.
   */
  costSource?: 'clickUrl';
  profit?: number;
  /** profit / cost; null when cost is 0. */
  roi?: number | null;
}

export interface ReportOptions {
  by: GroupKey[];
  /** IANA time zone for day and hour (default UTC). */
  timeZone: string;
  /** Currency costs are in (the config's default). */
  costCurrency: string;
}

/** Day (YYYY-MM-DD) and hour (YYYY-MM-DD HH:00) of an instant in a time zone. */
export function zonedParts(iso: string, timeZone: string): { day: string; hour: string } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
  const day = `${get('year')}-${get('month')}-${get('day')}`;
  return { day, hour: `${day} ${get('hour')}:00` };
}

/** Offset of a time zone from UTC at an instant, in minutes. */
function offsetMinutes(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(instant));
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return Math.round((asUtc - instant) / 60000);
}

/** The UTC instant at which a local date (YYYY-MM-DD) starts in a time zone. */
export function startOfDay(date: string, timeZone: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`not a date (YYYY-MM-DD): "${date}"`);
  const naive = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Two passes settle the offset across a DST change.
  let instant = naive - offsetMinutes(naive, timeZone) * 60000;
  instant = naive - offsetMinutes(instant, timeZone) * 60000;
  return new Date(instant);
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
  converted: Set<string>;
  conversions: Map<string, number>;
  revenue: Map<string, bigint>;
  cost: bigint;
  costSeen: boolean;
}

type Source = ClickAttributes & { campaignId?: string };

function keysOf(source: Source, at: string, options: ReportOptions): Record<string, string | boolean | null> {
  const keys: Record<string, string | boolean | null> = {};
  const zoned = options.by.includes('day') || options.by.includes('hour') ? zonedParts(at, options.timeZone) : undefined;
  for (const key of options.by) {
    const field = GROUP_FIELDS[key];
    switch (key) {
      case 'campaign':
        keys[field] = source.campaignId ?? null;
        break;
      case 'offer':
        keys[field] = source.offerId ?? null;
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

function compareKeys(a: Record<string, string | boolean | null>, b: Record<string, string | boolean | null>, fields: string[]): number {
  for (const field of fields) {
    const x = a[field];
    const y = b[field];
    if (x === y) continue;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return String(x).localeCompare(String(y));
  }
  return 0;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/**
 * Aggregates clicks and conversions as they stream in (memory grows with the number of rows,
 * not of clicks), then yields the rows.
 */
export class ReportBuilder {
  private readonly acc = new Map<string, Accumulator>();

  constructor(private readonly options: ReportOptions) {}

  private row(keys: Record<string, string | boolean | null>): Accumulator {
    const id = JSON.stringify(keys);
    let acc = this.acc.get(id);
    if (!acc) this.acc.set(id, (acc = { keys, clicks: 0, converted: new Set(), conversions: new Map(), revenue: new Map(), cost: 0n, costSeen: false }));
    return acc;
  }

  addClick(click: ReportClick): void {
    const acc = this.row(keysOf(click, click.createdAt, this.options));
    acc.clicks++;
    if (click.cost !== undefined) {
      acc.cost += toMicros(click.cost);
      acc.costSeen = true;
    }
  }

  addConversion(c: ReportConversion): void {
    const acc = this.row(keysOf(c, c.clickCreatedAt ?? c.createdAt, this.options));
    if (c.counted) {
      acc.conversions.set(c.type, (acc.conversions.get(c.type) ?? 0) + 1);
      // CR counts clicks that converted; an organic sale has no click to count.
      if (c.campaignId !== undefined) acc.converted.add(c.clickId);
    }
    const micros = toMicros(c.revenue);
    if (micros !== 0n || acc.revenue.has(c.currency)) acc.revenue.set(c.currency, (acc.revenue.get(c.currency) ?? 0n) + micros);
  }

  rows(): ReportRow[] {
    const fields = this.options.by.map((k) => GROUP_FIELDS[k]);
    return [...this.acc.values()]
      .sort((a, b) => compareKeys(a.keys, b.keys, fields))
      .map((acc) => {
        const revenue = new Map([...acc.revenue].sort(([a], [b]) => a.localeCompare(b)));
        const out: ReportRow = {
          keys: acc.keys,
          clicks: acc.clicks,
          conversions: Object.fromEntries([...acc.conversions].sort(([a], [b]) => a.localeCompare(b))),
          revenue: Object.fromEntries([...revenue].map(([cur, m]) => [cur, Number(formatMicros(m, 2))])),
          cr: acc.clicks > 0 ? round(acc.converted.size / acc.clicks, 4) : 0,
          epc: Object.fromEntries([...revenue].map(([cur, m]) => [cur, acc.clicks > 0 ? Number(formatMicros(m / BigInt(acc.clicks), 4)) : 0])),
        };
        if (acc.costSeen) {
          const net = revenue.get(this.options.costCurrency) ?? 0n;
          const profit = net - acc.cost;
          out.cost = Number(formatMicros(acc.cost, 2));
          out.costSource = 'clickUrl';
          out.profit = Number(formatMicros(profit, 2));
          out.roi = acc.cost === 0n ? null : round(Number(profit) / Number(acc.cost), 4);
        }
        return out;
      });
  }
}

export function buildReport(clicks: Iterable<ReportClick>, conversions: Iterable<ReportConversion>, options: ReportOptions): ReportRow[] {
  const builder = new ReportBuilder(options);
  for (const click of clicks) builder.addClick(click);
  for (const conversion of conversions) builder.addConversion(conversion);
  return builder.rows();
}

/** The JSON shape: grouping keys by name first, then the metrics. */
export function rowToJson(row: ReportRow): Record<string, unknown> {
  const { keys, ...metrics } = row;
  return { ...keys, ...metrics };
}

const money = (values: Record<string, number>) =>
  Object.entries(values)
    .map(([cur, v]) => `${v.toFixed(2)} ${cur}`)
    .join(', ') || '-';

function cells(row: ReportRow, fields: string[]): string[] {
  return [
    ...fields.map((f) => {
      const v = row.keys[f];
      if (v === null || v === undefined) return f === 'campaignId' ? '(unattributed)' : '-';
      return typeof v === 'boolean' ? (v ? 'yes' : 'no') : v;
    }),
    String(row.clicks),
    Object.entries(row.conversions).map(([t, n]) => `${t}=${n}`).join(' ') || '-',
    money(row.revenue),
    `${(row.cr * 100).toFixed(2)}%`,
    Object.entries(row.epc).map(([cur, v]) => `${v.toFixed(4)} ${cur}`).join(', ') || '-',
    row.cost === undefined ? '-' : row.cost.toFixed(2),
    row.profit === undefined ? '-' : row.profit.toFixed(2),
    row.roi === undefined || row.roi === null ? '-' : `${(row.roi * 100).toFixed(1)}%`,
  ];
}

const METRIC_HEADERS = ['clicks', 'conversions', 'revenue', 'cr', 'epc', 'cost', 'profit', 'roi'];

/** An aligned plain-text table. */
export function formatTable(rows: ReportRow[], by: GroupKey[]): string {
  const fields = by.map((k) => GROUP_FIELDS[k]);
  const header = [...by, ...METRIC_HEADERS];
  // Subs, countries and types came from requests: nothing in them may act on the terminal.
  const lines = rows.map((r) => cells(r, fields).map(terminalSafe));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const numeric = new Set([by.length, by.length + 3, by.length + 5, by.length + 6, by.length + 7]);
  const fmt = (c: string[]) => c.map((v, i) => (numeric.has(i) ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

function csvCell(raw: string): string {
  // No control characters (they would act on a terminal showing the file), quoted as RFC 4180,
  // and spreadsheet formulas (=, +, -, @ at the start of text) defused.
  const value = terminalSafe(raw);
  const plainNumber = /^-?\d+(\.\d+)?$/.test(value);
  const safe = /^[=+\-@\t\r]/.test(value) && !plainNumber ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** CSV: one column per grouping key, per conversion type and per currency. */
export function formatCsv(rows: ReportRow[], by: GroupKey[]): string {
  const fields = by.map((k) => GROUP_FIELDS[k]);
  const types = [...new Set(rows.flatMap((r) => Object.keys(r.conversions)))].sort();
  const currencies = [...new Set(rows.flatMap((r) => Object.keys(r.revenue)))].sort();
  const header = [
    ...fields,
    'clicks',
    ...types.map((t) => `conversions_${t}`),
    ...currencies.map((c) => `revenue_${c}`),
    'cr',
    ...currencies.map((c) => `epc_${c}`),
    'cost',
    'profit',
    'roi',
  ];
  const lines = rows.map((r) => [
    ...fields.map((f) => {
      const v = r.keys[f];
      return v === null || v === undefined ? '' : String(v);
    }),
    String(r.clicks),
    ...types.map((t) => String(r.conversions[t] ?? 0)),
    ...currencies.map((c) => (r.revenue[c] ?? 0).toFixed(2)),
    String(r.cr),
    ...currencies.map((c) => String(r.epc[c] ?? 0)),
    r.cost === undefined ? '' : r.cost.toFixed(2),
    r.profit === undefined ? '' : r.profit.toFixed(2),
    r.roi === undefined || r.roi === null ? '' : String(r.roi),
  ]);
  return [header, ...lines].map((l) => l.map(csvCell).join(',')).join('\n');
}
