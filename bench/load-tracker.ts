/**
 * The tracker `npm run bench:load` drives: the same startLocalTracker as `npm start` (same
 * handlers, embedded DynamoDB on DYNAMODB_PORT, file dead-letter queue in TRACKER_DATA_DIR,
 * config from TRACKER_CONFIG), except that the handlers reach DynamoDB through the load test's
 * fault proxy (BENCH_STORE_ENDPOINT), so it can stop or hang the store while traffic continues.
 */
import '../scripts/cli-setup';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load';
import { startLocalTracker } from '../lambda/local/server';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

async function main(): Promise<void> {
  const storeEndpoint = process.env.BENCH_STORE_ENDPOINT;
  if (!storeEndpoint) throw new Error('BENCH_STORE_ENDPOINT is not set (run it through npm run bench:load)');
  const tracker = await startLocalTracker({
    config: loadConfig(),
    dataDir: resolve(process.env.TRACKER_DATA_DIR ?? '.data'),
    port: Number(process.env.PORT ?? 0),
    dynamoPort: Number(process.env.DYNAMODB_PORT ?? 0),
    storeEndpoint,
  });
  process.stderr.write(`Clickvault is running at ${tracker.url}\n`);
  const stop = () => void tracker.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`load-tracker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
