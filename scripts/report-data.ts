/** Gathers a report's clicks and conversions through the indexes, with progress and read stats. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { campaignClicks, campaignConversions, newStats, unattributedConversions, type ReadStats } from '../lambda/adapters/report-source';
import type { ReportClick, ReportConversion } from '../lambda/core/report';
import type { TableNames } from '../lambda/local/tables';

export interface ReportData {
  clicks: ReportClick[];
  conversions: ReportConversion[];
  stats: ReadStats;
}

export async function loadReportData(options: {
  client: DynamoDBClient;
  tables: TableNames;
  campaigns: string[];
  from: Date;
  to: Date;
  retentionDays: number;
  includeUnattributed: boolean;
  onProgress?: (message: string) => void;
}): Promise<ReportData> {
  const stats = newStats();
  const clicks: ReportClick[] = [];
  const conversions: ReportConversion[] = [];
  const progress = (what: string) => options.onProgress?.(`${what}: ${clicks.length} clicks, ${conversions.length} conversions, ${stats.capacityUnits.toFixed(1)} RCU`);
  for (const campaign of options.campaigns) {
    for await (const click of campaignClicks(options.client, options.tables.clicks, campaign, options.from, options.to, stats)) {
      clicks.push(click);
      if (clicks.length % 5000 === 0) progress(`campaign ${campaign}`);
    }
    for await (const conversion of campaignConversions(options.client, options.tables.conversions, campaign, options.from, options.to, options.retentionDays, stats)) {
      conversions.push(conversion);
    }
    progress(`campaign ${campaign} done`);
  }
  if (options.includeUnattributed) {
    for await (const conversion of unattributedConversions(options.client, options.tables.conversions, options.from, options.to, stats)) conversions.push(conversion);
  }
  return { clicks, conversions, stats };
}
