import { randomBytes } from 'node:crypto';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { CALL_BUDGETS } from '../../lambda/adapters/aws-clients';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { ensureTables, localTableNames, type TableNames } from '../../lambda/local/tables';

export function testEndpoint(): string {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('DYNAMODB_ENDPOINT is not set: jest globalSetup did not run');
  return endpoint;
}

/** Fresh tables, from the shared definitions, on the run's dynalite (or the one at `endpoint`). */
export async function freshTables(endpoint: string = testEndpoint()): Promise<{ client: DynamoDBClient; tables: TableNames }> {
  // The tools' budget, not the functions': one dynalite in jest's main process serves every
  // test worker, so a burst (100 concurrent postbacks) while other files run waits seconds in
  // its queue. The handlers' deadlines still apply; the production budgets are tested against
  // a hanging store in test/adapters/aws-clients.test.ts and test/handlers/deadlines.test.ts.
  const client = createDynamoClient(endpoint, CALL_BUDGETS.tool);
  const tables = localTableNames(`t${randomBytes(5).toString('hex')}`);
  await ensureTables(client, tables);
  return { client, tables };
}

export async function scanAll(client: DynamoDBClient, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(out.Items ?? []).map((i) => unmarshall(i)));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A client whose every command is counted by name (to prove "one write, no reads"). */
export function countingClient(): { client: DynamoDBClient; calls: string[] } {
  const client = createDynamoClient(testEndpoint(), CALL_BUDGETS.tool);
  const calls: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return { client, calls };
}

/** A client pointed at a closed port: every call fails like an unreachable DynamoDB. */
export function unreachableClient(): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
}
