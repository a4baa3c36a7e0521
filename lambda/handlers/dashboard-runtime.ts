/**
 * The dashboard API function's dependencies, from its environment, once per process: the same
 * tables and queue the CLIs read (names set by the stack), the config shipped in the bundle, and
 * the postback key (read by the ARN or name the config gives, only for the setup view).
 */
import { readBundledConfig } from '../../config/bundled';
import { protectionWarnings } from '../../config/schema';
import { DynamoDeadLetterArchive } from '../adapters/dead-letter-archive';
import { CALL_BUDGETS } from '../adapters/aws-clients';
import { dashboardPorts } from '../adapters/dashboard-ports';
import { createDynamoClient } from '../adapters/dynamodb-store';
import { CachedSecretReader } from '../adapters/secrets';
import { SqsDeadLetterQueue } from '../adapters/sqs-dead-letter';
import { ENV, TABLE_ENV } from '../contract';
import { ArchiveQueue } from '../core/archive';
import { buildSetup, type DashboardPorts } from '../core/dashboard-api';
import { reportSettings } from '../core/report-query';
import { urlKeyRef, type UrlKey } from '../core/urls';
import { requireEnv } from './runtime';

/** How long a dead letter the dashboard reads stays hidden if the function dies before releasing it. */
export const DASHBOARD_QUEUE_VISIBILITY_SECONDS = 30;

export function dashboardPortsFromEnv(env: NodeJS.ProcessEnv = process.env): DashboardPorts {
  const config = readBundledConfig(requireEnv(ENV.trackerConfig, env));
  const client = createDynamoClient(undefined, CALL_BUDGETS.dashboard);
  const tables = {
    clicks: requireEnv(TABLE_ENV.clicks, env),
    conversions: requireEnv(TABLE_ENV.conversions, env),
    catalog: requireEnv(TABLE_ENV.catalog, env),
    inbound: requireEnv(TABLE_ENV.inbound, env),
    rollups: requireEnv(TABLE_ENV.rollups, env),
  };
  const secrets = new CachedSecretReader('aws', env);
  // The tracking origin when the stack knows it (a custom domain); else the page puts its own
  // origin in front of the paths (it is served from the tracking domain itself).
  const host = env[ENV.trackingHost];
  const base = host ? `https://${host}` : '';
  return dashboardPorts({
    client,
    tables,
    queue: new SqsDeadLetterQueue(requireEnv(ENV.deadLetterQueueUrl, env), undefined, DASHBOARD_QUEUE_VISIBILITY_SECONDS, CALL_BUDGETS.dashboard),
    archive: new ArchiveQueue(new DynamoDeadLetterArchive(client, requireEnv(TABLE_ENV.deadLetterArchive, env))),
    settings: reportSettings(config),
    silence: config,
    setup: async () => {
      const chosen = urlKeyRef(config.postbackProtection);
      let key: UrlKey;
      const warnings = protectionWarnings(config);
      if (chosen) {
        const value = await secrets.read(chosen.ref).catch(() => undefined);
        key = value ? { value } : { placeholder: '<see npm run urls>' };
        if (!value) warnings.push('The postback key could not be read here: npm run urls prints the complete URLs.');
      }
      return buildSetup(base, config, key, warnings);
    },
  });
}
