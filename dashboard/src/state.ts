/**
 * The view lives in the address bar (query routing under /dashboard/): a view can be shared,
 * bookmarked and reloaded. The time zone is a per-browser preference (localStorage); nothing
 * else is stored in the browser.
 */
export type View = 'report' | 'live' | 'trace' | 'dlq' | 'setup';
export const VIEWS: View[] = ['report', 'live', 'trace', 'dlq', 'setup'];
export type RangeName = 'today' | 'yesterday' | 'last7' | 'last30' | 'month' | 'custom';
export const RANGES: { id: RangeName; label: string }[] = [
  { id: 'today', label: 'Today' },
  { id: 'yesterday', label: 'Yesterday' },
  { id: 'last7', label: 'Last 7 days' },
  { id: 'last30', label: 'Last 30 days' },
  { id: 'month', label: 'This month' },
  { id: 'custom', label: 'Custom' },
];

/** One step of a drill-down: grouping key and the value chosen (null: "none"). */
export interface Step {
  key: string;
  value: string | boolean | null;
}

export interface State {
  view: View;
  range: RangeName;
  from: string;
  to: string;
  tz: string;
  by: string;
  path: Step[];
  tests: boolean;
  click: string;
}

const TZ_KEY = 'clickvault.tz';

export function savedTimeZone(): string {
  try {
    const tz = localStorage.getItem(TZ_KEY);
    if (tz) return tz;
  } catch {
    /* storage disabled */
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function saveTimeZone(tz: string): void {
  try {
    localStorage.setItem(TZ_KEY, tz);
  } catch {
    /* storage disabled */
  }
}

function parsePath(text: string | null): Step[] {
  if (!text) return [];
  try {
    const steps = JSON.parse(text) as unknown;
    if (!Array.isArray(steps)) return [];
    return steps.filter(
      (s): s is Step => typeof s === 'object' && s !== null && typeof (s as Step).key === 'string' && ['string', 'boolean'].includes(typeof (s as Step).value) || (s as Step)?.value === null,
    );
  } catch {
    return [];
  }
}

export function readState(search: string = location.search): State {
  const q = new URLSearchParams(search);
  const view = (VIEWS as string[]).includes(q.get('view') ?? '') ? (q.get('view') as View) : 'report';
  const range = (RANGES.map((r) => r.id) as string[]).includes(q.get('range') ?? '') ? (q.get('range') as RangeName) : 'last7';
  return {
    view,
    range,
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
    tz: q.get('tz') || savedTimeZone(),
    by: q.get('by') || 'campaign',
    path: parsePath(q.get('path')),
    tests: q.get('tests') === '1',
    click: q.get('click') ?? '',
  };
}

export function stateSearch(s: State): string {
  const q = new URLSearchParams();
  q.set('view', s.view);
  if (s.view === 'report') {
    q.set('range', s.range);
    if (s.range === 'custom') {
      q.set('from', s.from);
      q.set('to', s.to);
    }
    q.set('tz', s.tz);
    q.set('by', s.by);
    if (s.path.length > 0) q.set('path', JSON.stringify(s.path));
    if (s.tests) q.set('tests', '1');
  }
  if (s.view === 'trace' && s.click) q.set('click', s.click);
  return `?${q}`;
}

/** Today's date in a time zone, `YYYY-MM-DD`. */
export function todayIn(tz: string, now: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

function shift(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The days a range stands for, in the chosen zone. */
export function rangeDays(s: State, now: Date = new Date()): { from: string; to: string } {
  const today = todayIn(s.tz, now);
  switch (s.range) {
    case 'today':
      return { from: today, to: today };
    case 'yesterday':
      return { from: shift(today, -1), to: shift(today, -1) };
    case 'last7':
      return { from: shift(today, -6), to: today };
    case 'last30':
      return { from: shift(today, -29), to: today };
    case 'month':
      return { from: `${today.slice(0, 8)}01`, to: today };
    default:
      return { from: s.from || shift(today, -6), to: s.to || today };
  }
}
