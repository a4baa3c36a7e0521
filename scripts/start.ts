/** `npm start`: the tracker on this machine, no AWS account needed. */
import './cli-setup';
import { relative, resolve } from 'node:path';
import { configPath, loadConfig } from '../config/load';
import { ConfigError, protectionWarnings, type TrackerConfig } from '../config/schema';
import type { CatalogSyncResult } from '../lambda/adapters/catalog';
import { DataDirInUse } from '../lambda/local/dynalite';
import { localUrlKey, startLocalTracker, trackerUrls } from '../lambda/local/server';
import { buildDashboard } from '../lib/dashboard-build';

// CloudWatch embedded metrics make sense in Lambda only; set POWERTOOLS_METRICS_DISABLED=false to see them.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

/**
 * Where recorded sales are sent (conversion APIs, channel postback URLs), and which platform
 * tokens the local run cannot read (their env variable is not set: those sends would wait).
 */
function sendLines(config: TrackerConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const lines: string[] = [];
  for (const channel of config.trafficChannels) {
    const api = channel.conversionApi;
    if (api) {
      const refs = api.platform === 'google-ads' ? [api.developerToken, api.clientSecret, api.refreshToken, ...(typeof api.clientId === 'string' ? [] : [api.clientId])] : [api.accessToken];
      const missing = refs.filter((ref) => !ref.env || !env[ref.env]).map((ref) => ref.env ?? '(no env named)');
      const when = api.platform === 'google-ads' ? 'by the sweep, 6 h after the click (now: npm run sweep -- --local --min-click-age 0)' : 'within seconds';
      lines.push(`  ${channel.id} -> ${api.platform}, ${when}${missing.length ? `; NOT READABLE here, set: ${missing.join(', ')}` : ''}`);
    } else if (channel.postbackUrl && config.conversionTypes.some((t) => t.forwardToChannel)) {
      lines.push(`  ${channel.id} -> its postbackUrl, within seconds`);
    }
  }
  return lines.length ? ['', 'Sales sent back (npm run trace -- <clickid> --local shows each send):', ...lines] : [];
}

/** What the catalog recorded this start, e.g. ` (retired now: old-promo)`. */
function catalogChanges(sync: CatalogSyncResult): string {
  const parts = [
    sync.added.length ? `new: ${sync.added.join(', ')}` : '',
    sync.restored.length ? `back in the config: ${sync.restored.join(', ')}` : '',
    sync.retired.length ? `retired now (still in reports): ${sync.retired.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? ` (${parts.join('; ')})` : '';
}

async function main(): Promise<void> {
  const path = configPath();
  const config = loadConfig(path);
  const dataDir = resolve(process.env.TRACKER_DATA_DIR ?? '.data');
  // The dashboard's page, built now (esbuild, well under a second) so it always matches the code.
  const dashboard = buildDashboard();
  const tracker = await startLocalTracker({
    config,
    dataDir,
    dashboardDir: dashboard.dir,
    port: Number(process.env.PORT ?? 3000),
    dynamoPort: Number(process.env.DYNAMODB_PORT ?? 8000),
  });
  const urls = trackerUrls(tracker.url, config, localUrlKey(config, dataDir));
  const sync = tracker.typesSync;
  const key = tracker.postbackKey;
  const shown = (p: string) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p));
  const warnings = protectionWarnings(config);
  process.stderr.write(
    [
      '',
      `Clickvault is running at ${tracker.url}`,
      `  dashboard:     ${tracker.url}/dashboard/ (no login locally: it answers only on 127.0.0.1 / localhost)`,
      `  config:        ${path}`,
      `  data:          ${dataDir} (DynamoDB on ${tracker.dynamo.endpoint})`,
      `  conversion types: ${config.conversionTypes.length} (${sync.created.length} created, ${sync.updated.length} updated, ${sync.deleted.length} deleted)`,
      `  campaigns:     ${config.campaigns.length}${catalogChanges(tracker.catalogSync)}`,
      ...(key ? [`  postback key:  ${shown(key.path)} (${key.created ? 'made now' : 'kept from the last run'}; only its owner can read it)`] : []),
      ...(warnings.length > 0 ? ['', ...warnings] : []),
      ...sendLines(config),
      '',
      "Campaign click URLs (use as the ad's destination; sub1..sub20 are optional):",
      ...urls.clicks.map((c) => `  ${c.campaignId}: ${c.url}?sub1=...${c.cost ? '&cost=...' : ''}`),
      ...(config.landers.length > 0 || config.campaigns.some((c) => c.landers)
        ? [
            '',
            "Landers: the call to action to the offer (t.js adds the click id; &offer=<offerId> picks one of the campaign's offers):",
            `  ${tracker.url}/go`,
            'Direct tracking (no redirect): put this tag on the lander, with its campaign:',
            `  <script src="${tracker.url}/t.js" data-campaign="<campaignId>" async></script>`,
          ]
        : []),
      '',
      'Digistore24 S2S postback URLs (append ONE macro, e.g. {transaction_type}, or a type name):',
      `  affiliates (sum = your commission):`,
      `    ${urls.affiliateS2S}`,
      `  vendors, your own product (sum = net amount without VAT):`,
      `    ${urls.vendorS2S}`,
      '',
      'Digistore24 order-form pixel URL (Initiate Checkout; it never carries the key):',
      `  ${urls.pixel}`,
      ...(config.digistore24?.ipn ? ['', 'Digistore24 IPN URL (vendors; signed with your passphrase):', `  ${urls.ipn}`] : []),
      '',
      'URLs again: npm run urls -- --local    Report: npm run report -- --local    Queue: npm run dlq -- --local    Stop: Ctrl-C',
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
