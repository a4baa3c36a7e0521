/**
 * What the silent-breakage check (core/silence) reads on DynamoDB: a campaign's clicks through
 * the report's read port (rollups for closed hours, raw for the rest: adapters/report-data), and
 * the newest conversion that counts through the conversions' arrival index (`byCampaign`:
 * campaign + createdAt), newest first, stopping at the first one — for a healthy campaign one
 * query that reads one index item. Test orders are indexed under `~test:<campaign>`, so this key
 * never sees them.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SilencePorts } from '../core/silence';
import { reportPorts } from './report-data';
import { queryItems, type ReadStats, newStats } from './report-source';

/** Index items read per page while looking for one that counts (events such as InitiateCheckout are skipped). */
export const ARRIVAL_PAGE = 50;

/**
 * When the newest conversion of `campaignId` that counts arrived, if one arrived at or after
 * `since`: a Query on `byCampaign` from now back to `since`, newest first, filtered to
 * `counted = true`, projecting `createdAt` alone; it stops at the first match.
 */
export async function lastCountedArrival(client: DynamoDBClient, table: string, campaignId: string, since: Date, stats: ReadStats = newStats()): Promise<string | undefined> {
  const items = queryItems(
    client,
    {
      TableName: table,
      IndexName: 'byCampaign',
      KeyConditionExpression: '#c = :c AND #t >= :since',
      FilterExpression: '#counted = :yes',
      ProjectionExpression: '#t',
      ExpressionAttributeNames: { '#c': 'campaignId', '#t': 'createdAt', '#counted': 'counted' },
      ExpressionAttributeValues: { ':c': { S: campaignId }, ':since': { S: since.toISOString() }, ':yes': { BOOL: true } },
      ScanIndexForward: false,
      Limit: ARRIVAL_PAGE,
    },
    stats,
  );
  // Leaving the loop ends the query: no further page is read.
  for await (const item of items) if (typeof item.createdAt === 'string') return item.createdAt;
  return undefined;
}

/** The check's ports on the tracker's tables. */
export function silencePorts(client: DynamoDBClient, tables: { clicks: string; conversions: string; catalog: string; rollups: string }, stats: ReadStats = newStats()): SilencePorts {
  return {
    report: reportPorts(client, tables),
    lastArrival: (campaignId, since) => lastCountedArrival(client, tables.conversions, campaignId, since, stats),
  };
}
