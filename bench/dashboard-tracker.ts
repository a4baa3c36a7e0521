/**
 * The local tracker for `npm run bench:dashboard`, in a process of its own as `npm start` runs it
 * (the benchmark's browser driver must not share its event loop): the bench's month config, the
 * data directory and the built dashboard from the parent (a third argument `started`: the upkeep
 * runs at start, as under npm start). Tells the parent `{ url, dynamo, tables }`
 * once it listens; on `refresh` makes the open hours' view and answers `refreshed`; on `warm` fills
 * the part cache as at start and answers `{ warmed }`; ends with the parent.
 */
import '../scripts/cli-setup';
import { startLocalTracker } from '../lambda/local/server';
import { benchConfig } from './month-data';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

async function main(): Promise<void> {
  const [dataDir, dashboardDir, mode] = process.argv.slice(2);
  if (!dataDir || !dashboardDir || !process.send) throw new Error('run by bench/dashboard.ts (fork, with IPC): DATA_DIR DASHBOARD_DIR');
  const send = (m: unknown) => process.send?.(m);
  // As npm start, except the schedules the bench drives itself (the view's timer; the upkeep
  // while it loads the month; `started`: the upkeep at start as npm start runs it, then hourly).
  const rollupEveryMs = mode === 'started' ? 3600_000 : 0;
  const tracker = await startLocalTracker({ config: benchConfig(), dataDir, dashboardDir, port: 0, dynamoPort: 0, archiveEveryMs: 0, rollupEveryMs, sweepIntervalMs: 0, silenceEveryMs: 0, openViewEveryMs: 3600_000 });
  process.on('message', (m: unknown) => {
    if (m === 'refresh') void tracker.refreshOpenView().then(() => send('refreshed'));
    if (m === 'warm') void tracker.warmPartCache().then((items) => send({ warmed: items }));
  });
  process.on('disconnect', () => void tracker.close().then(() => process.exit(0)));
  send({ url: tracker.url, dynamo: tracker.dynamo.endpoint, tables: tracker.tables });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:dashboard tracker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
