/**
 * The tracker on one machine, no AWS account: embedded DynamoDB (dynalite) with the stack's own
 * table definitions, the config's conversion types synced in, a file-backed dead-letter queue,
 * and the Lambda handlers served over HTTP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TrackerConfig } from '../../config/schema';
import { syncConversionTypes, type SyncResult } from '../adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, DynamoInboundLog, createDynamoClient } from '../adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../adapters/file-dead-letter';
import { CALL_BUDGETS } from '../adapters/aws-clients';
import { compileConfig } from '../core/tracker-config';
import { createClickHandler } from '../handlers/click';
import { createPostbackHandler } from '../handlers/postback';
import { createIpnHandler } from '../handlers/ipn';
import { conversionDeps, postbackAuth } from '../handlers/runtime';
import { CachedSecretReader } from '../adapters/secrets';
import { logger } from '../logger';
import { router } from './api-gateway';
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
}

export interface LocalTracker {
  url: string;
  dynamo: EmbeddedDynamo;
  tables: TableNames;
  deadLetters: FileDeadLetterQueue;
  typesSync: SyncResult;
  close(): Promise<void>;
}

export async function startLocalTracker(options: LocalTrackerOptions): Promise<LocalTracker> {
  const dynamo = await startDynalite({
    port: options.dynamoPort ?? 8000,
    ...(options.inMemory ? {} : { path: join(options.dataDir, 'dynamodb') }),
  });
  let server: Server | undefined;
  try {
    const client = createDynamoClient(dynamo.endpoint, CALL_BUDGETS.embedded);
    const tables = localTableNames(options.tablePrefix);
    await ensureTables(client, tables);
    const typesSync = await syncConversionTypes(client, tables.conversionTypes, options.config.conversionTypes);
    const deadLetters = new FileDeadLetterQueue(options.dataDir);
    const clicks = new DynamoClickStore(client, tables.clicks);

    const click = createClickHandler({ config: compileConfig(options.config), clicks, deadLetters: () => deadLetters, log: logger });
    const shared = conversionDeps(
      options.config,
      {
        clicks,
        conversions: new DynamoConversionStore(client, tables.conversions),
        // Local edits to the config take effect on restart, so the type cache can be short.
        types: new DynamoConversionTypes(client, tables.conversionTypes, 1000),
      },
      () => deadLetters,
    );
    const secrets = new CachedSecretReader('local', options.env ?? process.env);
    const inbound = { log: new DynamoInboundLog(client, tables.inbound), retentionDays: options.config.defaults.clickRetentionDays };
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
    return {
      url: `http://127.0.0.1:${port}`,
      dynamo,
      tables,
      deadLetters,
      typesSync,
      close: async () => {
        await new Promise<void>((resolve) => {
          listening.close(() => resolve());
          listening.closeAllConnections();
        });
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
