/**
 * Business metrics in CloudWatch embedded metric format (Powertools Metrics): written as one
 * log line per request, no extra API calls. Namespace `Clickvault`, dimension `service`
 * plus at most one low-cardinality dimension (type, currency, reason, status).
 *
 * `metricPoints` is pure (what an outcome counts as); `publish` hands them to Powertools.
 * Off when POWERTOOLS_METRICS_DISABLED=true (the local run and the tests set it).
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { ClickOutcome } from './core/click';
import type { IpnOutcome } from './core/ipn';
import type { PostbackOutcome } from './core/postback';
import type { SendResult } from './core/send';

export const METRICS_NAMESPACE = 'Clickvault';

/** Every metric the functions emit, and its one extra dimension (if any). */
export const METRIC_NAMES = {
  clicks: 'Clicks',
  clicksQueued: 'ClicksQueued',
  clicksLost: 'ClicksLost',
  conversions: 'Conversions', // dimension: type
  revenue: 'Revenue', // dimension: currency
  duplicates: 'Duplicates',
  /** A duplicate that named another amount or currency than the stored sale (the first stays). */
  amountConflicts: 'AmountConflicts',
  tests: 'TestPostbacks',
  queued: 'Queued', // dimension: reason
  rejected: 'Rejected', // dimension: reason
  forwarded: 'Forwards', // dimension: status
  deadLetterDuplicates: 'DeadLetterDuplicates', // a failure already queued, not queued again
  deadLettersCapped: 'DeadLettersCapped', // refused: its source's distinct failures this hour reached the cap
  deadLettersArchived: 'DeadLettersArchived', // moved from the queue to the archive (the archiver)
  deadLetterOldestAge: 'DeadLetterOldestAge', // seconds the longest-waiting failure (queue or archive) has waited (the archiver, hourly)
  /** Clicks flagged as bots (stored, never counted as clicks). */
  bots: 'Bots',
  /** Browser prefetches answered 503 without recording anything. */
  prefetches: 'Prefetches',
  /** First lander clicks recorded (GET /go). */
  landerClicks: 'LanderClicks',
  /** Lander clicks of clicks not stored (yet), kept in the dead-letter queue. */
  landerClicksQueued: 'LanderClicksQueued',
} as const;

/**
 * Sends to the ad platforms, by `platform` (meta, tiktok, google-ads) and `outcome` (sent,
 * failed, queued = retries ran out, retry, later, skipped): written by the sender function. Two
 * dimensions, so it has its own dashboard widget and alarm (lib/conversion-sender.ts).
 */
export const PLATFORM_SENDS_METRIC = 'PlatformSends';
export const SEND_OUTCOMES = ['sent', 'failed', 'queued', 'retry', 'later', 'skipped'] as const;

export interface MetricPoint {
  name: (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES] | typeof PLATFORM_SENDS_METRIC;
  value: number;
  unit: 'Count' | 'None' | 'Seconds';
  dimension?: { name: 'type' | 'currency' | 'reason' | 'status'; value: string };
  /** Several dimensions at once (PlatformSends). */
  dimensions?: { name: 'platform' | 'outcome'; value: string }[];
}

const count = (name: MetricPoint['name'], dimension?: MetricPoint['dimension']): MetricPoint => ({ name, value: 1, unit: 'Count', ...(dimension ? { dimension } : {}) });

export function clickMetrics(outcome: ClickOutcome): MetricPoint[] {
  switch (outcome.kind) {
    case 'not_found':
      return [count(METRIC_NAMES.rejected, { name: 'reason', value: 'unknown_campaign' })];
    case 'prefetch':
      return [count(METRIC_NAMES.prefetches)];
    case 'origin_refused':
      return [count(METRIC_NAMES.rejected, { name: 'reason', value: 'origin_not_allowed' })];
    case 'redirect': {
      // A bot is stored, but it is no click: it has a count of its own.
      const points = [count(outcome.click.bot ? METRIC_NAMES.bots : METRIC_NAMES.clicks)];
      if (outcome.stored === 'queued') points.push(count(METRIC_NAMES.clicksQueued));
      if (outcome.stored === 'lost') points.push(count(METRIC_NAMES.clicksLost));
      return points;
    }
  }
}

function conversionPoints(type: string, revenue: string, currency: string, counted: boolean): MetricPoint[] {
  const points = [count(METRIC_NAMES.conversions, { name: 'type', value: type })];
  const amount = Number(revenue);
  if (counted && amount !== 0) points.push({ name: METRIC_NAMES.revenue, value: amount, unit: 'None', dimension: { name: 'currency', value: currency } });
  return points;
}

export function postbackMetrics(outcome: PostbackOutcome): MetricPoint[] {
  switch (outcome.status) {
    case 'recorded': {
      const c = outcome.conversion;
      // Its send (to a platform or the channel's postback URL) is counted by the sender.
      return conversionPoints(c.type, c.revenue, c.currency, c.counted);
    }
    case 'duplicate':
      return outcome.conflict ? [count(METRIC_NAMES.duplicates), count(METRIC_NAMES.amountConflicts)] : [count(METRIC_NAMES.duplicates)];
    case 'test':
      return [count(METRIC_NAMES.tests)];
    case 'queued':
      // A repeat of a failure already queued is not queued again: counted apart.
      return outcome.duplicateOf !== undefined ? [count(METRIC_NAMES.deadLetterDuplicates)] : [count(METRIC_NAMES.queued, { name: 'reason', value: outcome.reason })];
    case 'capped':
      return [count(METRIC_NAMES.deadLettersCapped)];
    case 'rejected':
    case 'forbidden':
      return [count(METRIC_NAMES.rejected, { name: 'reason', value: outcome.reason })];
    case 'unavailable':
      return [count(METRIC_NAMES.rejected, { name: 'reason', value: 'unavailable' })];
  }
}

/**
 * The archiver's run: how many messages it moved, and how long the longest-waiting failure has
 * waited (0 when none: the alarm on it recovers once everything is replayed).
 */
export function archiveMetrics(summary: { archived: number; oldestWaitingSince?: string }, now: number = Date.now()): MetricPoint[] {
  const since = summary.oldestWaitingSince === undefined ? now : Date.parse(summary.oldestWaitingSince);
  return [
    { name: METRIC_NAMES.deadLettersArchived, value: summary.archived, unit: 'Count' },
    { name: METRIC_NAMES.deadLetterOldestAge, value: Math.max(0, Math.round((now - since) / 1000)), unit: 'Seconds' },
  ];
}

/** A request refused before the core ran (origin check, postback key, allowlist). */
export function refusalMetrics(reason: string): MetricPoint[] {
  return [count(METRIC_NAMES.rejected, { name: 'reason', value: reason })];
}

export function ipnMetrics(outcome: IpnOutcome): MetricPoint[] {
  if (outcome.reason === 'dead_letters_capped') return [count(METRIC_NAMES.deadLettersCapped)];
  if (outcome.status === 'forbidden' || outcome.status === 'rejected' || outcome.status === 'unavailable') {
    return [count(METRIC_NAMES.rejected, { name: 'reason', value: outcome.reason ?? outcome.status })];
  }
  if (outcome.status === 'test') return [count(METRIC_NAMES.tests)];
  // Kept for a person before any type ran (an amount or currency that cannot be read).
  if (outcome.status === 'queued' && outcome.results.length === 0) {
    return [outcome.queuedBefore ? count(METRIC_NAMES.deadLetterDuplicates) : count(METRIC_NAMES.queued, { name: 'reason', value: 'ipn' })];
  }
  const points: MetricPoint[] = [];
  for (const r of outcome.results) {
    // A recorded test order is no business number: it counts as a test.
    if (r.outcome === 'recorded' && r.test) points.push(count(METRIC_NAMES.tests));
    else if (r.outcome === 'recorded') {
      // Its send (to a platform or the channel's postback URL) is counted by the sender (sendMetrics).
      points.push(...conversionPoints(r.type, r.revenue ?? '0', r.currency ?? '', r.counted === true));
    } else if (r.outcome === 'duplicate') points.push(count(METRIC_NAMES.duplicates), ...(r.conflict ? [count(METRIC_NAMES.amountConflicts)] : []));
    else if (r.outcome === 'queued') points.push(r.queuedBefore ? count(METRIC_NAMES.deadLetterDuplicates) : count(METRIC_NAMES.queued, { name: 'reason', value: 'ipn' }));
  }
  return points;
}

/** The sender's results: PlatformSends by platform and outcome; generic postbacks as Forwards by status. */
export function sendMetrics(results: readonly SendResult[]): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const r of results) {
    if (r.outcome === 'busy' || r.outcome === 'gone' || r.to === undefined) continue;
    if (r.to === 'postback') points.push(count(METRIC_NAMES.forwarded, { name: 'status', value: r.outcome }));
    else {
      points.push({
        name: PLATFORM_SENDS_METRIC,
        value: 1,
        unit: 'Count',
        dimensions: [
          { name: 'platform', value: r.to },
          { name: 'outcome', value: r.outcome },
        ],
      });
    }
  }
  return points;
}

let loaded: Promise<{ metrics: Metrics; unit: typeof import('@aws-lambda-powertools/metrics').MetricUnit }> | undefined;

/** Powertools Metrics, loaded once on first use (a dynamic import per request measured 0.17 ms). */
function powertools() {
  loaded ??= import('@aws-lambda-powertools/metrics').then(({ Metrics, MetricUnit }) => ({
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'clickvault' }),
    unit: MetricUnit,
  }));
  return loaded;
}

/**
 * The plain per-visit counts (Clicks, Bots, Prefetches, LanderClicks) are summed in the
 * container and written every CLICKS_BATCH of them or CLICKS_FLUSH_MS, whichever comes first:
 * one EMF line per click would be ~190 bytes of log ingestion per click, a tenth of the cost
 * target per million clicks. A container that is shut down loses at most its unwritten sums
 * from the *metrics* (never a click: those are in DynamoDB, and reports count them there).
 * Everything else is written at once.
 */
export const CLICKS_BATCH = 100;
export const CLICKS_FLUSH_MS = 60_000;
const BATCHED = new Set<MetricPoint['name']>([METRIC_NAMES.clicks, METRIC_NAMES.bots, METRIC_NAMES.prefetches, METRIC_NAMES.landerClicks]);
const pending = { counts: new Map<MetricPoint['name'], number>(), total: 0, since: Date.now() };

/** Publishes points (one EMF line per dimensioned point, one for the rest). */
export async function publish(points: MetricPoint[], now: number = Date.now()): Promise<void> {
  if (points.length === 0 || process.env.POWERTOOLS_METRICS_DISABLED === 'true') return;
  const immediate: MetricPoint[] = [];
  for (const p of points) {
    if (BATCHED.has(p.name) && !p.dimension) {
      pending.counts.set(p.name, (pending.counts.get(p.name) ?? 0) + p.value);
      pending.total += p.value;
    } else immediate.push(p);
  }
  const flushBatched = pending.total > 0 && (pending.total >= CLICKS_BATCH || now - pending.since >= CLICKS_FLUSH_MS);
  if (immediate.length === 0 && !flushBatched) return;
  const { metrics, unit: MetricUnit } = await powertools();
  let stored = false;
  if (flushBatched) {
    for (const [name, value] of pending.counts) metrics.addMetric(name, MetricUnit.Count, value);
    pending.counts.clear();
    pending.total = 0;
    pending.since = now;
    stored = true;
  }
  for (const p of immediate) {
    const unit = p.unit === 'Count' ? MetricUnit.Count : p.unit === 'Seconds' ? MetricUnit.Seconds : MetricUnit.NoUnit;
    if (p.dimension || p.dimensions) {
      // A single metric is written at once, with its own dimension(s).
      const single = metrics.singleMetric();
      for (const d of [...(p.dimension ? [p.dimension] : []), ...(p.dimensions ?? [])]) single.addDimension(d.name, d.value.slice(0, 64));
      single.addMetric(p.name, unit, p.value);
    } else {
      metrics.addMetric(p.name, unit, p.value);
      stored = true;
    }
  }
  if (stored) metrics.publishStoredMetrics();
}

/** The rollup upkeep's lag, in minutes: hours not closed yet, conversions not swept yet. */
export const ROLLUP_METRICS = {
  /** Minutes since the end of the last hour whose click parts are rolled up. */
  closeLag: 'RollupCloseLagMinutes',
  /** Minutes since the cut of the conversion parts. */
  sweepLag: 'RollupSweepLagMinutes',
} as const;

export async function publishRollupLag(state: { closedUntil: number; cut: string }, now: number): Promise<void> {
  if (process.env.POWERTOOLS_METRICS_DISABLED === 'true') return;
  const { metrics, unit: MetricUnit } = await powertools();
  metrics.addMetric(ROLLUP_METRICS.closeLag, MetricUnit.NoUnit, Math.max(0, Math.round((now - state.closedUntil) / 60_000)));
  metrics.addMetric(ROLLUP_METRICS.sweepLag, MetricUnit.NoUnit, Math.max(0, Math.round((now - Date.parse(state.cut)) / 60_000)));
  metrics.publishStoredMetrics();
}

/**
 * The silent-breakage check (lambda/handlers/silence-check.ts): per campaign whose alarm is on,
 * `SilentCampaign` (dimension `campaign`: 1 silent, 0 not), which one CloudWatch alarm per
 * campaign watches (lib/silence-alarm.ts); and `SilenceChecks` (1 per completed run), whose
 * absence raises the "check not running" alarm.
 */
export const SILENCE_METRICS = {
  silent: 'SilentCampaign',
  checks: 'SilenceChecks',
} as const;
/** The dimension of SilentCampaign: the campaign id. */
export const SILENCE_DIMENSION = 'campaign';

/** What one run publishes: a 0/1 per campaign, then the run itself. */
export function silenceMetricPoints(statuses: readonly { campaignId: string; silent: boolean }[]): { campaignId?: string; name: string; value: number }[] {
  return [...statuses.map((s) => ({ campaignId: s.campaignId, name: SILENCE_METRICS.silent, value: s.silent ? 1 : 0 })), { name: SILENCE_METRICS.checks, value: 1 }];
}

export async function publishSilence(statuses: readonly { campaignId: string; silent: boolean }[]): Promise<void> {
  if (process.env.POWERTOOLS_METRICS_DISABLED === 'true') return;
  const { metrics, unit: MetricUnit } = await powertools();
  for (const p of silenceMetricPoints(statuses)) {
    if (p.campaignId === undefined) {
      metrics.addMetric(p.name, MetricUnit.Count, p.value);
      continue;
    }
    // One line per campaign, with its own dimension (written at once).
    const single = metrics.singleMetric();
    single.addDimension(SILENCE_DIMENSION, p.campaignId);
    single.addMetric(p.name, MetricUnit.NoUnit, p.value);
  }
  metrics.publishStoredMetrics();
}
