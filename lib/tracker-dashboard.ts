import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMES, METRICS_NAMESPACE, type MetricPoint } from '../lambda/metrics';
import { SERVICE_NAME } from './tracker-function';

type MetricKey = keyof typeof METRIC_NAMES;
/** The one extra dimension a metric may carry (lambda/metrics.ts). */
export type MetricDimension = NonNullable<MetricPoint['dimension']>['name'];

export interface BusinessGraph {
  readonly title: string;
  /** Metrics of lambda/metrics.ts METRIC_NAMES drawn in this graph. */
  readonly metrics: readonly MetricKey[];
  /** The dimension the metric is split by: one line per value, found by a SEARCH expression. */
  readonly by?: MetricDimension;
  /** Counts cannot go below zero; revenue can (refunds and chargebacks). @default true */
  readonly nonNegative?: boolean;
  /** How a 5-minute period is summarised: counts add up, an age is its largest value. @default 'Sum' */
  readonly stat?: 'Sum' | 'Maximum';
}

/**
 * The business graphs, each metric of lambda/metrics.ts in exactly one. Metrics with a dimension
 * (conversions by type, revenue by currency, ...) have values only the traffic decides, so they
 * are drawn by SEARCH expressions rather than one fixed metric per value.
 */
export const BUSINESS_GRAPHS = [
  { title: 'Clicks (stored, queued, lost)', metrics: ['clicks', 'clicksQueued', 'clicksLost'] },
  { title: 'Conversions by type', metrics: ['conversions'], by: 'type' },
  { title: 'Revenue by currency (net of refunds)', metrics: ['revenue'], by: 'currency', nonNegative: false },
  { title: 'Queued to the dead-letter queue, by reason', metrics: ['queued'], by: 'reason' },
  { title: 'Rejected, by reason', metrics: ['rejected'], by: 'reason' },
  { title: 'Forwards to traffic channels, by status', metrics: ['forwarded'], by: 'status' },
  { title: 'Duplicates, amount conflicts and test postbacks', metrics: ['duplicates', 'amountConflicts', 'tests'] },
  {
    title: 'Dead letters: repeats not queued again, refused by the cap, moved to the archive',
    metrics: ['deadLetterDuplicates', 'deadLettersCapped', 'deadLettersArchived'],
  },
  { title: 'Longest-waiting dead letter, queue or archive (seconds)', metrics: ['deadLetterOldestAge'], stat: 'Maximum' },
  { title: 'Lander clicks, bots and prefetches', metrics: ['landerClicks', 'landerClicksQueued', 'bots', 'prefetches'] },
] as const satisfies readonly BusinessGraph[];

/** Business graphs per dashboard row. */
export const BUSINESS_GRAPHS_PER_ROW = 3;

// A metric added to METRIC_NAMES without a graph above is a type error here.
type Unplaced = Exclude<MetricKey, (typeof BUSINESS_GRAPHS)[number]['metrics'][number]>;
const everyMetricHasAGraph: Record<Unplaced, never> = {};
void everyMetricHasAGraph;

/** The period of every graph: business metrics are 5-minute sums. */
export const DASHBOARD_PERIOD = Duration.minutes(5);

/**
 * `SEARCH('{Clickvault,service,type} service="clickvault" MetricName="Conversions"', 'Sum', 300)`:
 * every series of the metric with exactly the dimensions service + `dimension`, for our service.
 */
export function searchExpression(metricName: string, dimension: MetricDimension, period: Duration = DASHBOARD_PERIOD, service: string = SERVICE_NAME): string {
  return `SEARCH('{${METRICS_NAMESPACE},service,${dimension}} service="${service}" MetricName="${metricName}"', 'Sum', ${period.toSeconds()})`;
}

export interface TrackerDashboardProps {
  /** The HTTP API stage (API Gateway metrics by ApiId and Stage). */
  readonly stage: apigw.IHttpStage;
  /** The request functions by name (`click`, `postback`, `ipn`): one line each in the Lambda graphs. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly deadLetterQueue: sqs.IQueue;
  /** Alarms shown in a status row at the top. @default - no status row */
  readonly alarms?: readonly cloudwatch.IAlarm[];
  /**
   * Dashboard name. People find a dashboard by name in the console, so it is a readable one;
   * it stays unique because CloudFormation stack names are unique per account and region.
   * @default - the stack name
   */
  readonly dashboardName?: string;
}

/**
 * One CloudWatch dashboard for the tracker: what the business sees (clicks, conversions,
 * revenue, what was queued or rejected and why) beside what operations needs (API requests and
 * errors, Lambda errors, throttles and p99 duration, the dead-letter queue's depth), with the
 * alarms' state on top.
 */
export class TrackerDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** Console URL of the dashboard. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: TrackerDashboardProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const period = DASHBOARD_PERIOD;
    const functions = Object.entries(props.functions);
    if (functions.length === 0) throw new Error('TrackerDashboard: no functions to show');

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? stack.stackName,
      defaultInterval: Duration.days(1),
    });

    if (props.alarms && props.alarms.length > 0) {
      this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 3 }));
    }

    const graph = (title: string, metrics: cloudwatch.IMetric[], width: number, nonNegative = true): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, left: metrics, width, height: 6, period, leftYAxis: nonNegative ? { min: 0 } : {} });

    // Business: BUSINESS_GRAPHS_PER_ROW graphs per row.
    const business = BUSINESS_GRAPHS.map((g: BusinessGraph) => {
      const metrics: cloudwatch.IMetric[] = g.metrics.map((key) => {
        const metricName = METRIC_NAMES[key];
        if (g.by) {
          return new cloudwatch.SearchExpression({
            expression: searchExpression(metricName, g.by, period),
            label: `\${PROP('Dim.${g.by}')}`,
            period,
          });
        }
        return new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName,
          dimensionsMap: { service: SERVICE_NAME },
          statistic: g.stat === 'Maximum' ? cloudwatch.Stats.MAXIMUM : cloudwatch.Stats.SUM,
          period,
          label: metricName,
        });
      });
      return { title: g.title, metrics, nonNegative: g.nonNegative ?? true };
    });
    for (let i = 0; i < business.length; i += BUSINESS_GRAPHS_PER_ROW) {
      const row = business.slice(i, i + BUSINESS_GRAPHS_PER_ROW);
      this.dashboard.addWidgets(...row.map((g) => graph(g.title, g.metrics, Math.floor(24 / row.length), g.nonNegative)));
    }

    // Requests, API errors and the dead-letter queue (SQS's own view of its oldest message stops
    // counting a message received three times: the longest-waiting graph above is the full view).
    const sum = { period, statistic: cloudwatch.Stats.SUM };
    this.dashboard.addWidgets(
      graph('API requests', [props.stage.metricCount({ ...sum, label: 'Requests' })], 6),
      graph('API 4xx and 5xx', [props.stage.metricClientError({ ...sum, label: '4xx' }), props.stage.metricServerError({ ...sum, label: '5xx' })], 6),
      graph(
        'Dead-letter queue: messages waiting',
        [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'Visible messages' })],
        6,
      ),
      graph(
        'Dead-letter queue: oldest message age (seconds, SQS)',
        [props.deadLetterQueue.metricApproximateAgeOfOldestMessage({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'Oldest message' })],
        6,
      ),
    );

    // Lambda: one line per function.
    this.dashboard.addWidgets(
      graph('Lambda errors', functions.map(([name, fn]) => fn.metricErrors({ ...sum, label: name })), 8),
      graph('Lambda throttles', functions.map(([name, fn]) => fn.metricThrottles({ ...sum, label: name })), 8),
      graph('Lambda duration p99 (ms)', functions.map(([name, fn]) => fn.metricDuration({ period, statistic: cloudwatch.Stats.p(99), label: name })), 8),
    );

    this.url =
      `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}` +
      `#dashboards/dashboard/${this.dashboard.dashboardName}`;
  }
}
