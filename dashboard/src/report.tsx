/** The report view: range and zone, totals, the daily chart, the table and its drill-down. */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { formatValue, keyText, metricColumns, type Row } from './format';
import { RANGES, rangeDays, saveTimeZone, type State, type Step } from './state';

interface ReportAnswer {
  query: { from: string; to: string; tz: string; by: string[] };
  groupKeys: string[];
  groupFields: Record<string, string>;
  costCurrency: string;
  notice?: string;
  rows: Row[];
  chart: Row[];
  totals: Row | null;
}

const TIME_ZONES: string[] = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
})();

/** What a drill-down offers next: the sub that follows the last one first, then the rest. */
const PREFERRED = ['campaign', 'sub1', 'sub2', 'sub3', 'offer', 'lander', 'channel', 'country', 'day', 'hour'];

function nextKeys(groupKeys: string[], path: Step[]): string[] {
  const used = new Set(path.map((s) => s.key));
  const order = [...PREFERRED.filter((k) => groupKeys.includes(k)), ...groupKeys.filter((k) => !PREFERRED.includes(k))];
  return order.filter((k) => !used.has(k));
}

/** Every day of the range, those without data as empty rows, so the chart's axis is the range. */
function allDays(rows: Row[], from: string, to: string): Row[] {
  const byDay = new Map(rows.map((r) => [String(r.day), r]));
  const out: Row[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); out.length < 400; d.setUTCDate(d.getUTCDate() + 1)) {
    const day = d.toISOString().slice(0, 10);
    if (day > to) break;
    out.push(byDay.get(day) ?? { day, clicks: 0 });
  }
  return out;
}

function Chart({ rows: data, currency, from, to }: { rows: Row[]; currency: string; from: string; to: string }) {
  const field = data.some((r) => 'hour' in r) ? 'hour' : 'day';
  const rows = field === 'day' ? allDays(data, from, to) : data;
  if (rows.length === 0) return <p class="muted">No data in this range.</p>;
  const clicks = rows.map((r) => (typeof r.clicks === 'number' ? r.clicks : 0));
  const revenue = rows.map((r) => {
    const v = (r.revenue as Record<string, number> | undefined)?.[currency];
    return typeof v === 'number' ? v : 0;
  });
  const maxClicks = Math.max(1, ...clicks);
  const maxRevenue = Math.max(1, ...revenue.map(Math.abs));
  const w = 600;
  const h = 140;
  const bar = w / rows.length;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`clicks and ${currency} revenue per ${field}`} data-points={rows.length}>
        {rows.map((r, i) => (
          <g key={String(r[field])}>
            <title>{`${String(r[field])}: ${clicks[i]} clicks, ${(revenue[i] ?? 0).toFixed(2)} ${currency}`}</title>
            <rect class="clicks" x={i * bar + 1} width={Math.max(1, bar / 2 - 1)} y={h - ((clicks[i] ?? 0) / maxClicks) * (h - 10)} height={((clicks[i] ?? 0) / maxClicks) * (h - 10)} />
            <rect class="revenue" x={i * bar + bar / 2} width={Math.max(1, bar / 2 - 1)} y={h - (Math.abs(revenue[i] ?? 0) / maxRevenue) * (h - 10)} height={(Math.abs(revenue[i] ?? 0) / maxRevenue) * (h - 10)} />
          </g>
        ))}
      </svg>
      <figcaption>
        <span class="swatch clicks" /> clicks <span class="swatch revenue" /> revenue ({currency}) per {field}: {String(rows[0]?.[field])} to {String(rows[rows.length - 1]?.[field])}
      </figcaption>
    </figure>
  );
}

/** GET /api/alerts: the silent-breakage check (lambda/core/silence) for every campaign whose alarm is on. */
interface Alerts {
  checkedAt: string;
  campaigns: { campaignId: string; silent: boolean; clicks: number; hours: number; minClicks: number; message?: string }[];
}

/**
 * Asks the silence check now and every 5 minutes while the page is visible (each answer reads a
 * few hours of every campaign: a tab left open all day must not cost more than the schedule); its
 * answer is the same whatever the range.
 */
const ALERTS_EVERY_MS = 5 * 60_000;

/**
 * `start`: once the page's first report has answered. The check reads every campaign's recent
 * clicks: asked alongside the report it would halve the speed of both on a small machine, and
 * the table is what a person opens the page for.
 */
function useAlerts(start: boolean): { alerts?: Alerts; error?: string } {
  const [alerts, setAlerts] = useState<Alerts | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (!start) return;
    let live = true;
    const load = () =>
      api<Alerts>('alerts')
        .then((a) => {
          if (!live) return;
          setAlerts(a);
          setError(undefined);
        })
        .catch((e: Error) => live && setError(e.message));
    void load();
    const timer = setInterval(() => {
      if (document.visibilityState !== 'hidden') void load();
    }, ALERTS_EVERY_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [start]);
  return { alerts, error };
}

/** A warning per silent campaign above the table (text only: ids come from the config, still never markup). */
function SilenceWarnings({ alerts, error }: { alerts?: Alerts; error?: string }) {
  // A check that failed must not look like "all campaigns fine".
  if (error) return <p class="notice" id="silence-error">The silent-campaign check could not run: {error}</p>;
  const silent = alerts?.campaigns.filter((c) => c.silent) ?? [];
  if (silent.length === 0) return null;
  return (
    <div class="silence" id="silence" role="alert">
      {silent.map((c) => (
        <p data-campaign={c.campaignId}>
          <strong>No sale arriving:</strong> {c.message ?? `${c.campaignId}: ${c.clicks} clicks, no postback for ${c.hours} h`}
        </p>
      ))}
    </div>
  );
}

/** The API parameters of the report a view state shows. */
function reportParams(state: State): Record<string, string | undefined> {
  const days = rangeDays(state);
  const filter = JSON.stringify(Object.fromEntries(state.path.map((s) => [s.key, s.value])));
  return { from: days.from, to: days.to, tz: state.tz, by: state.by, filter: state.path.length ? filter : undefined, tests: state.tests ? '1' : undefined };
}

/** A report asked for before the page rendered (prefetchReport), taken once by the view that shows it. */
let prefetched: { key: string; answer: Promise<ReportAnswer> } | undefined;

/**
 * Asks the report of `state` now, before the page's first render: the view's own effect would
 * run only after the first paint, and the report is the slowest thing the page waits for.
 */
export function prefetchReport(state: State): void {
  const params = reportParams(state);
  const answer = api<ReportAnswer>('report', params);
  answer.catch(() => undefined); // the view reports it
  prefetched = { key: JSON.stringify(params), answer };
}

function askReport(params: Record<string, string | undefined>): Promise<ReportAnswer> {
  const early = prefetched;
  prefetched = undefined;
  return early && early.key === JSON.stringify(params) ? early.answer : api<ReportAnswer>('report', params);
}

export function ReportView({ state, go }: { state: State; go: (next: Partial<State>) => void }) {
  const [reportSettled, setReportSettled] = useState(false);
  const { alerts, error: alertsError } = useAlerts(reportSettled);
  const silentCampaigns = new Set((alerts?.campaigns ?? []).filter((c) => c.silent).map((c) => c.campaignId));
  const [answer, setAnswer] = useState<ReportAnswer | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [drill, setDrill] = useState<number | undefined>();
  const days = rangeDays(state);
  const params = reportParams(state);
  const paramsKey = JSON.stringify(params);

  useEffect(() => {
    let live = true;
    setLoading(true);
    setDrill(undefined);
    askReport(params)
      .then((a) => {
        if (!live) return;
        setAnswer(a);
        setError(undefined);
      })
      .catch((e: Error) => live && setError(e.message))
      .finally(() => {
        setReportSettled(true);
        if (live) setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [paramsKey]);

  // The table shows what the answer was asked for (the next one may still be loading).
  const shownBy = answer?.query.by[0] ?? state.by;
  const keyField = answer?.groupFields[shownBy] ?? shownBy;
  const rows = answer?.rows ?? [];
  const columns = metricColumns([...(answer?.totals ? [answer.totals] : []), ...rows], Object.values(answer?.groupFields ?? {}));
  const choices = answer && !loading ? nextKeys(answer.groupKeys, [...state.path, { key: shownBy, value: null }]) : [];

  return (
    // data-silence-checked: when the silence check last answered (absent until it has).
    <section data-silence-checked={alerts?.checkedAt}>
      <form class="controls" onSubmit={(e) => e.preventDefault()}>
        <label>
          Range{' '}
          <select value={state.range} onChange={(e) => go({ range: (e.target as HTMLSelectElement).value as State['range'], from: days.from, to: days.to })}>
            {RANGES.map((r) => (
              <option value={r.id}>{r.label}</option>
            ))}
          </select>
        </label>
        {state.range === 'custom' && (
          <>
            <label>
              From <input type="date" value={days.from} onChange={(e) => go({ from: (e.target as HTMLInputElement).value })} />
            </label>
            <label>
              To <input type="date" value={days.to} onChange={(e) => go({ to: (e.target as HTMLInputElement).value })} />
            </label>
          </>
        )}
        <label>
          Time zone{' '}
          <select
            value={state.tz}
            onChange={(e) => {
              const tz = (e.target as HTMLSelectElement).value;
              saveTimeZone(tz);
              go({ tz });
            }}
          >
            {/* The ~430 zones join the list once the first report has answered: until then the
                page's own work would compete with that report for a small machine's CPU. */}
            {(!reportSettled ? [state.tz] : TIME_ZONES.includes(state.tz) ? TIME_ZONES : [state.tz, ...TIME_ZONES]).map((z) => (
              <option value={z}>{z}</option>
            ))}
          </select>
        </label>
        <label class="toggle">
          <input type="checkbox" checked={state.tests} onChange={(e) => go({ tests: (e.target as HTMLInputElement).checked })} /> test conversions
        </label>
        <span class="muted" id="range-label">
          {days.from} to {days.to} ({state.tz})
        </span>
      </form>

      <nav class="crumbs" aria-label="drill-down path">
        <a href="#" onClick={(e) => (e.preventDefault(), go({ path: [], by: 'campaign' }))}>
          All
        </a>
        {state.path.map((step, i) => (
          <>
            {' › '}
            <a href="#" class="crumb" onClick={(e) => (e.preventDefault(), go({ path: state.path.slice(0, i + 1), by: nextKeys(answer?.groupKeys ?? [], state.path.slice(0, i + 1))[0] ?? 'day' }))}>
              {step.key}: {keyText(step.value, answer?.groupFields[step.key] ?? step.key)}
            </a>
          </>
        ))}
        {' › by '}
        <select aria-label="group by" value={state.by} onChange={(e) => go({ by: (e.target as HTMLSelectElement).value })}>
          {(answer?.groupKeys ?? [state.by]).filter((k) => k === state.by || !state.path.some((s) => s.key === k)).map((k) => (
            <option value={k}>{k}</option>
          ))}
        </select>
      </nav>

      <SilenceWarnings alerts={alerts} error={alertsError} />
      {error && <p class="error" role="alert">{error}</p>}
      {answer?.notice && <p class="notice">{answer.notice}</p>}
      {loading && <p class="muted">Loading…</p>}

      {answer?.totals && (
        <dl class="totals" id="totals">
          {columns.map((c) => (
            <div>
              <dt>{c.label}</dt>
              <dd>{formatValue(c.get(answer.totals as Row), c.kind, c.id)}</dd>
            </div>
          ))}
        </dl>
      )}
      {answer && <Chart rows={answer.chart} currency={answer.costCurrency} from={answer.query.from} to={answer.query.to} />}

      {answer && (
        <div class="scroll">
          <table id="report" data-by={shownBy} aria-busy={loading}>
            <thead>
              <tr>
                <th scope="col">{shownBy}</th>
                {columns.map((c) => (
                  <th scope="col" data-col={c.id}>
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row, i) => (
                <tr class={[row.partial === true ? 'partial' : '', keyField === 'campaignId' && silentCampaigns.has(String(row.campaignId)) ? 'silent' : ''].filter(Boolean).join(' ')}>
                  <th scope="row" data-key={keyField}>
                    {choices.length > 0 ? (
                      <button type="button" class="drill" aria-expanded={drill === i} onClick={() => setDrill(drill === i ? undefined : i)}>
                        {keyText(row[keyField], keyField, row.retired)}
                      </button>
                    ) : (
                      keyText(row[keyField], keyField, row.retired)
                    )}
                    {drill === i && (
                      <span class="menu">
                        drill down by{' '}
                        {choices.map((k) => (
                          <button type="button" data-drill={k} onClick={() => go({ path: [...state.path, { key: shownBy, value: (row[keyField] ?? null) as Step['value'] }], by: k })}>
                            {k}
                          </button>
                        ))}
                      </span>
                    )}
                  </th>
                  {columns.map((c) => (
                    <td data-col={c.id}>{formatValue(c.get(row), c.kind, c.id)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === 0 && <p class="muted">No clicks or conversions here.</p>}
        </div>
      )}
    </section>
  );
}
