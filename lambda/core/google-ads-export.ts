/**
 * `npm run export -- --google-ads`: Google Ads' offline conversion import file, for users without
 * API credentials (Google Ads -> Goals -> Conversions -> Uploads, or a scheduled import from a
 * file). Google's template: a `Parameters:TimeZone=<zone>` row, then the header `Google Click
 * ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency`, one row per
 * conversion, the time as `yyyy-MM-dd HH:mm:ss` in that zone (support.google.com/google-ads
 * answer 7014069). Only conversions whose click carried a `gclid` can be imported this way.
 */
import type { TrackerConfig } from '../../config/schema';
import { CONVERSION_ACTION_RESOURCE, clickIdParams, platformEventFor } from './platforms';

export interface ExportConversion {
  clickId: string;
  type: string;
  /** Exact decimal text. */
  revenue: string;
  currency: string;
  createdAt: string;
  channelId?: string;
  channelClickId?: string;
  channelClickIdParam?: string;
}

export interface ExportRow {
  gclid: string;
  name: string;
  /** ISO time of the conversion. */
  at: string;
  value: string;
  currency: string;
}

export interface ExportSelection {
  rows: ExportRow[];
  /** Conversions of exported types left out, by why. */
  skipped: Record<string, number>;
  /** The conversion types exported, with the Conversion Name each gets. */
  names: Record<string, string>;
}

/**
 * The types exported and their Conversion Name: types mapped to Google Ads (`platformEvents
 * ['google-ads']`), or — when no type is — `payment`, the sale. The name is `conversionName` when
 * given, else the mapping when it is a conversion action's name, else the type's own name (a
 * resource name is not what the file takes: Google matches the name shown in Google Ads).
 */
export function exportNames(config: Pick<TrackerConfig, 'conversionTypes'>, conversionName?: string): Record<string, string> {
  const mapped = config.conversionTypes.filter((t) => t.revenue !== 'subtract' && platformEventFor(t, 'google-ads') !== undefined);
  const types = mapped.length > 0 ? mapped : config.conversionTypes.filter((t) => t.name === 'payment');
  const names: Record<string, string> = {};
  for (const t of types) {
    const mapping = platformEventFor(t, 'google-ads');
    names[t.name] = conversionName ?? (mapping !== undefined && !CONVERSION_ACTION_RESOURCE.test(mapping) ? mapping : t.name);
  }
  return names;
}

/** The rows of the file: every gclid conversion of an exported type, oldest first. */
export function selectExportRows(conversions: Iterable<ExportConversion>, config: Pick<TrackerConfig, 'conversionTypes' | 'trafficChannels'>, conversionName?: string): ExportSelection {
  const names = exportNames(config, conversionName);
  const channels = new Map(config.trafficChannels.map((c) => [c.id, c]));
  const rows: ExportRow[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string) => (skipped[why] = (skipped[why] ?? 0) + 1);
  for (const c of conversions) {
    const name = names[c.type];
    if (name === undefined) continue;
    if (!c.channelClickId) {
      skip('no click id');
      continue;
    }
    const channel = c.channelId ? channels.get(c.channelId) : undefined;
    const param = c.channelClickIdParam ?? (channel ? clickIdParams(channel)[0] : undefined);
    if (param === undefined) {
      skip('channel no longer in the config');
      continue;
    }
    if (param !== 'gclid') {
      skip(`${param} (the import file takes gclid only)`);
      continue;
    }
    // A gclid is base64url text; anything else did not come from Google (and could be a
    // spreadsheet formula in a file people open).
    if (!/^[A-Za-z0-9_-]{1,512}$/.test(c.channelClickId)) {
      skip('not a gclid (unexpected characters)');
      continue;
    }
    rows.push({ gclid: c.channelClickId, name, at: c.createdAt, value: c.revenue, currency: c.currency });
  }
  rows.sort((a, b) => a.at.localeCompare(b.at) || a.gclid.localeCompare(b.gclid));
  return { rows, skipped, names };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** `yyyy-MM-dd HH:mm:ss` of an instant in a time zone. */
export function importTime(iso: string, timeZone: string): string {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(iso));
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '00';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

/** An exact decimal with at least two decimals, as money is written: `47` -> `47.00`, `39.5` -> `39.50`. */
export function moneyText(decimal: string): string {
  const [int = '0', frac = ''] = decimal.split('.');
  return `${int}.${frac.padEnd(2, '0')}`;
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export const EXPORT_HEADER = 'Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency';

export function googleAdsCsv(rows: readonly ExportRow[], timeZone: string): string {
  const lines = [`Parameters:TimeZone=${timeZone}`, EXPORT_HEADER];
  for (const r of rows) lines.push([r.gclid, r.name, importTime(r.at, timeZone), moneyText(r.value), r.currency].map(field).join(','));
  return `${lines.join('\n')}\n`;
}
