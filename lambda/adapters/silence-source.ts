/**
 * What the silent-breakage check (core/silence) reads on DynamoDB: a campaign's clicks through
 * the report's read port (rollups for closed hours, raw for the rest: adapters/report-data), and
 * the newest conversion that counts (by postback or IPN) through the conversions' arrival index (`byCampaign`:
 * campaign + createdAt), newest first, stopping at the first one — for a healthy campaign one
 * query that reads one index item. Test orders are indexed under `~test:<campaign>`, so this key
 * never sees them.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SilencePorts } from '../core/silence';
import { reportPorts } from './report-data';
import type { LocalReadOptions } from './report-ports';
import { queryItems, type ReadStats, newStats } from './report-source';

/** Index items read per page while looking for one that counts (events such as InitiateCheckout are skipped). */
export const ARRIVAL_PAGE = 50;

/**
 * When the newest conversion of `campaignId` that counts and came server to server (a postback
 * or an IPN, not a pixel) arrived, if one arrived at or after `since`: a Query on `byCampaign`
 * from now back to `since`, newest first, filtered to `counted = true AND source <> pixel`,
 * projecting `createdAt` alone; it stops at the first match.
 */
export async function lastCountedArrival(client: DynamoDBClient, table: string, campaignId: string, since: Date, stats: ReadStats = newStats()): Promise<string | undefined> {
  const items = queryItems(
    client,
    {
      TableName: table,
      IndexName: 'byCampaign',
      KeyConditionExpression: '#c = :c AND #t >= :since',
      // Counted, and server to server: a pixel runs in the buyer's browser (anyone holding a click
      // id can send one) and keeps firing when the postback is what broke.
      FilterExpression: '#counted = :yes AND #source <> :pixel',
      ProjectionExpression: '#t',
      ExpressionAttributeNames: { '#c': 'campaignId', '#t': 'createdAt', '#counted': 'counted', '#source': 'source' },
      ExpressionAttributeValues: { ':c': { S: campaignId }, ':since': { S: since.toISOString() }, ':yes': { BOOL: true }, ':pixel': { S: 'pixel' } },
      ScanIndexForward: false,
      Limit: ARRIVAL_PAGE,
    },
    stats,
  );
  // Leaving the loop ends the query: no further page is read.
  for await (const item of items) if (typeof item.createdAt === 'string') return item.createdAt;
  return undefined;
}

/**
 * The check's ports on the tracker's tables; `local`: the local server's open hours' view and
 * part cache (adapters/report-ports LocalReadOptions), as its dashboard reports read.
 */
export function silencePorts(client: DynamoDBClient, tables: { clicks: string; conversions: string; catalog: string; rollups: string }, stats: ReadStats = newStats(), local: LocalReadOptions = {}): SilencePorts {
  return {
    report: reportPorts(client, tables, local),
    lastArrival: (campaignId, since) => lastCountedArrival(client, tables.conversions, campaignId, since, stats),
  };
}
