/**
 * The rollup upkeep on its schedule (EventBridge, every few minutes): one run of
 * core/rollup-upkeep under the handler's deadline (HANDLER_DEADLINE_MS.rollupUpkeep, withDeadline), logged as one line, with the
 * lag of the rollups as metrics (the stale-rollups alarm watches them). A failure throws: the
 * function's error alarm sees it, and the next run starts over from the stored state.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readBundledConfig } from '../../config/bundled';
import type { TrackerConfig } from '../../config/schema';
import { readCatalog } from '../adapters/catalog';
import { createDynamoClient } from '../adapters/dynamodb-store';
import { upkeepReader } from '../adapters/report-ports';
import { DynamoRollupStore } from '../adapters/rollup-store';
import { CALL_BUDGETS } from '../adapters/aws-clients';
import { ENV, HANDLER_DEADLINE_MS, TABLE_ENV } from '../contract';
import { currentDeadline } from '../core/deadline';
import { runUpkeep, upkeepSettings, type UpkeepReport } from '../core/rollup-upkeep';
import { logger } from '../logger';
import { publishRollupLag } from '../metrics';
import { withDeadline, type InvocationContext } from './deadline';
import { requireEnv } from './runtime';

/** Work stops this long before the function would time out (a write in flight, the log line). */
export const UPKEEP_SAFETY_MS = 15_000;

export interface UpkeepHandlerDeps {
  client: DynamoDBClient;
  tables: { clicks: string; conversions: string; catalog: string; rollups: string };
  config: TrackerConfig;
  now?: () => number;
}

export function createUpkeepHandler(deps: UpkeepHandlerDeps) {
  const now = deps.now ?? Date.now;
  const store = new DynamoRollupStore(deps.client, deps.tables.rollups, now);
  const reader = upkeepReader(deps.client, deps.tables);
  const handle = async (_event: unknown): Promise<UpkeepReport> => {
    const start = now();
    // The handler's deadline (withDeadline: its budget, or Lambda's remaining time if shorter),
    // on real time; the work stops UPKEEP_SAFETY_MS before it (a write in flight, the log line).
    const deadline = currentDeadline();
    const leftMs = (deadline ? deadline.at - Date.now() : HANDLER_DEADLINE_MS.rollupUpkeep) - UPKEEP_SAFETY_MS;
    const catalog = await readCatalog(deps.client, deps.tables.catalog);
    const { defaults, campaigns } = deps.config;
    const settings = upkeepSettings(catalog, { campaigns, clickRetentionDays: defaults.clickRetentionDays, rollupRetentionDays: defaults.rollupRetentionDays }, start);
    const report = await runUpkeep({ store, reader, settings, now, deadline: start + leftMs, owner: randomUUID(), log: logger });
    logger.info('rollup upkeep', {
      ran: report.ran,
      ...(report.heldUntil ? { heldUntil: report.heldUntil } : {}),
      ...(report.started ? { started: report.started } : {}),
      closed: report.closed,
      clickMarks: report.clickMarks,
      conversionMarks: report.conversionMarks,
      ...(report.sweep ? { sweep: report.sweep } : {}),
      caughtUp: report.caughtUp,
      ms: now() - start,
    });
    if (report.state) await publishRollupLag(report.state, now());
    return report;
  };
  return withDeadline(HANDLER_DEADLINE_MS.rollupUpkeep, handle);
}

function build() {
  const env = process.env;
  return createUpkeepHandler({
    // Its own budget: nobody waits on it, and its queries read pages of up to 1 MB.
    client: createDynamoClient(undefined, CALL_BUDGETS.rollups),
    tables: {
      clicks: requireEnv(TABLE_ENV.clicks, env),
      conversions: requireEnv(TABLE_ENV.conversions, env),
      catalog: requireEnv(TABLE_ENV.catalog, env),
      rollups: requireEnv(TABLE_ENV.rollups, env),
    },
    config: readBundledConfig(requireEnv(ENV.trackerConfig, env)),
  });
}

let built: ReturnType<typeof createUpkeepHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? build() : undefined;

/** Lambda entry point (EventBridge schedule). */
export const handler = async (event: unknown, context: InvocationContext): Promise<UpkeepReport> => {
  built ??= build();
  return built(event, context);
};
