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
import type { RollupPartCache } from '../adapters/rollup-part-cache';
import { STATE_KEY } from '../adapters/rollup-store';

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

const PART_WATCH = 'clickvaultRollupPartWatch';

type RollupWriteInput = WriteInput & { RequestItems?: Record<string, { PutRequest?: { Item?: Record<string, { S?: string }> }; DeleteRequest?: { Key?: Record<string, { S?: string }> } }[]> };

/**
 * Keeps the part cache (adapters/rollup-part-cache) true to what `client` writes to the rollups
 * table: each written day item is dropped before the write is sent and again once it is answered
 * (a write whose keys are not known drops everything); a change of the upkeep's state through
 * `client` (a lease taken, a release) is told to the cache as its own (the new `runs`, the
 * owner, from the answer); a write that failed other than by its condition (a timeout: the
 * store may still apply it) stops the cache until this process takes the lease again.
 */
export function attachRollupPartWatch(client: DynamoDBClient, rollupsTable: string, cache: RollupPartCache): void {
  client.middlewareStack.remove(PART_WATCH);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const keys = rollupWriteKeys(context.commandName ?? '', args.input as RollupWriteInput, rollupsTable);
      if (keys === null) return next(args);
      const touch = () => {
        if (keys === undefined) cache.writing();
        else for (const { pk, sk } of keys) cache.writing(pk, sk);
      };
      touch();
      try {
        const result = await next(args);
        const output = result.output as { Attributes?: Record<string, { S?: string; N?: string }> };
        const runs = output.Attributes?.runs?.N;
        if (keys?.[0]?.pk === STATE_KEY.pk && runs !== undefined) {
          const previous = output.Attributes?.leasePrev?.S;
          cache.ownRun(Number(runs), output.Attributes?.leaseOwner?.S, previous === '-' ? undefined : previous);
        }
        return result;
      } catch (err) {
        if ((err as Error).name !== 'ConditionalCheckFailedException' && (keys === undefined || keys.some((k) => isDayItem(k.pk)))) cache.writeFailed();
        throw err;
      } finally {
        touch();
      }
    },
    { step: 'initialize', name: PART_WATCH },
  );
}

/** A rollup day item's partition (`<campaign>#m` / `#s` / `#v`), not the state, marks or spend. */
const isDayItem = (pk: string) => /#[msv]$/.test(pk);

/** The keys a write to the rollups table touches; undefined: not known (a transaction); null: not a write to it. */
export function rollupWriteKeys(commandName: string, input: RollupWriteInput, rollupsTable: string): { pk: string; sk: string | undefined }[] | undefined | null {
  const key = (k: Record<string, { S?: string }> | undefined) => (k?.pk?.S === undefined ? undefined : { pk: k.pk.S, sk: k.sk?.S });
  if (KEYED_WRITES.has(commandName)) {
    if (input.TableName !== rollupsTable) return null;
    const k = key(input.Key ?? input.Item);
    return k ? [k] : undefined;
  }
  if (commandName === 'BatchWriteItemCommand') {
    const requests = input.RequestItems?.[rollupsTable];
    if (!requests) return null;
    const keys = requests.map((r) => key(r.PutRequest?.Item ?? r.DeleteRequest?.Key));
    return keys.every((k) => k !== undefined) ? (keys as { pk: string; sk: string | undefined }[]) : undefined;
  }
  if (commandName === 'TransactWriteItemsCommand') return JSON.stringify(input.TransactItems ?? []).includes(JSON.stringify(rollupsTable)) ? undefined : null;
  return null;
}
