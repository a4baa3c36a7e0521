/**
 * The tracker on one machine, no AWS account: embedded DynamoDB (dynalite) with the stack's own
 * table definitions, the config's conversion types synced in, a file-backed dead-letter queue,
 * and the Lambda handlers served over HTTP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TrackerConfig } from '../../config/schema';
import { syncCatalog, type CatalogSyncResult } from '../adapters/catalog';
import { syncConversionTypes, type SyncResult } from '../adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, DynamoInboundLog, createDynamoClient } from '../adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../adapters/file-dead-letter';
import { DynamoConversionHistory } from '../adapters/conversion-history';
import { compileConfig } from '../core/tracker-config';
import { createClickHandler } from '../handlers/click';
import { createPostbackHandler } from '../handlers/postback';
import { createIpnHandler } from '../handlers/ipn';
import { conversionDeps, postbackAuth } from '../handlers/runtime';
import { CachedSecretReader } from '../adapters/secrets';
import { logger } from '../logger';
import { describeRun, runRollupUpkeep } from '../adapters/rollup-runner';
import { DynamoRollupStore } from '../adapters/rollup-store';
import { router } from './api-gateway';
import { attachChangeFeed } from './change-feed';
import { startDynalite, type EmbeddedDynamo } from './dynalite';
import { ensureTables, localTableNames, type TableNames } from './tables';

export interface LocalTrackerOptions {
  config: TrackerConfig;
  /** Where the DynamoDB files and the dead-letter queue live (TRACKER_DATA_DIR, default .data). */
  dataDir: string;
  /** HTTP port (PORT, default 3000); 0 picks a free one. */
  port?: number;
  /** dynalite port (DYNAMODB_PORT, default 8000); 0 picks a free one. */
  dynamoPort?: number;
  /** Keep DynamoDB in memory instead of under dataDir (tests). */
  inMemory?: boolean;
  tablePrefix?: string;
  /** Where local secrets (DS24_IPN_PASSPHRASE, postback keys) are read from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Where the handlers reach DynamoDB (default: the embedded one directly). `npm run bench:load`
   * puts a proxy here that it can stop or black-hole mid-run; table setup and sync go direct.
   */
  storeEndpoint?: string;
  /**
   * How often the rollup upkeep runs (the same code as the deployed schedule); 0: never (tests
   * that drive it themselves). Default ROLLUP_LOCAL_EVERY_MS.
   */
  rollupEveryMs?: number;
}

/** The local upkeep runs this often (the deployed one every 5 minutes; locally reads are free). */
export const ROLLUP_LOCAL_EVERY_MS = 60_000;

export interface LocalTracker {
  url: string;
  dynamo: EmbeddedDynamo;
  tables: TableNames;
  deadLetters: FileDeadLetterQueue;
  typesSync: SyncResult;
  /** What the catalog recorded: campaigns added, retired, restored; a retention change. */
  catalogSync: CatalogSyncResult;
  close(): Promise<void>;
}

export async function startLocalTracker(options: LocalTrackerOptions): Promise<LocalTracker> {
  const dynamo = await startDynalite({
    port: options.dynamoPort ?? 8000,
    ...(options.inMemory ? {} : { path: join(options.dataDir, 'dynamodb') }),
  });
  let server: Server | undefined;
  try {
    const client = createDynamoClient(dynamo.endpoint);
    const tables = localTableNames(options.tablePrefix);
    await ensureTables(client, tables);
    const typesSync = await syncConversionTypes(client, tables.conversionTypes, options.config.conversionTypes);
    // As a deploy does: the campaigns of this config (others become retired) and its retention.
    const catalogSync = await syncCatalog(client, tables.catalog, {
      campaigns: options.config.campaigns,
      clickRetentionDays: options.config.defaults.clickRetentionDays,
      rollupRetentionDays: options.config.defaults.rollupRetentionDays,
    });
    const deadLetters = new FileDeadLetterQueue(options.dataDir);
    const store = options.storeEndpoint ? createDynamoClient(options.storeEndpoint) : client;
    // The local stand-in for the clicks stream: updates of clicks (lander clicks) mark their hour.
    attachChangeFeed(store, tables.clicks, new DynamoRollupStore(client, tables.rollups), logger);
    const clicks = new DynamoClickStore(store, tables.clicks);

    const click = createClickHandler({ config: compileConfig(options.config), clicks, deadLetters: () => deadLetters, log: logger });
    const shared = conversionDeps(
      options.config,
      {
        clicks,
        conversions: new DynamoConversionStore(store, tables.conversions),
        history: new DynamoConversionHistory(store, tables.conversions),
        // Local edits to the config take effect on restart, so the type cache can be short.
        types: new DynamoConversionTypes(store, tables.conversionTypes, 1000),
      },
      () => deadLetters,
    );
    const secrets = new CachedSecretReader('local', options.env ?? process.env);
    const inbound = { log: new DynamoInboundLog(store, tables.inbound), retentionDays: options.config.defaults.clickRetentionDays };
    const postback = createPostbackHandler(shared, { ...postbackAuth(options.config.postbackProtection, secrets), inbound });
    const ipnConfig = options.config.digistore24?.ipn;
    const ipn = createIpnHandler(ipnConfig ? { ...shared, ipn: ipnConfig, passphrase: () => secrets.read(ipnConfig.passphrase) } : undefined, { inbound });
    server = createServer(
      router(
        [
          { method: 'GET', path: '/click/{campaignId}', handler: click },
          { method: 'GET', path: '/postback', handler: postback },
          { method: 'POST', path: '/postback', handler: postback },
          { method: 'GET', path: '/postback/{key}', handler: postback },
          { method: 'POST', path: '/postback/{key}', handler: postback },
          { method: 'POST', path: '/ipn/digistore24', handler: ipn },
          { method: 'GET', path: '/ipn/digistore24', handler: ipn },
          { method: 'HEAD', path: '/ipn/digistore24', handler: ipn },
        ],
        (err) => logger.error('local server error', { error: err as Error }),
      ),
    );
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(options.port ?? 3000, '127.0.0.1', () => resolve());
    });
    const { port } = listening.address() as AddressInfo;
    // The rollup upkeep on a timer, as the schedule runs it in AWS (one run at a time; a run that
    // fails is logged and the next one starts from the stored state).
    let upkeep: Promise<void> = Promise.resolve();
    const every = options.rollupEveryMs ?? ROLLUP_LOCAL_EVERY_MS;
    const runUpkeep = () => {
      upkeep = upkeep
        .then(async () => {
          const report = await runRollupUpkeep({ client, tables, config: options.config, log: logger, budgetMs: Math.max(every, 30_000) });
          if (report.ran && (report.started || report.closed.hours > 0 || report.sweep || report.clickMarks > 0)) logger.info('rollup upkeep', { done: describeRun(report) });
        })
        .catch((err: unknown) => logger.error('rollup upkeep failed', { error: (err as Error).message }));
    };
    const timer = every > 0 ? setInterval(runUpkeep, every) : undefined;
    timer?.unref();
    if (every > 0) runUpkeep();
    return {
      url: `http://127.0.0.1:${port}`,
      dynamo,
      tables,
      deadLetters,
      typesSync,
      catalogSync,
      close: async () => {
        if (timer) clearInterval(timer);
        await new Promise<void>((resolve) => {
          listening.close(() => resolve());
          listening.closeAllConnections();
        });
        await upkeep;
        if (store !== client) store.destroy();
        await dynamo.close();
      },
    };
  } catch (err) {
    server?.close();
    await dynamo.close();
    throw err;
  }
}

/** The URLs a user needs, for the start banner (and the stack's outputs say the same). */
export function trackerUrls(baseUrl: string, config: TrackerConfig) {
  return {
    clicks: config.campaigns.map((c) => ({ campaignId: c.id, url: `${baseUrl}/click/${c.id}` })),
    postback: `${baseUrl}/postback?clickid={cid}&sum={amount_affiliate}&currency={currency}&txid={transaction_id}&type=`,
    pixel: `${baseUrl}/postback?format=img&clickid=__cid__&type=InitiateCheckout`,
  };
}
