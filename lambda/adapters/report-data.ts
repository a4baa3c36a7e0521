/** Streams a report's clicks and conversions through the indexes into builders, with progress and read stats. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { campaignClicks, campaignConversions, newStats, unattributedConversions, type ReadStats } from './report-source';
import type { ReportClick, ReportConversion } from '../core/report';
import type { TableNames } from '../local/tables';
import type { ReportPorts } from '../core/report-query';
import { readCatalog } from './catalog';
import { readReport } from '../core/report-run';
import { reportPorts as rollupReadPorts, type LocalReadOptions } from './report-ports';

export interface ReportSink {
  addClick(click: ReportClick): void;
  addConversion(conversion: ReportConversion): void;
}

export interface ReportData {
  clicks: ReportClick[];
  conversions: ReportConversion[];
  stats: ReadStats;
}

export interface ReadOptions {
  client: DynamoDBClient;
  tables: Pick<TableNames, 'clicks' | 'conversions'>;
  campaigns: string[];
  from: Date;
  to: Date;
  includeUnattributed: boolean;
  /** Also read test orders (Digistore24 api_mode=test, recorded with recordTestOrders): `--include-tests`. */
  includeTests?: boolean;
  onProgress?: (message: string) => void;
}

/** Feeds every click and conversion of the range to the sinks as it is read; keeps nothing. */
export async function streamReportData(options: ReadOptions, sinks: ReportSink[]): Promise<{ clicks: number; conversions: number; tests: number; stats: ReadStats }> {
  const stats = newStats();
  let clicks = 0;
  let conversions = 0;
  let tests = 0;
  const testRuns = options.includeTests ? [false, true] : [false];
  const progress = (what: string) => options.onProgress?.(`${what}: ${clicks} clicks, ${conversions} conversions, ${stats.capacityUnits.toFixed(1)} RCU`);
  for (const campaign of options.campaigns) {
    for await (const click of campaignClicks(options.client, options.tables.clicks, campaign, options.from, options.to, stats)) {
      for (const sink of sinks) sink.addClick(click);
      if (++clicks % 5000 === 0) progress(`campaign ${campaign}`);
    }
    for (const testRun of testRuns) {
      for await (const conversion of campaignConversions(options.client, options.tables.conversions, campaign, options.from, options.to, stats, testRun)) {
        for (const sink of sinks) sink.addConversion(conversion);
        conversions++;
        if (testRun) tests++;
      }
    }
    progress(`campaign ${campaign} done`);
  }
  if (options.includeUnattributed) {
    for (const testRun of testRuns) {
      for await (const conversion of unattributedConversions(options.client, options.tables.conversions, options.from, options.to, stats, testRun)) {
        for (const sink of sinks) sink.addConversion(conversion);
        conversions++;
        if (testRun) tests++;
      }
    }
  }
  return { clicks, conversions, tests, stats };
}

/** Collects everything (tests and small ranges). */
export async function loadReportData(options: ReadOptions): Promise<ReportData> {
  const clicks: ReportClick[] = [];
  const conversions: ReportConversion[] = [];
  const { stats } = await streamReportData(options, [{ addClick: (c) => clicks.push(c), addConversion: (c) => conversions.push(c) }]);
  return { clicks, conversions, stats };
}

/**
 * The report's ports on the tracker's tables: the catalog, and reads from rollups wherever they
 * answer, raw for the rest (core/report-run readReport over adapters/report-ports).
 */
export function reportPorts(client: DynamoDBClient, tables: Pick<TableNames, 'clicks' | 'conversions' | 'catalog' | 'rollups'>, local: LocalReadOptions = {}): ReportPorts {
  return {
    catalog: () => readCatalog(client, tables.catalog),
    read: async (request, sinks) => {
      const stats = newStats();
      // A long read shows how far it got.
      const progress = request.onProgress
        ? setInterval(() => request.onProgress?.(`read ${stats.items} items, ${stats.capacityUnits.toFixed(1)} RCU`), 500)
        : undefined;
      try {
        const outcome = await readReport(request, rollupReadPorts(client, tables, stats, local), sinks);
        return {
          clicks: outcome.clicks,
          conversions: outcome.conversions,
          tests: outcome.tests,
          stats: { queries: stats.queries, items: stats.items, capacityUnits: stats.capacityUnits },
          report: outcome.stats,
          ...(outcome.spendNotice ? { spendNotice: outcome.spendNotice } : {}),
          rawClickSpans: outcome.rawClickSpans,
        };
      } finally {
        if (progress) clearInterval(progress);
      }
    },
  };
}
