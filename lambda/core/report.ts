/**
 * The first report: per campaign, clicks, conversions per type (types that count) and revenue
 * per currency, net of refunds and chargebacks. Pure aggregation over plain rows; revenue is
 * summed exactly in micro-units.
 */
import { formatMicros, toMicros } from './decimal';

export interface ReportClick {
  campaignId: string;
}

export interface ReportConversion {
  /** Absent for unattributed (organic) conversions. */
  campaignId?: string;
  type: string;
  counted: boolean;
  /** Canonical decimal text. */
  revenue: string;
  currency: string;
}

export interface CampaignRow {
  /** null for conversions that arrived without a click id. */
  campaignId: string | null;
  clicks: number;
  conversions: Record<string, number>;
  revenue: Record<string, number>;
}

export function campaignReport(clicks: Iterable<ReportClick>, conversions: Iterable<ReportConversion>): CampaignRow[] {
  const rows = new Map<string | null, { clicks: number; conversions: Map<string, number>; revenue: Map<string, bigint> }>();
  const row = (id: string | null) => {
    let r = rows.get(id);
    if (!r) rows.set(id, (r = { clicks: 0, conversions: new Map(), revenue: new Map() }));
    return r;
  };
  for (const click of clicks) row(click.campaignId).clicks++;
  for (const c of conversions) {
    const r = row(c.campaignId ?? null);
    if (c.counted) r.conversions.set(c.type, (r.conversions.get(c.type) ?? 0) + 1);
    const micros = toMicros(c.revenue);
    if (micros !== 0n || r.revenue.has(c.currency)) r.revenue.set(c.currency, (r.revenue.get(c.currency) ?? 0n) + micros);
  }
  const sorted = [...rows.entries()].sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)));
  return sorted.map(([campaignId, r]) => ({
    campaignId,
    clicks: r.clicks,
    conversions: Object.fromEntries([...r.conversions].sort(([a], [b]) => a.localeCompare(b))),
    revenue: Object.fromEntries([...r.revenue].sort(([a], [b]) => a.localeCompare(b)).map(([cur, m]) => [cur, Number(formatMicros(m, 2))])),
  }));
}

/** An aligned plain-text table of the rows. */
export function formatCampaignTable(rows: CampaignRow[]): string {
  const header = ['campaign', 'clicks', 'conversions', 'revenue'];
  const lines = rows.map((r) => [
    r.campaignId ?? '(unattributed)',
    String(r.clicks),
    Object.entries(r.conversions).map(([t, n]) => `${t}=${n}`).join(' ') || '-',
    Object.entries(r.revenue).map(([cur, v]) => `${v.toFixed(2)} ${cur}`).join(', ') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}
