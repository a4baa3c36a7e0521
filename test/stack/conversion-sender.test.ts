/**
 * The sender in the template: the send queue and its dead-letter queue, the sender function with
 * its own least-privilege role (exactly the conversion APIs' secrets), the SQS event source with
 * partial batch failures, the hourly sweep, the alarms and the dashboard widget; the IP key table
 * and the sparse due index; what the request functions may do.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../config/load';
import { parseConfig, type TrackerConfig } from '../../config/schema';
import { PLATFORM_FAILURE_ALARM, SENDER_SIZING } from '../../lib/conversion-sender';
import { ACCOUNT, build, dashboardBody, grants, logicalId, resources, roleStatements, arnOf } from './helpers';

const ACTION = 'customers/1234567890/conversionActions/42';

function withApis(platforms: readonly ('meta' | 'tiktok' | 'google-ads')[] = ['meta', 'tiktok', 'google-ads']): TrackerConfig {
  const base = loadConfig();
  const channels = {
    meta: { id: 'facebook', name: 'Meta', clickIdParam: 'fbclid', conversionApi: { platform: 'meta', pixelId: '123456789012345', accessToken: { secretsManager: 'clickvault/meta' } } },
    tiktok: { id: 'tiktok', name: 'TikTok', clickIdParam: 'ttclid', conversionApi: { platform: 'tiktok', pixelCode: 'C4ABCDEFGHIJ123', accessToken: { ssmParameter: '/clickvault/tiktok' } } },
    'google-ads': {
      id: 'google',
      name: 'Google',
      clickIdParam: ['gclid', 'gbraid', 'wbraid'],
      conversionApi: {
        platform: 'google-ads',
        customerId: '123-456-7890',
        developerToken: { secretsManager: 'clickvault/google-dev' },
        clientId: { ssmParameter: '/clickvault/google-client-id' },
        clientSecret: { secretsManager: 'clickvault/google-secret' },
        refreshToken: { ssmParameter: '/clickvault/google-refresh' },
      },
    },
  } as const;
  return parseConfig({
    ...base,
    trafficChannels: [...platforms.map((p) => channels[p]), ...(platforms.includes('meta') ? [] : [{ id: 'facebook', name: 'FB', clickIdParam: 'fbclid' }])],
    conversionTypes: base.conversionTypes.map((t) => (t.name === 'payment' ? { ...t, platformEvents: { meta: 'Purchase', tiktok: 'CompletePayment', 'google-ads': ACTION } } : t)),
  });
}

const env = { account: ACCOUNT, region: 'eu-west-1' };

describe('the sender, with every conversion API', () => {
  const { template } = build({}, { config: withApis(), env });
  const fnId = logicalId(template, 'AWS::Lambda::Function', 'SenderFunction');
  const fn = resources(template)[fnId];
  const role = (fn?.Properties as { Role: { 'Fn::GetAtt': [string] } }).Role['Fn::GetAtt'][0];
  const queueId = logicalId(template, 'AWS::SQS::Queue', 'SenderQueue');
  const failedId = logicalId(template, 'AWS::SQS::Queue', 'SenderFailedJobs');
  const conversions = logicalId(template, 'AWS::DynamoDB::Table', 'TablesConversions');
  const clicks = logicalId(template, 'AWS::DynamoDB::Table', 'TablesClicks');
  const ipKeys = logicalId(template, 'AWS::DynamoDB::Table', 'TablesIpKeys');
  const dlq = logicalId(template, 'AWS::SQS::Queue', 'DeadLettersQueue');

  it('has a send queue (encrypted, TLS only, visibility 6 x the function timeout) whose jobs go to a failed-jobs queue after 5 receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: SENDER_SIZING.timeout.toSeconds() * 6,
      RedrivePolicy: { deadLetterTargetArn: arnOf(failedId), maxReceiveCount: 5 },
    });
    expect(Object.keys(resources(template, 'AWS::SQS::QueuePolicy')).length).toBeGreaterThanOrEqual(3);
  });

  it('runs the sender from the queue (batches of 10, partial batch failures) and every hour', () => {
    expect(fn?.Properties).toMatchObject({ Timeout: SENDER_SIZING.timeout.toSeconds(), MemorySize: 256, Architectures: ['arm64'] });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(queueId),
      FunctionName: { Ref: fnId },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: arnOf(fnId), RetryPolicy: { MaximumRetryAttempts: 2 } })],
    });
  });

  it('grants the sender exactly what it does — and the conversion APIs\' secrets, no others', () => {
    const mine = grants(roleStatements(template, role)).filter((g) => !g.startsWith('logs:') && !g.startsWith('xray:'));
    expect(mine).toEqual(
      [
        `dynamodb:DeleteItem ${JSON.stringify(arnOf(ipKeys))}`,
        `dynamodb:GetItem ${JSON.stringify(arnOf(clicks))}`,
        `dynamodb:GetItem ${JSON.stringify(arnOf(conversions))}`,
        `dynamodb:GetItem ${JSON.stringify(arnOf(ipKeys))}`,
        `dynamodb:PutItem ${JSON.stringify(arnOf(ipKeys))}`,
        `dynamodb:Query ${JSON.stringify(arnOf(conversions))}`,
        `dynamodb:Query ${JSON.stringify({ 'Fn::Join': ['', [arnOf(conversions), '/index/bySend']] })}`,
        `dynamodb:Scan ${JSON.stringify(arnOf(ipKeys))}`,
        `dynamodb:UpdateItem ${JSON.stringify(arnOf(clicks))}`,
        `dynamodb:UpdateItem ${JSON.stringify(arnOf(conversions))}`,
        `secretsmanager:GetSecretValue "arn:aws:secretsmanager:eu-west-1:123456789012:secret:clickvault/google-dev-??????"`,
        `secretsmanager:GetSecretValue "arn:aws:secretsmanager:eu-west-1:123456789012:secret:clickvault/google-secret-??????"`,
        `secretsmanager:GetSecretValue "arn:aws:secretsmanager:eu-west-1:123456789012:secret:clickvault/meta-??????"`,
        `sqs:ChangeMessageVisibility ${JSON.stringify(arnOf(queueId))}`,
        `sqs:DeleteMessage ${JSON.stringify(arnOf(queueId))}`,
        `sqs:GetQueueAttributes ${JSON.stringify(arnOf(queueId))}`,
        `sqs:GetQueueUrl ${JSON.stringify(arnOf(queueId))}`,
        `sqs:ReceiveMessage ${JSON.stringify(arnOf(queueId))}`,
        `sqs:SendMessage ${JSON.stringify(arnOf(dlq))}`,
        `sqs:SendMessage ${JSON.stringify(arnOf(queueId))}`,
        `ssm:GetParameter "arn:aws:ssm:eu-west-1:123456789012:parameter/clickvault/google-client-id"`,
        `ssm:GetParameter "arn:aws:ssm:eu-west-1:123456789012:parameter/clickvault/google-refresh"`,
        `ssm:GetParameter "arn:aws:ssm:eu-west-1:123456789012:parameter/clickvault/tiktok"`,
      ].sort(),
    );
    // The click's sealed address is the one attribute it may change on a click.
    const clickUpdate = roleStatements(template, role).find((s) => JSON.stringify(s.Action) === '"dynamodb:UpdateItem"' && JSON.stringify(s.Resource) === JSON.stringify(arnOf(clicks)));
    expect(clickUpdate?.Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'clickId', 'sealedIp'] } });
  });

  it('gives the request functions no secret of a platform and no update of a conversion; recording puts a job on the send queue', () => {
    for (const prefix of ['ClickFunction', 'PostbackFunction', 'IpnFunction']) {
      const r = (resources(template)[logicalId(template, 'AWS::Lambda::Function', prefix)]?.Properties as { Role: { 'Fn::GetAtt': [string] } }).Role['Fn::GetAtt'][0];
      const list = grants(roleStatements(template, r));
      expect(list.filter((g) => /clickvault\/(meta|tiktok|google)/.test(g))).toEqual([]);
      // (The dead-letter ledger's counters and markers are updated by every recording function: not a conversion.)
      const ledger = logicalId(template, 'AWS::DynamoDB::Table', 'TablesDeadLetterLedger');
      expect(list.filter((g) => g.startsWith('dynamodb:UpdateItem') && !g.includes(ledger))).toEqual([]);
      expect(list.some((g) => g === `sqs:SendMessage ${JSON.stringify(arnOf(queueId))}`)).toBe(prefix !== 'ClickFunction');
    }
    // Only the click function seals addresses: it reads (and, if the schedule has not yet, makes) the day's key.
    const clickRole = (resources(template)[logicalId(template, 'AWS::Lambda::Function', 'ClickFunction')]?.Properties as { Role: { 'Fn::GetAtt': [string] } }).Role['Fn::GetAtt'][0];
    expect(grants(roleStatements(template, clickRole)).filter((g) => g.includes(ipKeys))).toEqual([
      `dynamodb:GetItem ${JSON.stringify(arnOf(ipKeys))}`,
      `dynamodb:PutItem ${JSON.stringify(arnOf(ipKeys))}`,
    ]);
  });

  it('keeps the IP keys out of backups (crypto-shredding) and expires them by TTL too; indexes outstanding sends sparsely', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'day', KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'bySend',
          KeySchema: [
            { AttributeName: 'sendQueue', KeyType: 'HASH' },
            { AttributeName: 'sendDue', KeyType: 'RANGE' },
          ],
          Projection: Match.objectLike({ ProjectionType: 'INCLUDE', NonKeyAttributes: Match.arrayWith(['channelClickId', 'clickCreatedAt', 'forwardState']) }),
        }),
      ]),
    });
    // Every other table keeps its point-in-time recovery.
    const withPitr = Object.values(resources(template, 'AWS::DynamoDB::Table')).filter((t) => (t.Properties?.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled: boolean }).PointInTimeRecoveryEnabled);
    expect(withPitr).toHaveLength(Object.keys(resources(template, 'AWS::DynamoDB::Table')).length - 1);
  });

  it('alarms on each platform\'s failure rate and on failed send jobs; the dashboard shows sends by platform and outcome', () => {
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties as Record<string, unknown>);
    const rates = alarms.filter((a) => String(a.AlarmDescription).includes('of sales sent to'));
    expect(rates.map((a) => String(a.AlarmDescription).match(/sent to (\S+)/)?.[1]).sort()).toEqual(['google-ads', 'meta', 'tiktok']);
    for (const a of rates) {
      expect(a).toMatchObject({ Threshold: PLATFORM_FAILURE_ALARM.thresholdPercent, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
      const metrics = a.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] }; Period: number } }[];
      expect(metrics.find((m) => m.Expression)?.Expression).toContain(`>= ${PLATFORM_FAILURE_ALARM.minSends}`);
      expect(metrics.filter((m) => m.MetricStat).map((m) => [m.MetricStat?.Metric.MetricName, m.MetricStat?.Metric.Dimensions.find((d) => d.Name === 'outcome')?.Value, m.MetricStat?.Period])).toEqual([
        ['PlatformSends', 'sent', 3600],
        ['PlatformSends', 'failed', 3600],
        ['PlatformSends', 'queued', 3600],
      ]);
    }
    expect(alarms.some((a) => String(a.AlarmDescription).includes('failed on a send job five times'))).toBe(true);
    const widget = dashboardBody(template).widgets.find((w) => w.properties.title === 'Sales sent to the ad platforms, by platform and outcome');
    expect(JSON.stringify(widget?.properties.metrics)).toContain("SEARCH('{Clickvault,service,platform,outcome} service=\\\"clickvault\\\" MetricName=\\\"PlatformSends\\\"', 'Sum', 300)");
    expect(dashboardBody(template).widgets.some((w) => w.properties.title === 'Lambda errors' && JSON.stringify(w.properties.metrics).includes(fnId))).toBe(true);
  });

  it('outputs the send queue and the IP key table', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.SendQueueUrl?.Value).toEqual({ Ref: queueId });
    expect(outputs.IpKeysTableName?.Value).toEqual({ Ref: ipKeys });
  });
});

describe('the sender follows the config', () => {
  it('does not exist when nothing is sent anywhere; clicks then never touch the key table', () => {
    const { template } = build({}, { config: loadConfig(), env });
    expect(Object.keys(resources(template, 'AWS::Lambda::Function')).some((id) => id.startsWith('SenderFunction'))).toBe(false);
    // No send schedule (the dead-letter archiver's, the rollup upkeep's and the silence check's rules are there whatever the config says).
    expect(Object.keys(resources(template, 'AWS::Events::Rule')).filter((id) => !['DeadLetterArchiver', 'Rollups', 'Silence'].some((p) => id.startsWith(p)))).toEqual([]);
    const ipKeys = logicalId(template, 'AWS::DynamoDB::Table', 'TablesIpKeys');
    const clickRole = (resources(template)[logicalId(template, 'AWS::Lambda::Function', 'ClickFunction')]?.Properties as { Role: { 'Fn::GetAtt': [string] } }).Role['Fn::GetAtt'][0];
    expect(grants(roleStatements(template, clickRole)).filter((g) => g.includes(ipKeys))).toEqual([]);
  });

  it('with Google Ads only: no sealed addresses (Google takes none), so no key table access at all', () => {
    const { template } = build({}, { config: withApis(['google-ads']), env });
    const ipKeys = logicalId(template, 'AWS::DynamoDB::Table', 'TablesIpKeys');
    for (const prefix of ['ClickFunction', 'SenderFunction']) {
      const r = (resources(template)[logicalId(template, 'AWS::Lambda::Function', prefix)]?.Properties as { Role: { 'Fn::GetAtt': [string] } }).Role['Fn::GetAtt'][0];
      expect(grants(roleStatements(template, r)).filter((g) => g.includes(ipKeys))).toEqual([]);
    }
  });

  it('refuses at synth a platform token only the local environment can read', () => {
    const base = withApis(['meta']);
    const local = parseConfig({ ...base, trafficChannels: base.trafficChannels.map((c) => (c.conversionApi?.platform === 'meta' ? { ...c, conversionApi: { ...c.conversionApi, accessToken: { env: 'META_TOKEN' } } } : c)) });
    expect(() => build({}, { config: local, env })).toThrow(/trafficChannels\[0\]\.conversionApi\.accessToken \(only env META_TOKEN\)/);
  });
});
