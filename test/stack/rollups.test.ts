/**
 * The rollup upkeep in the template: the rollups table, the clicks stream and the byClick index,
 * the upkeep function on its schedule and the marker on the stream (each with exactly its
 * grants), and the alarms that say when rollups fall behind.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { ROLLUPS_TABLE } from '../../lambda/adapters/table-definitions';
import { ROLLUP_ALARMS, ROLLUP_SCHEDULE } from '../../lib/rollup-upkeep';
import { UPKEEP_SAFETY_MS } from '../../lambda/handlers/rollup-upkeep';
import { arnOf, build, grants, logicalId, resources, roleStatements } from './helpers';

let template: Template;
let ids: Record<'clicks' | 'conversions' | 'catalog' | 'rollups' | 'upkeep' | 'marker' | 'upkeepRole' | 'markerRole', string>;

beforeAll(() => {
  ({ template } = build({ alarmEmail: 'ops@example.com' }));
  const table = (prefix: string) => logicalId(template, 'AWS::DynamoDB::Table', `Tables${prefix}`);
  const fn = (prefix: string) => logicalId(template, 'AWS::Lambda::Function', prefix);
  ids = {
    clicks: table('Clicks'),
    conversions: logicalId(template, 'AWS::DynamoDB::Table', 'TablesConversions'),
    catalog: table('Catalog'),
    rollups: table('Rollups'),
    upkeep: fn('RollupsUpkeepFunction'),
    marker: fn('RollupsMarkerFunction'),
    upkeepRole: logicalId(template, 'AWS::IAM::Role', 'RollupsUpkeepFunctionRole'),
    markerRole: logicalId(template, 'AWS::IAM::Role', 'RollupsMarkerFunctionRole'),
  };
});

const props = (id: string) => resources(template)[id]?.Properties ?? {};

describe('tables', () => {
  it('keeps rollups and spend in their own protected, retained table with a TTL', () => {
    const rollups = resources(template)[ids.rollups];
    expect(rollups).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(props(ids.rollups)).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: ROLLUPS_TABLE.ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(props(ids.rollups).GlobalSecondaryIndexes).toBeUndefined();
  });

  it('streams the keys of clicks (no attribute of a visitor leaves the table) and of nothing else', () => {
    expect(props(ids.clicks).StreamSpecification).toEqual({ StreamViewType: 'KEYS_ONLY' });
    for (const [id, table] of Object.entries(resources(template, 'AWS::DynamoDB::Table'))) {
      if (id !== ids.clicks) expect(table.Properties?.StreamSpecification).toBeUndefined();
    }
  });

  it('indexes conversions by campaign and click time, with what reports read (landerId too)', () => {
    const gsis = props(ids.conversions).GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: { NonKeyAttributes: string[] } }[];
    expect(gsis.map((g) => g.IndexName)).toEqual(['byCampaign', 'byClick', 'bySend']);
    const byClick = gsis.find((g) => g.IndexName === 'byClick');
    expect(byClick?.KeySchema).toEqual([
      { AttributeName: 'campaignId', KeyType: 'HASH' },
      { AttributeName: 'clickCreatedAt', KeyType: 'RANGE' },
    ]);
    expect(byClick?.Projection.NonKeyAttributes).toEqual(expect.arrayContaining(['type', 'revenue', 'currency', 'counted', 'createdAt', 'landerId', 'sub1', 'sub2', 'sub3']));
  });
});

describe('two-step upgrade (-c deferIndexes)', () => {
  // CloudFormation creates at most one new index per table and update: a stack from before
  // byClick and bySend is upgraded with -c deferIndexes=byClick first (docs/deploy.md).
  it('leaves the named index out and keeps every other', () => {
    const { template: first } = build({ deferIndexes: 'byClick' });
    const conversions = logicalId(first, 'AWS::DynamoDB::Table', 'TablesConversions');
    const gsis = resources(first)[conversions]?.Properties?.GlobalSecondaryIndexes as { IndexName: string }[];
    expect(gsis.map((g) => g.IndexName)).toEqual(['byCampaign', 'bySend']);
  });

  it('refuses a name that is no index of the tracker', () => {
    expect(() => build({ deferIndexes: 'byClik' })).toThrow(/deferIndexes names "byClik", which is not an index/);
  });
});

describe('upkeep function', () => {
  it('runs on a 5-minute schedule, without retries (the next run starts from the stored state)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: arnOf(ids.upkeep), RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 } })],
    });
    expect(ROLLUP_SCHEDULE.every.toMinutes()).toBe(5);
  });

  it('stops its work before its timeout (the handler keeps a margin), arm64 with the bundled config', () => {
    const p = props(ids.upkeep) as { Timeout: number; MemorySize: number; Architectures: string[]; Environment: { Variables: Record<string, unknown> } };
    expect(p.Timeout).toBe(ROLLUP_SCHEDULE.upkeepTimeout.toSeconds());
    expect(p.Timeout * 1000).toBeGreaterThan(UPKEEP_SAFETY_MS * 2);
    expect(p.Architectures).toEqual(['arm64']);
    expect(Object.keys(p.Environment.Variables).sort()).toEqual(
      // No NODE_OPTIONS: no function parses source maps at run time (test/stack/deadlines).
      ['CATALOG_TABLE', 'CLICKS_TABLE', 'CONVERSIONS_TABLE', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_SERVICE_NAME', 'ROLLUPS_TABLE', 'TRACKER_CONFIG'].sort(),
    );
  });

  it('may read clicks, conversions through their two indexes and the catalog, and keep the rollups table - nothing else', () => {
    const conversionsArn = arnOf(ids.conversions);
    const index = (name: string) => JSON.stringify({ 'Fn::Join': ['', [conversionsArn, `/index/${name}`]] });
    const own = grants(roleStatements(template, ids.upkeepRole)).filter((g) => !g.startsWith('logs:'));
    expect(own).toEqual(
      [
        `dynamodb:Query ${JSON.stringify(arnOf(ids.clicks))}`,
        `dynamodb:Query ${JSON.stringify(arnOf(ids.catalog))}`,
        `dynamodb:Query ${index('byClick')}`,
        `dynamodb:Query ${index('byCampaign')}`,
        ...['DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'].map((a) => `dynamodb:${a} ${JSON.stringify(arnOf(ids.rollups))}`),
      ].sort(),
    );
  });
});

describe('marker function', () => {
  it('reads the clicks stream: updates only (TTL deletions never reach it), batched, split and retried on errors', () => {
    const mappings = resources(template, 'AWS::Lambda::EventSourceMapping');
    expect(Object.keys(mappings)).toHaveLength(1);
    const mapping = Object.values(mappings)[0]?.Properties ?? {};
    expect(mapping).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [ids.clicks, 'StreamArn'] },
      FunctionName: { Ref: ids.marker },
      StartingPosition: 'LATEST',
      BatchSize: ROLLUP_SCHEDULE.markerBatchSize,
      MaximumBatchingWindowInSeconds: ROLLUP_SCHEDULE.markerBatchingWindow.toSeconds(),
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: ROLLUP_SCHEDULE.markerRetryAttempts,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['MODIFY'] }) }] },
    });
    // A mark is due within a minute of its lander click.
    expect(ROLLUP_SCHEDULE.markerBatchingWindow.toSeconds()).toBeLessThan(60);
  });

  it('may write marks (BatchWriteItem on the rollups table), read the clicks stream and lander-click times - nothing else', () => {
    const own = grants(roleStatements(template, ids.markerRole)).filter((g) => !g.startsWith('logs:'));
    const stream = JSON.stringify({ 'Fn::GetAtt': [ids.clicks, 'StreamArn'] });
    expect(own).toEqual(
      [
        `dynamodb:BatchWriteItem ${JSON.stringify(arnOf(ids.rollups))}`,
        `dynamodb:BatchGetItem ${JSON.stringify(arnOf(ids.clicks))}`,
        `dynamodb:DescribeStream ${stream}`,
        `dynamodb:GetRecords ${stream}`,
        `dynamodb:GetShardIterator ${stream}`,
        'dynamodb:ListStreams "*"',
      ].sort(),
    );
    expect((props(ids.marker) as { Timeout: number }).Timeout).toBe(ROLLUP_SCHEDULE.markerTimeout.toSeconds());
  });
});

describe('alarms', () => {
  const alarm = (prefix: string) => props(logicalId(template, 'AWS::CloudWatch::Alarm', prefix)) as Record<string, unknown>;

  it('on upkeep and marker errors in every one of three 5-minute periods', () => {
    for (const [prefix, fn] of [['RollupsUpkeepErrors', ids.upkeep], ['RollupsMarkerErrors', ids.marker]] as const) {
      expect(alarm(prefix)).toMatchObject({
        MetricName: 'Errors',
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: ROLLUP_ALARMS.errorPeriods,
        DatapointsToAlarm: ROLLUP_ALARMS.errorPeriods,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('when stream records wait more than 10 minutes (the iterator age)', () => {
    expect(alarm('RollupsMarkerIteratorAge')).toMatchObject({
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Threshold: ROLLUP_ALARMS.iteratorAgeMs,
      EvaluationPeriods: 2,
    });
  });

  it('when no hour was rolled up for 3 hours, or the upkeep stopped reporting (missing data breaches)', () => {
    expect(alarm('RollupsStale')).toMatchObject({
      MetricName: 'RollupCloseLagMinutes',
      Namespace: 'Clickvault',
      Dimensions: [{ Name: 'service', Value: 'clickvault' }],
      Statistic: 'Minimum',
      Threshold: ROLLUP_ALARMS.staleMinutes,
      TreatMissingData: 'breaching',
    });
  });

  it('tell the alarm e-mail like every other alarm', () => {
    const topic = logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic');
    for (const prefix of ['RollupsUpkeepErrors', 'RollupsMarkerErrors', 'RollupsMarkerIteratorAge', 'RollupsStale']) {
      expect(alarm(prefix).AlarmActions).toEqual([{ Ref: topic }]);
    }
  });
});

describe('outputs', () => {
  it('name the rollups table for the CLIs', () => {
    template.hasOutput('RollupsTableName', { Value: { Ref: ids.rollups } });
  });
});
