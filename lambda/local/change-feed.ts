/**
 * The local stand-in for the clicks table's DynamoDB Stream. The embedded store has no streams,
 * so a middleware on the local DynamoDB client sees every successful UpdateItem on the clicks
 * table (a lander click sets `lpClickAt` on its click) and hands it to the same marking core the
 * stream handler in AWS uses (core/rollup-marks clickChangeMarks). Whatever process writes the
 * local store through such a client (the server, `npm run redrive -- --local`) marks the hours it
 * changes.
 */
import type { DynamoDBClient, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { clickChangeMarks, type RollupMarks } from '../core/rollup-marks';
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
