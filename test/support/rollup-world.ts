/**
 * A tracker's data written through the real stores on dynalite, on a clock the test moves:
 * clicks (subs, countries, landers, bots, costs), lander clicks (updates of stored clicks, seen
 * by the local change feed), conversions through the real recording core (late ones, refunds,
 * test orders, organic sales, duplicates), replays that keep their first time, and runs of the
 * real rollup upkeep in between. Reports are run through the report core on both paths.
 */
import { randomUUID } from 'node:crypto';
import { DeleteItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TrackerConfig } from '../../config/schema';
import { readCatalog, syncCatalog } from '../../lambda/adapters/catalog';
import { DynamoConversionHistory } from '../../lambda/adapters/conversion-history';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, clickKey } from '../../lambda/adapters/dynamodb-store';
import { newStats } from '../../lambda/adapters/report-source';
import { ClickWriteGenerations, makeOpenHoursView, viewOf } from '../../lambda/core/open-hours';
import { reportPorts, upkeepReader } from '../../lambda/adapters/report-ports';
import { DynamoRollupStore } from '../../lambda/adapters/rollup-store';
import { recordConversion, type ConversionRequest } from '../../lambda/core/conversion';
import { mintClickId } from '../../lambda/core/ids';
import type { ClickRecord } from '../../lambda/core/model';
import { clickCoverage, nextDay, reportCampaigns, startOfDay, type GroupKey, type ReportFilter } from '../../lambda/core/report';
import { markingConversionStore } from '../../lambda/core/rollup-marks';
import { rollupEras, runUpkeep, upkeepSettings, type UpkeepReport } from '../../lambda/core/rollup-upkeep';
import { runReport, type ReportResult, type SourceChoice } from '../../lambda/core/report-run';
import { attachChangeFeed, attachRollupPartWatch } from '../../lambda/local/change-feed';
import type { TableNames } from '../../lambda/local/tables';
import { logger } from '../../lambda/logger';
import { freshTables, testEndpoint } from './dynamo';
import { RollupPartCache } from '../../lambda/adapters/rollup-part-cache';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { CALL_BUDGETS } from '../../lambda/adapters/aws-clients';

export interface World {
  client: DynamoDBClient;
  tables: TableNames;
  config: TrackerConfig;
  /** The simulated clock (epoch ms). */
  now: number;
  rollups: DynamoRollupStore;
  click(input: Omit<ClickRecord, 'clickId' | 'createdAt' | 'expiresAt' | 'channelId' | 'offerId'> & { offerId?: string; at?: number }): Promise<ClickRecord>;
  /** A lander click on a stored click, now (an update of the click, as `/go` makes it). */
  landerClick(clickId: string): Promise<void>;
  /** A conversion arriving now (or, with `createdAt` earlier, a replay of one that arrived then). */
  convert(request: ConversionRequest, createdAt?: number): Promise<string>;
  /** A run of the upkeep; `foreign`: by another process (its own client: the part cache does not see its writes). */
  upkeep(options?: { foreign?: boolean }): Promise<UpkeepReport>;
  /** The local server's memory of rollup day items, on this world's client (adapters/rollup-part-cache). */
  partCache: RollupPartCache;
  /** What TTL does: the click is gone. */
  expire(clickId: string): Promise<void>;
  report(q: ReportQuery & { source: SourceChoice }): Promise<ReportResult>;
}

export interface ReportQuery {
  by: GroupKey[];
  timeZone: string;
  fromDay: string;
  toDay: string;
  filter?: ReportFilter;
  includeTests?: boolean;
  chartBy?: GroupKey[];
  /** The bound on raw work a web request sets (core/report-run ReportRequest.limits). */
  limits?: { maxRawItems?: number; deadline?: number };
  /** Count the open hours from a view made now, as the local server's dashboard does (core/open-hours). */
  openView?: boolean;
  /** Read rollup day items through the world's part cache, as the local server's dashboard does. */
  partCache?: boolean;
}

/** `endpoint`: a dynalite of the test file's own (default: the run's shared one). */
export async function makeWorld(config: TrackerConfig, start: number, endpoint: string = testEndpoint()): Promise<World> {
  const { client, tables } = await freshTables(endpoint);
  const foreignClient = createDynamoClient(endpoint, CALL_BUDGETS.tool);
  const partCache = new RollupPartCache();
  attachRollupPartWatch(client, tables.rollups, partCache);
  let now = start;
  const clock = () => now;
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  await syncCatalog(
    client,
    tables.catalog,
    { campaigns: config.campaigns, clickRetentionDays: config.defaults.clickRetentionDays, rollupRetentionDays: config.defaults.rollupRetentionDays },
    new Date(start - 86400_000),
  );
  const rollups = new DynamoRollupStore(client, tables.rollups, clock);
  attachChangeFeed(client, tables.clicks, rollups, logger, clock);
  const clicks = new DynamoClickStore(client, tables.clicks);
  const conversions = markingConversionStore(new DynamoConversionStore(client, tables.conversions), rollups, logger, clock);
  const deps = {
    clicks,
    conversions,
    history: new DynamoConversionHistory(client, tables.conversions),
    types: new DynamoConversionTypes(client, tables.conversionTypes, 0),
    defaultCurrency: config.defaults.currency,
  };
  const world: World = {
    client,
    tables,
    config,
    get now() {
      return now;
    },
    set now(t: number) {
      now = t;
    },
    rollups,
    partCache,
    async click(input) {
      const at = input.at ?? now;
      const campaign = config.campaigns.find((c) => c.id === input.campaignId);
      if (!campaign) throw new Error(`no campaign ${input.campaignId}`);
      const { at: _at, ...rest } = input;
      void _at;
      const record: ClickRecord = {
        ...rest,
        clickId: mintClickId(campaign.id, at),
        offerId: input.offerId ?? campaign.offers[0]?.offer ?? 'x',
        channelId: campaign.trafficChannel,
        createdAt: new Date(at).toISOString(),
        expiresAt: Math.floor(at / 1000) + config.defaults.clickRetentionDays * 86400,
      };
      const result = await clicks.putClick(record);
      if (result !== 'stored') throw new Error('click not stored');
      return record;
    },
    async landerClick(clickId) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tables.clicks,
            Key: clickKey(clickId),
            UpdateExpression: 'SET lpClickAt = :t',
            ConditionExpression: 'attribute_exists(clickId) AND attribute_not_exists(lpClickAt)',
            ExpressionAttributeValues: { ':t': { S: new Date(now).toISOString() } },
          }),
        );
      } catch (err) {
        if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
      }
    },
    async convert(request, createdAt) {
      const outcome = await recordConversion(request, new Date(createdAt ?? now), deps, async () => ({ kept: true }));
      return outcome.status;
    },
    async upkeep(options = {}) {
      const catalog = await readCatalog(client, tables.catalog);
      const via = options.foreign ? foreignClient : client;
      return runUpkeep({
        store: options.foreign ? new DynamoRollupStore(foreignClient, tables.rollups, clock) : rollups,
        reader: upkeepReader(via, tables),
        settings: upkeepSettings(catalog, { campaigns: config.campaigns, clickRetentionDays: config.defaults.clickRetentionDays, rollupRetentionDays: config.defaults.rollupRetentionDays }, now),
        now: clock,
        owner: randomUUID(),
        log: logger,
      });
    },
    async expire(clickId) {
      await client.send(new DeleteItemCommand({ TableName: tables.clicks, Key: clickKey(clickId) }));
    },
    async report(q) {
      const catalog = await readCatalog(client, tables.catalog);
      const known = reportCampaigns(config.campaigns.map((c) => c.id), catalog?.campaigns);
      const stats = newStats();
      const generations = new ClickWriteGenerations();
      const state = q.openView ? await world.rollups.state() : undefined;
      const reader = upkeepReader(client, tables);
      const view = state ? await makeOpenHoursView((id, from, to) => reader.clicks(id, from, to), known.campaigns, state.closedUntil, now, generations) : undefined;
      return runReport(
        {
          by: q.by,
          timeZone: q.timeZone,
          fromDay: q.fromDay,
          toDay: q.toDay,
          from: startOfDay(q.fromDay, q.timeZone),
          to: startOfDay(nextDay(q.toDay), q.timeZone),
          campaigns: known.campaigns,
          includeUnattributed: true,
          includeTests: q.includeTests === true,
          ...(q.filter ? { filter: q.filter } : {}),
          source: q.source,
          costCurrency: config.defaults.currency,
          retired: known.retired,
          clickCoverage: clickCoverage(catalog?.retention ?? [], config.defaults.clickRetentionDays, new Date(now)),
          rollupRetention: rollupEras(catalog?.rollupRetention ?? [], config.defaults.rollupRetentionDays),
          now: new Date(now),
          ...(q.chartBy ? { chartBy: q.chartBy } : {}),
          ...(q.limits ? { limits: q.limits } : {}),
        },
        reportPorts(client, tables, stats, {
          ...(view ? { openClicks: (id: string, t: number) => viewOf(view, id, t, generations) } : {}),
          ...(q.partCache ? { partCache } : {}),
        }),
      );
    },
  };
  return world;
}

/** Runs the upkeep until nothing due is left (a first run catches up in steps). */
export async function catchUp(world: World): Promise<UpkeepReport[]> {
  const runs: UpkeepReport[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await world.upkeep();
    runs.push(r);
    if (r.caughtUp) return runs;
  }
  throw new Error('the upkeep did not catch up in 100 runs');
}
