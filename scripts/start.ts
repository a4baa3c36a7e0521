/** `npm start`: the tracker on this machine, no AWS account needed. */
import './cli-setup';
import { resolve } from 'node:path';
import { configPath, loadConfig } from '../config/load';
import { ConfigError } from '../config/schema';
import { DataDirInUse } from '../lambda/local/dynalite';
import { startLocalTracker, trackerUrls } from '../lambda/local/server';

// CloudWatch embedded metrics make sense in Lambda only; set POWERTOOLS_METRICS_DISABLED=false to see them.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

async function main(): Promise<void> {
  const path = configPath();
  const config = loadConfig(path);
  const dataDir = resolve(process.env.TRACKER_DATA_DIR ?? '.data');
  const tracker = await startLocalTracker({
    config,
    dataDir,
    port: Number(process.env.PORT ?? 3000),
    dynamoPort: Number(process.env.DYNAMODB_PORT ?? 8000),
  });
  const urls = trackerUrls(tracker.url, config);
  const sync = tracker.typesSync;
  process.stderr.write(
    [
      '',
      `Clickvault is running at ${tracker.url}`,
      `  config:        ${path}`,
      `  data:          ${dataDir} (DynamoDB on ${tracker.dynamo.endpoint})`,
      `  conversion types: ${config.conversionTypes.length} (${sync.created.length} created, ${sync.updated.length} updated, ${sync.deleted.length} deleted)`,
      '',
      'Campaign click URLs (use as the ad\'s destination; sub1..sub20 and cost are optional):',
      ...urls.clicks.map((c) => `  ${c.campaignId}: ${c.url}?sub1=...`),
      '',
      'Digistore24 S2S postback URL (append ONE macro, e.g. {transaction_type}, or a type name):',
      `  ${urls.postback}`,
      '',
      'Digistore24 order-form pixel URL (Initiate Checkout):',
      `  ${urls.pixel}`,
      '',
      'Report: npm run report -- --local    Queue: npm run dlq -- --local    Stop: Ctrl-C',
      '',
    ].join('\n'),
  );
  const stop = () => {
    void tracker.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else if (err instanceof DataDirInUse) {
    const owner = err.owner ? ` (process ${err.owner.pid}, DynamoDB on port ${err.owner.port})` : '';
    process.stderr.write(`Another tracker has this data directory open${owner}: stop it, or give this one another TRACKER_DATA_DIR.\n`);
  } else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(`Port in use: ${(err as Error).message}. Set PORT / DYNAMODB_PORT, or stop the other tracker.\n`);
  } else process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
