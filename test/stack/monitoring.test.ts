/**
 * Watching the tracker: the CloudWatch dashboard (business metrics from lambda/metrics.ts beside
 * API Gateway, Lambda and the dead-letter queue) and the alarms that join the queue alarm, with
 * and without an alarm e-mail.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../../lambda/metrics';
import { ARCHIVE_AFTER_DAYS } from '../../lambda/core/archive';
import { OLDEST_DEAD_LETTER_ALARM } from '../../lib/dead-letter-queue';
import { API_5XX_ALARM } from '../../lib/tracker-alarms';
import { type MetricDimension, searchExpression } from '../../lib/tracker-dashboard';
import { ACCOUNT, build, dashboardBody, type DashboardWidget, logicalId, resources } from './helpers';

/** Metrics drawn as one series each, with only the `service` dimension Powertools adds. */
const PLAIN = [
  'Clicks',
  'ClicksQueued',
  'ClicksLost',
  'Duplicates',
  'AmountConflicts',
  'TestPostbacks',
  'DeadLetterDuplicates',
  'DeadLettersCapped',
  'DeadLettersArchived',
  'DeadLetterOldestAge',
  'LanderClicks',
  'LanderClicksQueued',
  'Bots',
  'Prefetches',
];
/** Plain metrics that are an age, not a count: their 5-minute value is the largest one. */
const MAXIMA = ['DeadLetterOldestAge'];
/** Metrics with one more dimension whose values the traffic decides: drawn by SEARCH. */
const SEARCHES: Record<string, string> = {
  Conversions: `SEARCH('{Clickvault,service,type} service="clickvault" MetricName="Conversions"', 'Sum', 300)`,
  Revenue: `SEARCH('{Clickvault,service,currency} service="clickvault" MetricName="Revenue"', 'Sum', 300)`,
  Queued: `SEARCH('{Clickvault,service,reason} service="clickvault" MetricName="Queued"', 'Sum', 300)`,
  Rejected: `SEARCH('{Clickvault,service,reason} service="clickvault" MetricName="Rejected"', 'Sum', 300)`,
  Forwards: `SEARCH('{Clickvault,service,status} service="clickvault" MetricName="Forwards"', 'Sum', 300)`,
};

let template: Template;
let ids: Record<'click' | 'lander' | 'script' | 'postback' | 'ipn' | 'api' | 'queue' | 'dashboard', string>;
let widgets: DashboardWidget[];

beforeAll(() => {
  ({ template } = build());
  const fn = (prefix: string) => logicalId(template, 'AWS::Lambda::Function', prefix);
  ids = {
    click: fn('ClickFunction'),
    lander: fn('LanderFunction'),
    script: fn('ScriptFunction'),
    postback: fn('PostbackFunction'),
    ipn: fn('IpnFunction'),
    api: logicalId(template, 'AWS::ApiGatewayV2::Api', 'Api'),
    queue: logicalId(template, 'AWS::SQS::Queue', 'DeadLetters'),
    dashboard: logicalId(template, 'AWS::CloudWatch::Dashboard', 'Dashboard'),
  };
  widgets = dashboardBody(template).widgets;
});

const metricWidgets = () => widgets.filter((w) => w.type === 'metric');
/** Every metric line of every graph, as [namespace, name, dim, value, ..., options]. */
const lines = () => metricWidgets().flatMap((w) => w.properties.metrics ?? []);
const widgetTitled = (title: RegExp) => {
  const found = metricWidgets().filter((w) => title.test(w.properties.title ?? ''));
  expect(found).toHaveLength(1);
  return found[0] as DashboardWidget;
};

describe('dashboard', () => {
  it('is one dashboard named after the stack, opening on the last day', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(resources(template)[ids.dashboard]?.Properties?.DashboardName).toBe('Clickvault');
    expect(dashboardBody(template).start).toBe('-P1D');
  });

  it('draws every metric lambda/metrics.ts emits, and nothing in our namespace it does not', () => {
    expect(METRICS_NAMESPACE).toBe('Clickvault');
    // A new metric in lambda/metrics.ts fails here until the dashboard (and this list) has it.
    expect([...PLAIN, ...Object.keys(SEARCHES)].sort()).toEqual(Object.values(METRIC_NAMES).sort());

    const plain = lines().filter((l) => l[0] === 'Clickvault');
    expect(plain.map((l) => l[1]).sort()).toEqual([...PLAIN].sort());
    for (const line of plain) {
      // Exactly the dimension Powertools adds, summed per 5 minutes.
      expect(line.slice(2, 4)).toEqual(['service', 'clickvault']);
      expect(line).toHaveLength(5);
      expect(line[4]).toMatchObject({ stat: MAXIMA.includes(String(line[1])) ? 'Maximum' : 'Sum' });
    }
  });

  it('splits conversions, revenue, queued, rejected and forwards by their dimension with SEARCH expressions', () => {
    const expressions = lines()
      .map((l) => l[0])
      .filter((first): first is Record<string, unknown> => typeof first === 'object' && 'expression' in first);
    expect(expressions.map((e) => e.expression).sort()).toEqual(Object.values(SEARCHES).sort());
    for (const [metric, expression] of Object.entries(SEARCHES)) {
      const dimension = /service,(\w+)\}/.exec(expression)?.[1] ?? '';
      expect(expressions.find((e) => e.expression === expression)).toEqual({ expression, label: `\${PROP('Dim.${dimension}')}` });
      expect(searchExpression(metric, dimension as MetricDimension)).toBe(expression);
    }
  });

  it('lets revenue go below zero (refunds) and keeps every count graph at zero or above', () => {
    expect(widgetTitled(/^Revenue/).properties.yAxis?.left?.min).toBeUndefined();
    for (const w of metricWidgets().filter((x) => !/^Revenue/.test(x.properties.title ?? ''))) {
      expect(w.properties.yAxis?.left?.min).toBe(0);
    }
  });

  it('shows API requests, 4xx and 5xx of the $default stage', () => {
    const api = (name: string, label: string) => ['AWS/ApiGateway', name, 'ApiId', `{{Ref:${ids.api}}}`, 'Stage', '$default', { label, stat: 'Sum' }];
    expect(widgetTitled(/^API requests/).properties.metrics).toEqual([api('Count', 'Requests')]);
    expect(widgetTitled(/^API 4xx and 5xx/).properties.metrics).toEqual([api('4xx', '4xx'), api('5xx', '5xx')]);
  });

  it('shows Lambda errors, throttles (sums) and p99 duration, one line per request function', () => {
    const perFunction = (metric: string, stat: string) =>
      (['click', 'lander', 'script', 'postback', 'ipn'] as const).map((name) => ['AWS/Lambda', metric, 'FunctionName', `{{Ref:${ids[name]}}}`, { label: name, stat }]);
    expect(widgetTitled(/^Lambda errors/).properties.metrics).toEqual(perFunction('Errors', 'Sum'));
    expect(widgetTitled(/^Lambda throttles/).properties.metrics).toEqual(perFunction('Throttles', 'Sum'));
    expect(widgetTitled(/^Lambda duration p99/).properties.metrics).toEqual(perFunction('Duration', 'p99'));
  });

  it('shows the dead-letter queue depth and the age of its oldest message', () => {
    expect(widgetTitled(/^Dead-letter queue: messages waiting/).properties.metrics).toEqual([
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `{{GetAtt:${ids.queue}.QueueName}}`, { label: 'Visible messages', stat: 'Maximum' }],
    ]);
    expect(widgetTitled(/^Dead-letter queue: oldest message age/).properties.metrics).toEqual([
      ['AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', `{{GetAtt:${ids.queue}.QueueName}}`, { label: 'Oldest message', stat: 'Maximum' }],
    ]);
  });

  it('shows the dead-letter guard and archive: repeats not queued, refusals by the cap, archived, longest wait', () => {
    const names = (title: RegExp) => (widgetTitled(title).properties.metrics ?? []).map((l) => l[1]);
    expect(names(/^Dead letters: repeats/)).toEqual(['DeadLetterDuplicates', 'DeadLettersCapped', 'DeadLettersArchived']);
    expect(names(/^Longest-waiting dead letter/)).toEqual(['DeadLetterOldestAge']);
  });

  it('graphs 5-minute periods in the stack region, and lays the widgets out without overlap', () => {
    for (const w of metricWidgets()) expect(w.properties).toMatchObject({ period: 300, region: '{{Ref:AWS::Region}}', view: 'timeSeries' });
    const cells = new Set<string>();
    for (const w of widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x++) {
        for (let y = w.y; y < w.y + w.height; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('puts the state of every alarm on top', () => {
    const [top] = widgets;
    expect(top).toMatchObject({ type: 'alarm', x: 0, y: 0, width: 24 });
    const alarmIds = Object.keys(resources(template, 'AWS::CloudWatch::Alarm'));
    expect(new Set(top?.properties.alarms)).toEqual(new Set(alarmIds.map((id) => `{{GetAtt:${id}.Arn}}`)));
  });

  it('is linked from the DashboardUrl output', () => {
    template.hasOutput('DashboardUrl', {
      Value: {
        'Fn::Join': [
          '',
          ['https://', { Ref: 'AWS::Region' }, '.console.aws.amazon.com/cloudwatch/home?region=', { Ref: 'AWS::Region' }, '#dashboards/dashboard/', { Ref: ids.dashboard }],
        ],
      },
    });
  });

  it('names the region in the URL when the stack has one', () => {
    const { template: regional } = build({}, { env: { account: ACCOUNT, region: 'eu-west-1' } });
    const dashboard = logicalId(regional, 'AWS::CloudWatch::Dashboard', 'Dashboard');
    regional.hasOutput('DashboardUrl', {
      Value: { 'Fn::Join': ['', ['https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/', { Ref: dashboard }]] },
    });
  });
});

describe('alarms', () => {
  type AlarmProps = Record<string, unknown> & { Metrics?: Record<string, unknown>[] };
  const alarms = (t: Template = template) => Object.entries(resources(t, 'AWS::CloudWatch::Alarm')).map(([id, r]) => [id, r.Properties as AlarmProps] as const);
  const alarm = (prefix: string, t: Template = template) => resources(t)[logicalId(t, 'AWS::CloudWatch::Alarm', prefix)]?.Properties as AlarmProps;

  it('are the queue alarms, the archiver errors, the API 5xx rate, the dead-letter cap, one throttle alarm per request function and the rollup upkeep\'s', () => {
    expect(alarms().map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(
      [
        'AlarmsApi5xxRate',
        'AlarmsClickThrottles',
        'AlarmsDeadLettersCapped',
        'AlarmsIpnThrottles',
        'AlarmsLanderThrottles',
        'AlarmsScriptThrottles',
        'AlarmsPostbackThrottles',
        'DeadLetterArchiverErrors',
        'DeadLettersNotEmpty',
        'DeadLettersOldestMessage',
        'RollupsMarkerErrors',
        'RollupsMarkerIteratorAge',
        'RollupsStale',
        'RollupsUpkeepErrors',
        // The shipped config's campaign, with the silence alarm on by default (test/stack/silence).
        'SilenceNotRunning',
        'SilenceSilentdemo',
      ].sort(),
    );
    for (const [id, props] of alarms()) {
      // An idle tracker is healthy; the upkeep and the silence check run on a schedule whatever
      // the traffic, and a campaign's silence keeps its state between runs (test/stack/rollups, silence).
      if (id.startsWith('RollupsStale') || id.startsWith('SilenceNotRunning')) expect(props.TreatMissingData).toBe('breaching');
      else if (id.startsWith('SilenceSilent')) expect(props.TreatMissingData).toBe('ignore');
      else expect(props.TreatMissingData).toBe('notBreaching');
      expect(props.AlarmDescription).toEqual(expect.any(String));
    }
  });

  it('API 5xx rate: 100 * 5xx / Count of the $default stage over 5 minutes, above 1 %, from 10 requests', () => {
    const props = alarm('AlarmsApi5xxRate');
    expect(props).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(props.MetricName).toBeUndefined();
    const stat = (name: string) => ({
      Metric: { Namespace: 'AWS/ApiGateway', MetricName: name, Dimensions: [{ Name: 'ApiId', Value: { Ref: ids.api } }, { Name: 'Stage', Value: '$default' }] },
      Period: 300,
      Stat: 'Sum',
    });
    const metrics = props.Metrics ?? [];
    expect(metrics).toHaveLength(3);
    expect(metrics).toContainEqual({ Id: 'errors', MetricStat: stat('5xx'), ReturnData: false });
    expect(metrics).toContainEqual({ Id: 'requests', MetricStat: stat('Count'), ReturnData: false });
    const returned = metrics.filter((m) => m.ReturnData !== false);
    expect(returned).toEqual([expect.objectContaining({ Expression: 'IF(requests >= 10, 100 * FILL(errors, 0) / requests, 0)', ReturnData: true })]);
  });

  it('API 5xx rate: the expression is quiet below the minimum request count and breaches only above 1 %', () => {
    const expression = String(alarm('AlarmsApi5xxRate').Metrics?.find((m) => m.ReturnData === true)?.Expression);
    // CloudWatch metric math, evaluated on one datapoint: IF(cond, a, b) and FILL(x, v).
    const evaluate = new Function('IF', 'FILL', 'requests', 'errors', `return ${expression};`) as (
      iff: (c: boolean, a: number, b: number) => number,
      fill: (x: number | undefined, v: number) => number,
      requests: number,
      errors: number | undefined,
    ) => number;
    const rate = (requests: number, errors: number | undefined) =>
      evaluate((c, a, b) => (c ? a : b), (x, v) => x ?? v, requests, errors);
    const breaches = (requests: number, errors: number | undefined) => rate(requests, errors) > API_5XX_ALARM.thresholdPercent;
    expect(breaches(9, 9)).toBe(false); // below 10 requests: not evaluated
    expect(breaches(10, 1)).toBe(true); // 10 %
    expect(breaches(100, 1)).toBe(false); // exactly 1 %
    expect(breaches(1000, 11)).toBe(true); // 1.1 %
    expect(breaches(500, undefined)).toBe(false); // requests but no 5xx datapoint
    expect(rate(200, 3)).toBeCloseTo(1.5);
  });

  it('throttles: any throttled invocation of a request function in a minute', () => {
    for (const [name, fn] of [['Click', ids.click], ['Lander', ids.lander], ['Script', ids.script], ['Postback', ids.postback], ['Ipn', ids.ipn]] as const) {
      expect(alarm(`Alarms${name}Throttles`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        Statistic: 'Sum',
        Period: 60,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('oldest dead letter: the larger of SQS age of the oldest message and the archiver\'s longest wait, from 7 days, hourly', () => {
    const props = alarm('DeadLettersOldestMessage');
    expect(props).toMatchObject({
      Threshold: OLDEST_DEAD_LETTER_ALARM.thresholdDays * 86400,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    // Below the 10-day move to the archive, so it warns while the message is still in the queue.
    expect(OLDEST_DEAD_LETTER_ALARM.thresholdDays).toBeLessThan(ARCHIVE_AFTER_DAYS);
    const metrics = props.Metrics ?? [];
    expect(metrics).toContainEqual({
      Id: 'queueAge',
      MetricStat: {
        Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.queue, 'QueueName'] } }] },
        Period: 3600,
        Stat: 'Maximum',
      },
      ReturnData: false,
    });
    expect(metrics).toContainEqual({
      Id: 'waiting',
      MetricStat: { Metric: { Namespace: 'Clickvault', MetricName: 'DeadLetterOldestAge', Dimensions: [{ Name: 'service', Value: 'clickvault' }] }, Period: 3600, Stat: 'Maximum' },
      ReturnData: false,
    });
    expect(metrics.filter((m) => m.ReturnData !== false)).toEqual([expect.objectContaining({ Expression: 'MAX([queueAge, waiting])' })]);
    expect(String(props.AlarmDescription)).toMatch(/npm run redrive/);
  });

  it('dead-letter cap: any failure refused by deadLetters.maxDistinctPerHour in 5 minutes', () => {
    expect(alarm('AlarmsDeadLettersCapped')).toMatchObject({
      Namespace: 'Clickvault',
      MetricName: 'DeadLettersCapped',
      Dimensions: [{ Name: 'service', Value: 'clickvault' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
    });
    expect(String(alarm('AlarmsDeadLettersCapped').AlarmDescription)).toMatch(/maxDistinctPerHour/);
  });

  it('archiver: any failed run in its hour', () => {
    expect(alarm('DeadLetterArchiverErrors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(template, 'AWS::Lambda::Function', 'DeadLetterArchiverFunction') } }],
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('without alarmEmail: no topic, and no alarm has actions', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    for (const [, props] of alarms()) {
      expect(props.AlarmActions).toBeUndefined();
      expect(props.OKActions).toBeUndefined();
    }
  });

  it('with alarmEmail: every alarm, the queue alarm included, tells the one topic on alarm and on recovery', () => {
    const { template: withEmail } = build({ alarmEmail: 'ops@example.com' });
    withEmail.resourceCountIs('AWS::SNS::Topic', 1);
    const topic = { Ref: logicalId(withEmail, 'AWS::SNS::Topic', 'AlarmTopic') };
    const all = alarms(withEmail);
    expect(all).toHaveLength(16);
    for (const [, props] of all) {
      expect(props.AlarmActions).toEqual([topic]);
      expect(props.OKActions).toEqual([topic]);
    }
  });
});
