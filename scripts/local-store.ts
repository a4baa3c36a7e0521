/**
 * How the CLIs' `--local` mode reaches the local tracker's data: the running `npm start`'s
 * DynamoDB on DYNAMODB_PORT, or, when none is running, an embedded one opened on
 * TRACKER_DATA_DIR for the duration of the command.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ListTablesCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CALL_BUDGETS } from '../lambda/adapters/aws-clients';
import { createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { DataDirInUse, startDynalite } from '../lambda/local/dynalite';
import { localTableNames, type TableNames } from '../lambda/local/tables';

export interface LocalStore {
  client: DynamoDBClient;
  tables: TableNames;
  close(): Promise<void>;
}

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TRACKER_DATA_DIR ?? '.data');
}

/** What to do when the data directory is held by a tracker this command did not find. */
function inUseMessage(err: DataDirInUse, dir: string, endpoint: string, env: NodeJS.ProcessEnv): string {
  const lookedAt = env.DYNAMODB_ENDPOINT ? `DYNAMODB_ENDPOINT=${endpoint}` : `DYNAMODB_PORT=${env.DYNAMODB_PORT ?? '8000'}`;
  if (err.owner) {
    return (
      `the local data in ${dir} is in use by a running tracker (process ${err.owner.pid}, DynamoDB on port ${err.owner.port}), ` +
      `and this command looked for it at ${lookedAt}, where nothing answers. ` +
      `Run the command with DYNAMODB_PORT=${err.owner.port} (the port \`npm start\` printed), or stop that tracker first.`
    );
  }
  return (
    `the local data in ${dir} is in use by another process (an \`npm start\` with another DYNAMODB_PORT?), ` +
    `and this command looked for it at ${lookedAt}, where nothing answers. ` +
    'Run the command with the DYNAMODB_PORT that `npm start` printed ("DynamoDB on http://127.0.0.1:<port>"), or stop it first.'
  );
}

export async function openLocalStore(env: NodeJS.ProcessEnv = process.env): Promise<LocalStore> {
  const tables = localTableNames();
  const endpoint = env.DYNAMODB_ENDPOINT ?? `http://127.0.0.1:${env.DYNAMODB_PORT ?? '8000'}`;
  const probe = createDynamoClient(endpoint, CALL_BUDGETS.embedded);
  try {
    const out = await probe.send(new ListTablesCommand({}));
    if (out.TableNames?.includes(tables.clicks)) {
      const running = createDynamoClient(endpoint, CALL_BUDGETS.tool);
      return { client: running, tables, close: async () => running.destroy() };
    }
    throw new Error(`DynamoDB at ${endpoint} has no Clickvault tables: is DYNAMODB_PORT / DYNAMODB_ENDPOINT the one \`npm start\` uses?`);
  } catch (err) {
    // Nothing listening: no tracker is running there, so open the data directory ourselves.
    if (!/ECONNREFUSED/.test(`${(err as Error).message} ${String((err as { code?: string }).code)}`)) throw err;
  } finally {
    probe.destroy();
  }
  const path = join(dataDir(env), 'dynamodb');
  if (!existsSync(path)) throw new Error(`No local data in ${dataDir(env)} yet: run \`npm start\` and send a click first.`);
  let dynamo;
  try {
    dynamo = await startDynalite({ port: 0, path });
  } catch (err) {
    if (err instanceof DataDirInUse) throw new Error(inUseMessage(err, dataDir(env), endpoint, env));
    throw err;
  }
  const client = createDynamoClient(dynamo.endpoint, CALL_BUDGETS.tool);
  const embedded = dynamo;
  return {
    client,
    tables,
    close: async () => {
      client.destroy();
      await embedded.close();
    },
  };
}
