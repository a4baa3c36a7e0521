/** `npm run build:dashboard [DIR]`: builds the dashboard (lib/dashboard-build.ts), says its size, fails above the budget. */
import { BUNDLE_BUDGET_BYTES, DASHBOARD_DIST, buildDashboard } from '../lib/dashboard-build';

{
  const build = buildDashboard(process.argv[2] ?? DASHBOARD_DIST);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  process.stdout.write(`Built ${build.dir}: ${build.assets.join(', ')}\nJavaScript ${kb(build.jsGzipBytes)} gzip (budget ${kb(BUNDLE_BUDGET_BYTES)}), CSS ${kb(build.cssGzipBytes)} gzip\n`);
  if (build.jsGzipBytes > BUNDLE_BUDGET_BYTES) {
    process.stderr.write(`build:dashboard: the JavaScript is over its budget of ${kb(BUNDLE_BUDGET_BYTES)} compressed\n`);
    process.exit(1);
  }
}
