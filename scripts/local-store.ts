/**
 * How the CLIs' `--local` mode reaches the local tracker's data: the running `npm start`'s
 * DynamoDB on DYNAMODB_PORT, or, when none is running, an embedded one opened on
 * TRACKER_DATA_DIR for the duration of the command.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ListTablesCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { DynamoRollupStore } from '../lambda/adapters/rollup-store';
import { attachChangeFeed } from '../lambda/local/change-feed';
import { startDynalite } from '../lambda/local/dynalite';
import { ensureTables, localTableNames, type TableNames } from '../lambda/local/tables';
import { logger } from '../lambda/logger';

/** Whatever a CLI writes to the local store marks the rollup hours it changes (the local stream). */
function withChangeFeed(client: DynamoDBClient, tables: TableNames): DynamoDBClient {
  attachChangeFeed(client, tables.clicks, new DynamoRollupStore(client, tables.rollups), logger);
  return client;
}

export interface LocalStore {
  client: DynamoDBClient;
  tables: TableNames;
  close(): Promise<void>;
}

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TRACKER_DATA_DIR ?? '.data');
}

export async function openLocalStore(env: NodeJS.ProcessEnv = process.env): Promise<LocalStore> {
  const tables = localTableNames();
  const endpoint = env.DYNAMODB_ENDPOINT ?? `http://127.0.0.1:${env.DYNAMODB_PORT ?? '8000'}`;
  const running = createDynamoClient(endpoint);
  try {
    const out = await running.send(new ListTablesCommand({}));
    if (out.TableNames?.includes(tables.clicks)) return { client: withChangeFeed(running, tables), tables, close: async () => running.destroy() };
    running.destroy();
    throw new Error(`DynamoDB at ${endpoint} has no Clickvault tables: is DYNAMODB_PORT / DYNAMODB_ENDPOINT the one \`npm start\` uses?`);
  } catch (err) {
    running.destroy();
    // Nothing listening: no tracker is running, so open the data directory ourselves.
    if (!/ECONNREFUSED/.test(`${(err as Error).message} ${String((err as { code?: string }).code)}`)) throw err;
  }
  const path = join(dataDir(env), 'dynamodb');
  if (!existsSync(path)) throw new Error(`No local data in ${dataDir(env)} yet: run \`npm start\` and send a click first.`);
  const dynamo = await startDynalite({ port: 0, path });
  const client = createDynamoClient(dynamo.endpoint);
  // A data directory from an older version: the tables (and indexes) this one needs.
  await ensureTables(client, tables);
  return {
    client: withChangeFeed(client, tables),
    tables,
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}
