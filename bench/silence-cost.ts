/**
 * What the silent-breakage alarm costs a month (README "Performance and cost", `npm run cost`):
 * fixed per campaign with the alarm on (its CloudWatch alarm and SilentCampaign metric, the
 * check's reads of its empty click partitions and rollup items), fixed for the check itself (its
 * alarm and SilenceChecks metric, invocations and duration, its log lines), and a variable part
 * per million clicks (each click is read raw a few times: while its hour is open, and while the
 * window's start passes through its hour). Estimates from the check's shape, stated here; the
 * click path itself gains nothing (one write, as before).
 */
import { PRICES } from './prices';

export const SILENCE_COST_ASSUMPTIONS = {
  runsPerMonth: 4 * 24 * 30,
  msPerRun: 1500,
  memoryGb: 0.25,
  /**
   * Read units one campaign costs per run with no clicks to read: 2 raw spans (the window's
   * first, partial hour and the open hour) x 32 click partitions x 0.5 (an empty eventually
   * consistent Query), plus rollup day items, conversions of those spans, arrivals, spend (~4).
   */
  readUnitsPerCampaignRun: 36,
  /** Raw reads of one click while it is in an open or partial hour of the window (15-minute runs). */
  rawReadsPerClick: 5,
  clickItemBytes: 550,
  logBytesPerRun: 300,
  logBytesPerCampaignRun: 250,
} as const;

export interface SilenceCostItem {
  item: string;
  monthly: number;
  basis: string;
}

const round = (n: number) => Number(n.toFixed(4));

/** Monthly cost for `campaigns` campaigns with the alarm on (0: nothing is deployed). */
export function silenceMonthlyCost(campaigns: number, a = SILENCE_COST_ASSUMPTIONS): { items: SilenceCostItem[]; monthly: number; perMillionClicks: number } {
  if (campaigns === 0) return { items: [], monthly: 0, perMillionClicks: 0 };
  const runs = a.runsPerMonth;
  const items: SilenceCostItem[] = [
    { item: 'CloudWatch alarms', monthly: (campaigns + 1) * PRICES.cloudWatchAlarm.usd, basis: `${campaigns} campaign alarm(s) + "check not running", $${PRICES.cloudWatchAlarm.usd} each` },
    { item: 'custom metrics', monthly: (campaigns + 1) * PRICES.cloudWatchMetric.usd, basis: `SilentCampaign per campaign + SilenceChecks, $${PRICES.cloudWatchMetric.usd} each` },
    {
      item: 'Lambda',
      monthly: runs * (PRICES.lambdaRequests.usd + (a.msPerRun / 1000) * a.memoryGb * PRICES.lambdaArmGbSecond.usd),
      basis: `${runs} runs (every 15 min), ${a.msPerRun} ms at ${a.memoryGb * 1024} MB arm64 assumed`,
    },
    { item: 'DynamoDB reads', monthly: runs * campaigns * a.readUnitsPerCampaignRun * PRICES.dynamoReadUnit.usd, basis: `${a.readUnitsPerCampaignRun} read units per campaign and run (empty partitions, rollup items)` },
    { item: 'logs (EMF lines)', monthly: (runs * (a.logBytesPerRun + campaigns * a.logBytesPerCampaignRun) / 1e9) * PRICES.logsIngestStandard.usd, basis: 'a line per run and a metric line per campaign' },
  ].map((i) => ({ ...i, monthly: round(i.monthly) }));
  // Eventually consistent reads: half a unit per 4 KB.
  const perMillionClicks = round(1e6 * a.rawReadsPerClick * (a.clickItemBytes / 4096) * 0.5 * PRICES.dynamoReadUnit.usd);
  return { items, monthly: round(items.reduce((s, i) => s + i.monthly, 0)), perMillionClicks };
}
