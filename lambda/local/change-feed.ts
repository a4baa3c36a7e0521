/**
 * The local stand-in for the clicks table's DynamoDB Stream. The embedded store has no streams,
 * so a middleware on the local DynamoDB client sees every successful UpdateItem on the clicks
 * table (a lander click sets `lpClickAt` on its click) and hands it to the same marking core the
 * stream handler in AWS uses (core/rollup-marks clickChangeMarks). Whatever process writes the
 * local store through such a client (the server, `npm run redrive -- --local`) marks the hours it
 * changes.
 */
import type { DynamoDBClient, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { clickChangeMarks, clickHour, type RollupMarks } from '../core/rollup-marks';
import type { ClickWriteGenerations } from '../core/open-hours';
import type { Log } from '../core/model';

const NAME = 'clickvaultRollupChangeFeed';

export function attachChangeFeed(client: DynamoDBClient, clicksTable: string, marks: RollupMarks, log: Log, now: () => number = Date.now): void {
  client.middlewareStack.remove(NAME);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as Partial<UpdateItemCommandInput>;
      if (context.commandName === 'UpdateItemCommand' && input.TableName === clicksTable) {
        const clickId = input.Key?.clickId?.S;
        const keys = clickId ? clickChangeMarks([{ clickId, at: now() }]) : [];
        // The write itself succeeded: a failed mark only leaves that hour's earlier rollup.
        if (keys.length > 0) await marks.mark(keys).catch((err: unknown) => log.error('rollup mark failed', { clickId, error: (err as Error).message }));
      }
      return result;
    },
    { step: 'initialize', name: NAME },
  );
}

/**
 * Moves a campaign code's generation (core/open-hours ClickWriteGenerations) before every write
 * of the clicks table through `client` is sent and after it is answered (or fails), so the open
 * hours' view is never used for a campaign whose clicks it may not hold. A write whose clicks are
 * not known by key (a batch) moves every campaign.
 */
export function attachClickWriteCounter(client: DynamoDBClient, clicksTable: string, generations: ClickWriteGenerations): void {
  client.middlewareStack.remove(COUNTER);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const code = clickWriteCode(context.commandName ?? '', args.input as WriteInput, clicksTable);
      if (code === null) return next(args);
      generations.bump(code);
      try {
        return await next(args);
      } finally {
        generations.bump(code);
      }
    },
    { step: 'initialize', name: COUNTER },
  );
}

const COUNTER = 'clickvaultClickWriteCounter';
const KEYED_WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

type WriteInput = {
  TableName?: string;
  Key?: Record<string, { S?: string }>;
  Item?: Record<string, { S?: string }>;
  RequestItems?: Record<string, unknown>;
  TransactItems?: unknown[];
};

/**
 * The campaign code of a write to the clicks table; undefined: a write to it whose clicks are not
 * known (batch, transaction, an id not minted here); null: not a write to the clicks table.
 */
export function clickWriteCode(commandName: string, input: WriteInput, clicksTable: string): string | undefined | null {
  if (KEYED_WRITES.has(commandName)) {
    if (input.TableName !== clicksTable) return null;
    const clickId = input.Key?.clickId?.S ?? input.Item?.clickId?.S;
    return clickId ? clickHour(clickId)?.code : undefined;
  }
  if (commandName === 'BatchWriteItemCommand') return input.RequestItems && clicksTable in input.RequestItems ? undefined : null;
  if (commandName === 'TransactWriteItemsCommand') return JSON.stringify(input.TransactItems ?? []).includes(JSON.stringify(clicksTable)) ? undefined : null;
  return null;
}
