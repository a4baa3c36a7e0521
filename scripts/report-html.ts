/**
 * `--html FILE`: one self-contained page — the report table and a daily chart of clicks,
 * conversions and revenue drawn by Chart.js (inlined, so the file needs no server, no login
 * and no network).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GROUP_FIELDS, type GroupKey, type ReportRow } from '../lambda/core/report';

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

const money = (values: Record<string, number>) =>
  Object.entries(values)
    .map(([cur, v]) => `${v.toFixed(2)} ${cur}`)
    .join(', ');

export function reportHtml(input: { rows: ReportRow[]; by: GroupKey[]; daily: ReportRow[]; title: string }): string {
  const fields = input.by.map((k) => GROUP_FIELDS[k]);
  const head = [...input.by, 'clicks', 'conversions', 'revenue', 'cr', 'epc', 'cost', 'profit', 'roi'];
  const body = input.rows
    .map((r) => {
      const keys = fields.map((f) => {
        const v = r.keys[f];
        return v === null || v === undefined ? (f === 'campaignId' ? '(unattributed)' : '-') : typeof v === 'boolean' ? (v ? 'yes' : 'no') : v;
      });
      const cells = [
        ...keys,
        String(r.clicks),
        Object.entries(r.conversions).map(([t, n]) => `${t}=${n}`).join(' '),
        money(r.revenue),
        `${(r.cr * 100).toFixed(2)}%`,
        Object.entries(r.epc).map(([c, v]) => `${v.toFixed(4)} ${c}`).join(', '),
        r.cost === undefined ? '' : r.cost.toFixed(2),
        r.profit === undefined ? '' : r.profit.toFixed(2),
        r.roi === undefined || r.roi === null ? '' : `${(r.roi * 100).toFixed(1)}%`,
      ];
      // Numbers right-aligned; the conversions-per-type text stays left.
      return `<tr>${cells.map((c, i) => `<td${i >= keys.length && i !== keys.length + 1 ? ' class="n"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const currencies = [...new Set(input.daily.flatMap((r) => Object.keys(r.revenue)))].sort();
  const chartData = {
    days: input.daily.map((r) => r.keys.day ?? '(none)'),
    clicks: input.daily.map((r) => r.clicks),
    conversions: input.daily.map((r) => Object.values(r.conversions).reduce((a, b) => a + b, 0)),
    revenue: Object.fromEntries(currencies.map((c) => [c, input.daily.map((r) => r.revenue[c] ?? 0)])),
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
</style>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<div id="chart-box"><canvas id="daily" aria-label="Daily clicks, conversions and revenue"></canvas></div>
<table id="report">
<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${body}
</tbody>
</table>
<script id="report-data" type="application/json">${scriptJson({ rows: input.rows, daily: chartData })}</script>
<script>${chartJs()}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent).daily;
  var colors = ['#2f6fdf', '#e07b39', '#2a9d5c', '#8e44ad', '#c0392b'];
  var datasets = [
    { type: 'bar', label: 'clicks', data: data.clicks, yAxisID: 'count', backgroundColor: 'rgba(47,111,223,.35)' },
    { type: 'line', label: 'conversions', data: data.conversions, yAxisID: 'count', borderColor: '#e07b39', backgroundColor: '#e07b39' }
  ];
  Object.keys(data.revenue).forEach(function (currency, i) {
    datasets.push({ type: 'line', label: 'revenue ' + currency, data: data.revenue[currency], yAxisID: 'money', borderColor: colors[(i + 2) % colors.length], backgroundColor: colors[(i + 2) % colors.length] });
  });
  var chart = new Chart(document.getElementById('daily'), {
    data: { labels: data.days, datasets: datasets },
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
  document.body.setAttribute('data-chart-points', String(data.days.length));
})();
</script>
</body>
</html>
`;
}
