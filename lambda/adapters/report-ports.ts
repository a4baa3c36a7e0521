/**
 * The report core's and the rollup upkeep's ports on DynamoDB: one place that binds the readers
 * (core/report-run, core/rollup-upkeep) to the tables, all counting into one ReadStats.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ReportPorts } from '../core/report-run';
import type { UpkeepReader } from '../core/rollup-upkeep';
import type { TableDefinition } from './table-definitions';
import { arrivedConversions, campaignClicks, clickTimeConversions, newStats, oldestClickTime, type ReadStats } from './report-source';
import type { RollupPartCache } from './rollup-part-cache';
import { DynamoRollupStore } from './rollup-store';
import { readSpend } from './spend-store';

/** What the local server adds to its reports' reads. */
export interface LocalReadOptions {
  openClicks?: ReportPorts['openClicks'];
  partCache?: RollupPartCache;
}

export type Tables = Pick<Record<TableDefinition['id'], string>, 'clicks' | 'conversions' | 'rollups'>;

/**
 * Ports for runReport; `rollups: false` leaves them out (a raw-only report); `openClicks`: the
 * local server's view of the open hours (core/open-hours); `partCache`: its memory of rollup day
 * items (adapters/rollup-part-cache).
 */
export function reportPorts(client: DynamoDBClient, tables: Tables, stats: ReadStats = newStats(), options: LocalReadOptions & { rollups?: boolean } = {}): ReportPorts & { stats: ReadStats } {
  const store = new DynamoRollupStore(client, tables.rollups, Date.now, options.partCache);
  return {
    stats,
    raw: {
      clicks: (campaignId, from, to) => campaignClicks(client, tables.clicks, campaignId, from, to, stats),
      conversions: (key, from, to) => clickTimeConversions(client, tables.conversions, key, from, to, stats),
      arrived: (key, from, to, options) => arrivedConversions(client, tables.conversions, key, from, to, stats, options),
    },
    ...(options.rollups === false
      ? {}
      : {
          rollups: {
            state: () => store.state(stats),
            marks: () => store.marks(stats),
            clickParts: (campaignId, group, fromHour, toHour, dimensions) => store.clickParts(campaignId, group, fromHour, toHour, dimensions, stats),
            conversionParts: (campaign, fromHour, toHour, dimensions) => store.conversionParts(campaign, fromHour, toHour, dimensions, stats),
          },
        }),
    spend: { spend: (campaignId, fromDay, toDay) => readSpend(client, tables.rollups, campaignId, fromDay, toDay, stats) },
    ...(options.openClicks && options.rollups !== false ? { openClicks: options.openClicks } : {}),
    readStats: () => ({ items: stats.items, queries: stats.queries, readUnits: stats.capacityUnits }),
  };
}

/** What the upkeep reads: raw clicks and conversions. */
export function upkeepReader(client: DynamoDBClient, tables: Tables, stats: ReadStats = newStats()): UpkeepReader {
  return {
    clicks: (campaignId, from, to) => campaignClicks(client, tables.clicks, campaignId, new Date(from), new Date(to), stats),
    oldestClick: (campaignId) => oldestClickTime(client, tables.clicks, campaignId, stats),
    conversionsByClickTime: (key, from, to) => clickTimeConversions(client, tables.conversions, key, new Date(from), new Date(to), stats),
    conversionsArrived: (key, from, to) => arrivedConversions(client, tables.conversions, key, new Date(from), new Date(to), stats),
  };
}
