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
import { readSpend, spendPk } from './spend-store';
import type { SpendRow } from '../core/spend';

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
  // The upkeep state, read once per report: with the part cache, spend is served from memory only
  // after this report's read of it (which makes the cache forget another process's writes).
  let state: ReturnType<DynamoRollupStore['state']> | undefined;
  const readState = () => (state ??= store.state(stats));
  const cache = options.partCache;
  const spend = async (campaignId: string, fromDay: string, toDay: string) => {
    if (!cache) return readSpend(client, tables.rollups, campaignId, fromDay, toDay, stats);
    await readState();
    const pk = spendPk(campaignId);
    const held = cache.getSpend<SpendRow>(pk, fromDay, toDay);
    if (held) return [...held];
    const generation = cache.generation(pk);
    const rows = await readSpend(client, tables.rollups, campaignId, fromDay, toDay, stats);
    cache.putSpend(pk, fromDay, toDay, generation, rows);
    return rows;
  };
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
            state: readState,
            marks: () => store.marks(stats),
            clickParts: (campaignId, group, fromHour, toHour, dimensions) => store.clickParts(campaignId, group, fromHour, toHour, dimensions, stats),
            conversionParts: (campaign, fromHour, toHour, dimensions) => store.conversionParts(campaign, fromHour, toHour, dimensions, stats),
          },
        }),
    spend: { spend },
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
