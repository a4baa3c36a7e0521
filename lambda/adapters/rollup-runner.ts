/**
 * Runs the rollup upkeep against a tracker's tables: what the local server's timer and
 * `npm run rollups` call (the Lambda handler builds the same from its environment). The settings
 * come from the catalog (campaigns ever deployed, retention histories) and the config.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TrackerConfig } from '../../config/schema';
import type { Log } from '../core/model';
import { runUpkeep, upkeepSettings, type UpkeepReport } from '../core/rollup-upkeep';
import { makeOpenHoursView, type ClickWriteGenerations, type OpenHoursView } from '../core/open-hours';
import { readCatalog } from './catalog';
import { upkeepReader, type Tables } from './report-ports';
import { newStats, type ReadStats } from './report-source';
import { DynamoRollupStore } from './rollup-store';

export interface RollupRunOptions {
  client: DynamoDBClient;
  tables: Tables & { catalog: string };
  config: TrackerConfig;
  log?: Log;
  now?: () => number;
  /** Stop working after this many ms (the next run goes on). */
  budgetMs?: number;
  stats?: ReadStats;
}

export async function runRollupUpkeep(options: RollupRunOptions): Promise<UpkeepReport> {
  const now = options.now ?? Date.now;
  const catalog = await readCatalog(options.client, options.tables.catalog);
  const { defaults, campaigns } = options.config;
  return runUpkeep({
    store: new DynamoRollupStore(options.client, options.tables.rollups, now),
    reader: upkeepReader(options.client, options.tables, options.stats ?? newStats()),
    settings: upkeepSettings(catalog, { campaigns, clickRetentionDays: defaults.clickRetentionDays, rollupRetentionDays: defaults.rollupRetentionDays }, now()),
    now,
    owner: randomUUID(),
    ...(options.budgetMs !== undefined ? { deadline: now() + options.budgetMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
}

/** A one-line account of a run, for people (`npm run rollups`, the local server's log). */
export function describeRun(report: UpkeepReport): string {
  if (!report.ran) return `another run holds the upkeep until ${report.heldUntil ?? '?'}: nothing done`;
  const parts: string[] = [];
  if (report.started) parts.push(`started: rollups cover the hours from ${report.started}`);
  if (report.closed.hours > 0) parts.push(`closed ${report.closed.hours} hour(s) up to ${report.closed.until} (${report.closed.parts} click part(s)${report.closed.frozen ? `, ${report.closed.frozen} campaign-hour(s) skipped: their clicks may have expired` : ''})`);
  if (report.clickMarks > 0) parts.push(`recomputed ${report.clickMarks} marked hour(s) whose clicks changed`);
  if (report.sweep) parts.push(`took in ${report.sweep.conversions} conversion(s) that arrived ${report.sweep.from} to ${report.sweep.to} (${report.sweep.parts} conversion part(s))`);
  if (report.conversionMarks > 0) parts.push(`${report.conversionMarks} replayed conversion hour(s)`);
  if (parts.length === 0) parts.push('nothing was due');
  return `${parts.join('; ')}${report.caughtUp ? '' : ' (more is due: runs again)'}`;
}

/**
 * A new view of the open hours (core/open-hours) from the tracker's tables: every campaign the
 * upkeep knows, from its closedUntil on. Undefined before the upkeep's first run (reports then
 * read raw anyway).
 */
export async function makeOpenView(options: Omit<RollupRunOptions, 'budgetMs' | 'log'> & { generations: ClickWriteGenerations }): Promise<OpenHoursView | undefined> {
  const now = options.now ?? Date.now;
  const stats = options.stats ?? newStats();
  const state = await new DynamoRollupStore(options.client, options.tables.rollups, now).state(stats);
  if (!state) return undefined;
  const catalog = await readCatalog(options.client, options.tables.catalog);
  const { defaults, campaigns } = options.config;
  const settings = upkeepSettings(catalog, { campaigns, clickRetentionDays: defaults.clickRetentionDays, rollupRetentionDays: defaults.rollupRetentionDays }, now());
  const reader = upkeepReader(options.client, options.tables, stats);
  return makeOpenHoursView((id, from, to) => reader.clicks(id, from, to), settings.campaigns.map((c) => c.id), state.closedUntil, now(), options.generations);
}

