/**
 * Turning report rows into table columns. The columns come from the rows' own fields (as
 * `npm run report -- --json` writes them), so a metric the report engine adds (bots, lpClicks,
 * lpCtr ...) shows up without a change here; per-type and per-currency maps become one column
 * per type or currency. Every value is shown as text.
 */
export type Row = Record<string, unknown>;

export type Kind = 'count' | 'money' | 'percent' | 'text';

export interface Column {
  id: string;
  label: string;
  kind: Kind;
  get(row: Row): unknown;
}

/** Row fields that are not metric columns. */
const NOT_COLUMNS = new Set(['retired', 'partial', 'costSource']);
const MONEY = new Set(['revenue', 'epc', 'cost', 'profit']);
/** Ratios (0.0123 = 1.23%): the conversion rate, ROI and any click-through rate. */
const isPercent = (field: string) => field === 'cr' || field === 'roi' || /(Ctr|Rate)$/.test(field);

const LABELS: Record<string, string> = {
  clicks: 'Clicks',
  bots: 'Bots',
  lpClicks: 'Lander clicks',
  lpCtr: 'Lander CTR',
  cr: 'CR',
  epc: 'EPC',
  cost: 'Cost',
  profit: 'Profit',
  roi: 'ROI',
  revenue: 'Revenue',
  conversions: 'Conv.',
};

function label(field: string): string {
  return LABELS[field] ?? field.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

export function metricColumns(rows: Row[], keyFields: string[]): Column[] {
  const keys = new Set(keyFields);
  const columns: Column[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const [field, value] of Object.entries(row)) {
      if (keys.has(field) || NOT_COLUMNS.has(field)) continue;
      const kind: Kind = MONEY.has(field) ? 'money' : isPercent(field) ? 'percent' : typeof value === 'number' || value === null ? 'count' : 'text';
      if (value !== null && typeof value === 'object') {
        for (const sub of Object.keys(value as Record<string, unknown>)) {
          const id = `${field}.${sub}`;
          if (seen.has(id)) continue;
          seen.add(id);
          columns.push({
            id,
            label: field === 'conversions' ? sub : `${label(field)} ${sub}`,
            kind: MONEY.has(field) ? 'money' : 'count',
            get: (r) => {
              const map = r[field];
              if (map === null) return null;
              return map !== undefined && typeof map === 'object' ? (map as Record<string, unknown>)[sub] : undefined;
            },
          });
        }
      } else if (!seen.has(field)) {
        seen.add(field);
        columns.push({ id: field, label: label(field), kind, get: (r) => r[field] });
      }
    }
  }
  // Keep per-type conversion columns together, then money per currency, in the rows' order.
  return columns;
}

export function formatValue(value: unknown, kind: Kind, field = ''): string {
  if (value === null) return 'n/a';
  if (value === undefined) return '-';
  if (typeof value === 'number') {
    if (kind === 'percent') return `${(value * 100).toFixed(field === 'roi' ? 1 : 2)}%`;
    if (kind === 'money') return value.toLocaleString('en-US', { minimumFractionDigits: field.startsWith('epc') ? 4 : 2, maximumFractionDigits: field.startsWith('epc') ? 4 : 2 });
    return value.toLocaleString('en-US');
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

/** A key cell as text: "(none)" where a row has no value, "(unattributed)" for organic sales. */
export function keyText(value: unknown, field: string, retired?: unknown): string {
  if (value === null || value === undefined) return field === 'campaignId' ? '(unattributed)' : '(none)';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return field === 'campaignId' && retired === true ? `${String(value)} (retired)` : String(value);
}
