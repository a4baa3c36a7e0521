/**
 * The dashboard API's reads on the tracker's tables and queue: the same adapters the CLIs use
 * (report-data, trace-source, the dead-letter queue and archive), wired once for the local
 * server and the API function.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DashboardPorts, SetupInfo } from '../core/dashboard-api';
import { collapseCopies } from '../core/dead-letter-list';
import type { DeadLetterQueue } from '../core/model';
import type { ReportSettings } from '../core/report-query';
import { checkSilence, silenceRules, type SilenceConfig } from '../core/silence';
import { reportPorts } from './report-data';
import type { LocalReadOptions } from './report-ports';
import { silencePorts } from './silence-source';
import { readTrace, recentInbound } from './trace-source';

export interface DashboardSources {
  client: DynamoDBClient;
  tables: { clicks: string; conversions: string; catalog: string; inbound: string; rollups: string };
  queue: Pick<DeadLetterQueue, 'receive' | 'release'>;
  archive: Pick<DeadLetterQueue, 'receive'>;
  settings: ReportSettings;
  setup(): Promise<SetupInfo>;
  /** What the silence check takes from the config (the campaigns' silenceAlarm). */
  silence: SilenceConfig;
  /** The local server's view of the open hours (core/open-hours) and memory of rollup day items; absent in AWS. */
  local?: LocalReadOptions;
}

export function dashboardPorts(sources: DashboardSources): DashboardPorts {
  const { client, tables, queue, archive } = sources;
  return {
    report: reportPorts(client, tables, sources.local),
    settings: sources.settings,
    recentInbound: (limit, now) => recentInbound(client, tables.inbound, limit, now),
    trace: (clickId) => readTrace(client, tables, queue, archive, clickId),
    deadLetters: async (limit) => {
      // As `npm run dlq`: the queue's messages are read and released at once (they stay queued).
      const received = await queue.receive(limit);
      await Promise.all(received.map((r) => queue.release(r.handle)));
      const archived = received.length < limit ? await archive.receive(limit - received.length) : [];
      return collapseCopies([...received, ...archived]);
    },
    setup: sources.setup,
    alerts: (now, deadline) => checkSilence(silenceRules(sources.silence), sources.silence, silencePorts(client, tables, undefined, sources.local), now, deadline),
  };
}
