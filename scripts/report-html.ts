/**
 * `--html FILE`: one self-contained page — the report table and a chart of clicks, conversions
 * and revenue by day (by hour when the report is grouped by hour, labelled with the UTC offset)
 * drawn by Chart.js (inlined, so the file needs no server, no login and no network). Partial
 * click counts are flagged above the chart, in the chart and in the table.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GROUP_FIELDS, keyText, metricColumns, metricHeaders, metricTexts, rowToJson, type GroupKey, type ReportRow } from '../lambda/core/report';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** JSON that is safe inside <script>: no "</script>" or "<!--" can close or confuse it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function chartJs(): string {
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

export interface HtmlReportInput {
  rows: ReportRow[];
  by: GroupKey[];
  /** Rows for the chart, grouped by day (or by hour when the report is). */
  chart: ReportRow[];
  title: string;
  /** The partial-count notice (core/report partialNotice), shown above the chart. */
  notice?: string;
}

export function reportHtml(input: HtmlReportInput): string {
  const fields = input.by.map((k) => GROUP_FIELDS[k]);
  const columns = metricColumns(input.rows);
  const metrics = metricHeaders(columns);
  const head = [...input.by, ...metrics];
  const body = input.rows
    .map((r) => {
      const keys = fields.map((f) => keyText(r, f));
      const cells = [...keys, ...metricTexts(r, columns).map((c) => (c === '-' ? '' : c))];
      // Numbers and money right-aligned; the conversions-per-type text stays left.
      const numeric = (i: number) => i >= keys.length && metrics[i - keys.length] !== 'conversions';
      const classes = [r.partial ? 'partial' : '', r.retired ? 'retired' : ''].filter(Boolean).join(' ');
      return `<tr${classes ? ` class="${classes}"` : ''}>${cells.map((c, i) => `<td${numeric(i) ? ' class="n"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const currencies = [...new Set(input.chart.flatMap((r) => Object.keys(r.revenue)))].sort();
  const chartData = {
    labels: input.chart.map((r) => String(r.keys.hour ?? r.keys.day ?? '(none)')),
    partial: input.chart.map((r) => r.partial),
    clicks: input.chart.map((r) => r.clicks),
    conversions: input.chart.map((r) => Object.values(r.conversions).reduce((a, b) => a + b, 0)),
    // Plotted, not summed: the chart's scale is the only place money becomes a float.
    revenue: Object.fromEntries(currencies.map((c) => [c, input.chart.map((r) => Number(r.revenue[c] ?? 0))])),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2330; }
  h1 { font-size: 1.3rem; }
  table { border-collapse: collapse; margin-top: 1.5rem; }
  th, td { padding: .3rem .7rem; border-bottom: 1px solid #dde1e8; text-align: left; white-space: nowrap; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  #chart-box { max-width: 1100px; height: 360px; }
  .notice { max-width: 1100px; padding: .6rem .9rem; background: #fff4d6; border-left: 4px solid #e0a800; }
  tr.partial td { color: #6b5a1e; }
  tr.retired td:first-child { font-style: italic; }
</style>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
${input.notice ? `<p class="notice" id="partial-notice">${escapeHtml(input.notice)}</p>\n` : ''}<div id="chart-box"><canvas id="daily" aria-label="Clicks, conversions and revenue over time"></canvas></div>
<table id="report">
<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${body}
</tbody>
</table>
<script id="report-data" type="application/json">${scriptJson({ rows: input.rows.map(rowToJson), chart: chartData })}</script>
<script>${chartJs()}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent).chart;
  var colors = ['#2f6fdf', '#e07b39', '#2a9d5c', '#8e44ad', '#c0392b'];
  var datasets = [
    { type: 'bar', label: 'clicks', data: data.clicks, yAxisID: 'count', backgroundColor: data.partial.map(function (p) { return p ? 'rgba(224,168,0,.35)' : 'rgba(47,111,223,.35)'; }) },
    { type: 'line', label: 'conversions', data: data.conversions, yAxisID: 'count', borderColor: '#e07b39', backgroundColor: '#e07b39' }
  ];
  Object.keys(data.revenue).forEach(function (currency, i) {
    datasets.push({ type: 'line', label: 'revenue ' + currency, data: data.revenue[currency], yAxisID: 'money', borderColor: colors[(i + 2) % colors.length], backgroundColor: colors[(i + 2) % colors.length] });
  });
  var chart = new Chart(document.getElementById('daily'), {
    data: { labels: data.labels.map(function (l, i) { return data.partial[i] ? l + ' *' : l; }), datasets: datasets },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: { count: { type: 'linear', position: 'left', beginAtZero: true }, money: { type: 'linear', position: 'right', grid: { drawOnChartArea: false } } }
    }
  });
  // For tests and the curious: how much of the canvas the chart painted.
  var canvas = chart.canvas, ctx = canvas.getContext('2d');
  var pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data, painted = 0;
  for (var i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
  document.body.setAttribute('data-chart-painted', String(painted));
  document.body.setAttribute('data-chart-points', String(data.labels.length));
  document.body.setAttribute('data-chart-labels', data.labels.join(' | '));
})();
</script>
</body>
</html>
`;
}
