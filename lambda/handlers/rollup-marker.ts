/**
 * The clicks table's stream (keys only) -> marks for the rollup upkeep: a click changed after its
 * hour was rolled up marks that hour (core/rollup-marks clickChangeMarks) when the change was a
 * lander click (the click's lpClickAt, read consistently, is after the hour closed:
 * core/rollup-marks changeCounts); a sealed address removed after the sends marks nothing. The
 * event source mapping passes only MODIFY records (TTL deletions never reach this code: a rollup
 * never forgets a click). Marks are idempotent puts, so a batch delivered twice only marks twice;
 * a failure throws, and the mapping retries the batch (split in halves) until it succeeds. Under
 * its deadline like every handler (HANDLER_DEADLINE_MS.rollupMarker).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { createDynamoClient } from '../adapters/dynamodb-store';
import { DynamoRollupStore, landerClickTimes } from '../adapters/rollup-store';
import { CALL_BUDGETS } from '../adapters/aws-clients';
import { HANDLER_DEADLINE_MS, TABLE_ENV } from '../contract';
import { changeCounts, clickChangeMarks, markSortKey } from '../core/rollup-marks';
import { logger } from '../logger';
import { withDeadline, type InvocationContext } from './deadline';
import { requireEnv } from './runtime';

/** The records of a stream event as the marking core reads them: changed click ids and when. */
export function clickChanges(event: DynamoDBStreamEvent): { clickId: string; at: number }[] {
  const out: { clickId: string; at: number }[] = [];
  for (const record of event.Records ?? []) {
    // Deletions (TTL or not) never subtract: only changes of stored clicks count.
    if (record.eventName !== 'MODIFY' && record.eventName !== 'INSERT') continue;
    const clickId = record.dynamodb?.Keys?.clickId?.S;
    // Seconds, rounded down: the marking core's margin covers it.
    const at = (record.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000;
    if (clickId && at > 0) out.push({ clickId, at });
  }
  return out;
}

export function createMarkerHandler(deps: { client: DynamoDBClient; rollupsTable: string; clicksTable: string }) {
  const store = new DynamoRollupStore(deps.client, deps.rollupsTable);
  const handle = async (event: DynamoDBStreamEvent): Promise<{ marked: number }> => {
    // Changes after their hour closed, then only those that were lander clicks.
    const late = clickChanges(event).filter((c) => clickChangeMarks([c]).length > 0);
    const lpClickAt = await landerClickTimes(deps.client, deps.clicksTable, [...new Set(late.map((c) => c.clickId))]);
    const marks = clickChangeMarks(late.filter((c) => changeCounts(c.clickId, lpClickAt.get(c.clickId))));
    if (marks.length > 0) await store.mark(marks);
    if (marks.length > 0) logger.info('rollup marks', { records: event.Records?.length ?? 0, marks: marks.map(markSortKey) });
    return { marked: marks.length };
  };
  return withDeadline(HANDLER_DEADLINE_MS.rollupMarker, handle);
}

const fromEnv = () =>
  createMarkerHandler({ client: createDynamoClient(undefined, CALL_BUDGETS.rollups), rollupsTable: requireEnv(TABLE_ENV.rollups), clicksTable: requireEnv(TABLE_ENV.clicks) });

let built: ReturnType<typeof createMarkerHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? fromEnv() : undefined;

/** Lambda entry point (DynamoDB Streams event source mapping on the clicks table). */
export const handler = async (event: DynamoDBStreamEvent, context: InvocationContext): Promise<{ marked: number }> => {
  built ??= fromEnv();
  return built(event, context);
};
