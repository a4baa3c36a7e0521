/**
 * The silent-breakage check on its schedule (EventBridge, every 15 minutes; lib/silence-alarm.ts):
 * one run of core/silence under the handler's deadline, one WARN log line per silent campaign, and
 * the metrics the alarms watch (`SilentCampaign` 0/1 per campaign, `SilenceChecks` per completed
 * run). A failure throws: no `SilenceChecks` point, so the "check not running" alarm sees it; the
 * campaigns' own alarms keep their state meanwhile (missing data is ignored), so a broken check
 * never reads as "all campaigns fine". Locally `npm start` runs `runSilenceCheck` on a timer.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readBundledConfig } from '../../config/bundled';
import { CALL_BUDGETS } from '../adapters/aws-clients';
import { createDynamoClient } from '../adapters/dynamodb-store';
import { silencePorts } from '../adapters/silence-source';
import { ENV, HANDLER_DEADLINE_MS, TABLE_ENV } from '../contract';
import { currentDeadline } from '../core/deadline';
import type { Log } from '../core/model';
import { checkSilence, silenceRules, type SilenceConfig, type SilencePorts, type SilenceReport } from '../core/silence';
import { logger } from '../logger';
import { publishSilence } from '../metrics';
import { withDeadline, type InvocationContext } from './deadline';
import { requireEnv } from './runtime';

/** Reading stops this long before the handler's deadline (the log lines, the metrics). */
export const SILENCE_SAFETY_MS = 5_000;

export interface SilenceCheckDeps {
  ports: SilencePorts;
  config: SilenceConfig;
  log?: Log;
}

/** One check: every campaign whose alarm is on, one WARN line per silent one. */
export async function runSilenceCheck(deps: SilenceCheckDeps, now: Date = new Date(), deadline?: number): Promise<SilenceReport> {
  const log = deps.log ?? logger;
  const report = await checkSilence(silenceRules(deps.config), deps.config, deps.ports, now, deadline);
  for (const s of report.campaigns) {
    if (!s.silent) continue;
    log.warn('silent campaign', { campaignId: s.campaignId, clicks: s.clicks, hours: s.hours, minClicks: s.minClicks, since: s.since, detail: s.message });
  }
  return report;
}

export function createSilenceCheckHandler(deps: SilenceCheckDeps & { now?: () => Date }) {
  const handle = async (_event: unknown): Promise<SilenceReport> => {
    const started = Date.now();
    const deadline = currentDeadline();
    let report: SilenceReport;
    try {
      report = await runSilenceCheck(deps, (deps.now ?? (() => new Date()))(), deadline ? deadline.at - SILENCE_SAFETY_MS : undefined);
    } catch (err) {
      // One ERROR line saying why; the throw makes it a failed invocation (no SilenceChecks point).
      (deps.log ?? logger).error('silence check failed', { error: (err as Error).message, ms: Date.now() - started });
      throw err;
    }
    const silent = report.campaigns.filter((s) => s.silent).map((s) => s.campaignId);
    (deps.log ?? logger).info('silence check', { campaigns: report.campaigns.length, silent, ms: Date.now() - started });
    await publishSilence(report.campaigns);
    return report;
  };
  return withDeadline(HANDLER_DEADLINE_MS.silenceCheck, handle);
}

function build() {
  const env = process.env;
  // The report's reads (pages of up to 1 MB): the rollup upkeep's patient budget; nobody waits on it.
  const client: DynamoDBClient = createDynamoClient(undefined, CALL_BUDGETS.rollups);
  return createSilenceCheckHandler({
    ports: silencePorts(client, {
      clicks: requireEnv(TABLE_ENV.clicks, env),
      conversions: requireEnv(TABLE_ENV.conversions, env),
      catalog: requireEnv(TABLE_ENV.catalog, env),
      rollups: requireEnv(TABLE_ENV.rollups, env),
    }),
    config: readBundledConfig(requireEnv(ENV.trackerConfig, env)),
  });
}

let built: ReturnType<typeof createSilenceCheckHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? build() : undefined;

/** Lambda entry point (EventBridge schedule). */
export const handler = async (event: unknown, context: InvocationContext): Promise<SilenceReport> => {
  built ??= build();
  return built(event, context);
};
