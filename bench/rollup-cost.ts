/**
 * What keeping rollups costs in AWS a month, from what `npm run bench:report` measured on its
 * workload (10 campaigns, a month of clicks, the stored day items' sizes, when conversions
 * arrived) and the schedule in lib/rollup-upkeep.ts. Split the way the issue asks: an amount
 * per million clicks (the clicks and conversions the upkeep reads) and a fixed monthly amount
 * (the runs, and rewriting each campaign's day items as its hours close and its sales arrive,
 * which depends on campaigns and distinct values, not on the number of clicks).
 *
 * Steady state, not the first catch-up: every run closes the hour that ended, so a day item is
 * written 24 times a day, growing from 1/24 of its final size to all of it (read back before each
 * write, strongly consistent); an hourly sweep rewrites the conversion day item of every
 * campaign-day a sale arrived for.
 */
import { PRICES } from './prices';

/** What bench:report stores in bench/results.json under `reportBench` (the parts used here). */
export interface ReportBenchFacts {
  clicks: number;
  campaigns: number;
  days: number;
  /** Stored day items per kind: their sizes in bytes. */
  dayItems: Record<'clickMain' | 'clickSubs' | 'conversions', { items: number; bytes: number[] }>;
  /** Distinct (sweep hour, campaign, day) and (sweep hour, campaign, hour) a month of arrivals touched. */
  sweepDays: number;
  sweepHours: number;
  conversions: number;
}

/** Stated assumptions of the upkeep model. */
export const UPKEEP_ASSUMPTIONS = {
  clickItemBytes: 520,
  conversionIndexBytes: 300,
  runMs: 1500,
  runMsNote: 'an upkeep run that closes one hour for 10 campaigns and sweeps an hour of sales: ~1.5 s billed at 512 MB (assumed, from the local runs)',
  runsPerMonth: (30 * 24 * 60) / 5,
  sweepsPerMonth: 30 * 24,
  markerInvocationsPerMonth: 30 * 24 * 60 * 2,
  markerNote: 'lander clicks reach the marker in batches (30 s window): at most 2 invocations a minute, 256 MB, ~100 ms each',
};

export interface UpkeepCostItem {
  item: string;
  /** Scales with clicks: $ per million clicks. */
  perMillionClicks: number;
  /** Fixed for the workload's campaigns and values: $ per month. */
  monthly: number;
  basis: string;
}

const KB = 1024;

export function rollupUpkeepCost(facts: ReportBenchFacts): UpkeepCostItem[] {
  const monthScale = 30 / facts.days;
  const clicksPerMonth = facts.clicks * monthScale;
  const perMillion = (usd: number) => (usd / clicksPerMonth) * 1_000_000;
  const items: UpkeepCostItem[] = [];
  const M = PRICES.dynamoReadUnit.usd;
  const W = PRICES.dynamoWriteUnit.usd;

  // Reading each click once when its hour closes (Query, eventually consistent: half a unit per 4 KB),
  // and each conversion when its hour's part is recomputed (about twice: arrival index + by click).
  const clickReadUnits = (clicksPerMonth * UPKEEP_ASSUMPTIONS.clickItemBytes) / (4 * KB) / 2;
  const conversionReadUnits = (facts.conversions * monthScale * 2 * UPKEEP_ASSUMPTIONS.conversionIndexBytes) / (4 * KB) / 2;
  items.push({
    item: 'Reading clicks and sales',
    perMillionClicks: perMillion((clickReadUnits + conversionReadUnits) * M),
    monthly: 0,
    basis: `each click read once when its hour closes (~${UPKEEP_ASSUMPTIONS.clickItemBytes} B), each sale about twice (index copies ~${UPKEEP_ASSUMPTIONS.conversionIndexBytes} B), eventually consistent queries`,
  });

  // Empty-partition minimums: 32 partition queries per campaign and hour closed, two arrival
  // queries per campaign and sweep, two by-click queries per hour a sweep recomputes.
  const hoursPerMonth = 30 * 24;
  const minimumQueries = facts.campaigns * hoursPerMonth * 32 + (facts.campaigns + 1) * 2 * UPKEEP_ASSUMPTIONS.sweepsPerMonth + facts.sweepHours * monthScale * 2;
  items.push({
    item: 'Upkeep queries (minimum)',
    perMillionClicks: 0,
    monthly: minimumQueries * 0.5 * M,
    basis: `${Math.round(minimumQueries)} queries a month at their half-unit minimum (32 click partitions per campaign-hour, arrivals per sweep, by-click reads per recomputed hour)`,
  });

  // Rewriting the click day items as their hours close: read back (consistent) and written 24 times a day.
  let closeRead = 0;
  let closeWrite = 0;
  for (const kind of ['clickMain', 'clickSubs'] as const) {
    for (const bytes of facts.dayItems[kind].bytes) {
      for (let h = 1; h <= 24; h++) {
        closeWrite += Math.ceil((bytes * h) / 24 / KB);
        if (h > 1) closeRead += Math.ceil((bytes * (h - 1)) / 24 / (4 * KB));
      }
    }
  }
  items.push({
    item: 'Click day items',
    perMillionClicks: 0,
    monthly: (closeRead * M + closeWrite * W) * monthScale,
    basis: `${facts.dayItems.clickMain.items + facts.dayItems.clickSubs.items} day items (main, subs) of the measured sizes, rewritten as each hour closes: ${Math.round(closeWrite * monthScale)} write + ${Math.round(closeRead * monthScale)} read units a month`,
  });

  // Conversion day items: rewritten once per hourly sweep for each campaign-day a sale arrived for.
  const convBytes = facts.dayItems.conversions.bytes;
  const avgConv = convBytes.reduce((a, b) => a + b, 0) / Math.max(1, convBytes.length);
  const convUnits = facts.sweepDays * monthScale * (Math.ceil(avgConv / KB) * W + Math.ceil(avgConv / (4 * KB)) * M);
  items.push({
    item: 'Conversion day items',
    perMillionClicks: 0,
    monthly: convUnits,
    basis: `${Math.round(facts.sweepDays * monthScale)} campaign-days a month rewritten by the hourly sweeps (avg ${Math.round(avgConv)} B)`,
  });

  const gbSecond = PRICES.lambdaArmGbSecond.usd;
  const upkeepLambda = UPKEEP_ASSUMPTIONS.runsPerMonth * (PRICES.lambdaRequests.usd + 0.5 * (UPKEEP_ASSUMPTIONS.runMs / 1000) * gbSecond);
  const markerLambda = UPKEEP_ASSUMPTIONS.markerInvocationsPerMonth * (PRICES.lambdaRequests.usd + 0.25 * 0.1 * gbSecond);
  items.push({
    item: 'Upkeep and marker Lambda',
    perMillionClicks: 0,
    monthly: upkeepLambda + markerLambda,
    basis: `${UPKEEP_ASSUMPTIONS.runsPerMonth} upkeep runs (every 5 minutes; ${UPKEEP_ASSUMPTIONS.runMsNote}); marker: ${UPKEEP_ASSUMPTIONS.markerNote}. Scheduled rules, stream reads by Lambda and filtered-out stream records are not billed`,
  });
  return items.map((i) => ({ ...i, perMillionClicks: Number(i.perMillionClicks.toFixed(4)), monthly: Number(i.monthly.toFixed(4)) }));
}

export const ROLLUP_TARGET_PER_MILLION_CLICKS = 0.02;
