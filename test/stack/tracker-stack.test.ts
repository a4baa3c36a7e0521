/**
 * The stack without a custom domain (CloudFront default domain), as `npm run synth` builds it
 * with no context: fine-grained assertions on every resource the issue lists.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../config/load';
import {
  CATALOG_TABLE,
  CLICKS_TABLE,
  CONVERSIONS_TABLE,
  CONVERSION_HISTORY_ATTRIBUTES,
  CONVERSION_TYPES_TABLE,
  DEAD_LETTER_ARCHIVE_TABLE,
  DEAD_LETTER_LEDGER_TABLE,
  INBOUND_TABLE,
  TABLE_DEFINITIONS,
  type TableDefinition,
} from '../../lambda/adapters/table-definitions';
import { ARCHIVER, BUNDLED_CONFIG_FILE, DASHBOARD_API_ROUTES, HANDLER_DEADLINE_MS, ORIGIN_VERIFY_HEADER, ROUTES } from '../../lambda/contract';
import { ACCESS_LOG_FIELDS } from '../../lib/tracker-api';
import { CLICK_HEADERS, FORWARDED_HEADERS, LANDER_CLICK_HEADERS } from '../../lib/tracker-distribution';
import { tableConstructId } from '../../lib/tracker-tables';
import { arnOf, build, grants, logicalId, resources, roleStatements } from './helpers';

const MANAGED = {
  cachingDisabled: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
  allViewerExceptHostHeader: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
};

let template: Template;
let ids: Record<
  | 'click'
  | 'lander'
  | 'script'
  | 'postback'
  | 'ipn'
  | 'sync'
  | 'archiver'
  | 'dashboardApi'
  | 'clicks'
  | 'conversions'
  | 'types'
  | 'inbound'
  | 'catalog'
  | 'ledger'
  | 'archive'
  | 'queue'
  | 'secret'
  | 'postbackKey'
  | 'distribution',
  string
>;

beforeAll(() => {
  ({ template } = build());
  const fn = (prefix: string) => logicalId(template, 'AWS::Lambda::Function', prefix);
  const table = (def: Pick<TableDefinition, 'id'>) =>
    logicalId(template, 'AWS::DynamoDB::Table', `Tables${tableConstructId(def)}`);
  ids = {
    click: fn('ClickFunction'),
    lander: fn('LanderFunction'),
    script: fn('ScriptFunction'),
    postback: fn('PostbackFunction'),
    ipn: fn('IpnFunction'),
    sync: fn('ConversionTypesSyncFunction'),
    archiver: fn('DeadLetterArchiverFunction'),
    dashboardApi: fn('DashboardApiFunction'),
    clicks: table(CLICKS_TABLE),
    conversions: table(CONVERSIONS_TABLE),
    types: table(CONVERSION_TYPES_TABLE),
    inbound: table(INBOUND_TABLE),
    catalog: table(CATALOG_TABLE),
    ledger: table(DEAD_LETTER_LEDGER_TABLE),
    archive: table(DEAD_LETTER_ARCHIVE_TABLE),
    queue: logicalId(template, 'AWS::SQS::Queue', 'DeadLetters'),
    secret: logicalId(template, 'AWS::SecretsManager::Secret', 'OriginVerify'),
    postbackKey: logicalId(template, 'AWS::SecretsManager::Secret', 'PostbackKey'),
    distribution: logicalId(template, 'AWS::CloudFront::Distribution', 'Cdn'),
  };
});

const secretReference = () => ({ 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: ids.secret }, ':SecretString:::}}']] });

describe('Lambda functions', () => {
  it('are Node.js 24 on arm64 with minified, source-mapped code and our sizes', () => {
    const expected: Record<string, { MemorySize: number; Timeout: number }> = {
      [ids.click]: { MemorySize: 256, Timeout: 5 },
      [ids.lander]: { MemorySize: 256, Timeout: 5 },
      [ids.script]: { MemorySize: 128, Timeout: 3 },
      [ids.postback]: { MemorySize: 256, Timeout: 10 },
      [ids.ipn]: { MemorySize: 256, Timeout: 10 },
      [ids.sync]: { MemorySize: 256, Timeout: 120 },
      [ids.archiver]: { MemorySize: 256, Timeout: ARCHIVER.timeoutSeconds },
    };
    for (const [id, sizing] of Object.entries(expected)) {
      expect(resources(template)[id]?.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        ...sizing,
      });
      expect(resources(template)[id]?.Properties).toMatchObject({
        Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'clickvault', POWERTOOLS_LOG_LEVEL: 'INFO' } },
      });
    }
  });

  // hasResourceProperties matches objects partially, so compare the variables with toEqual.
  const variablesOf = (fnId: string) => (resources(template)[fnId]?.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables;

  it('give the click function exactly the variables its handler reads', () => {
    expect(resources(template)[ids.click]?.Properties?.Description).toMatch(/GET \/click/);
    expect(variablesOf(ids.click)).toEqual({
      CLICKS_TABLE: { Ref: ids.clicks },
      DEAD_LETTER_QUEUE_URL: { Ref: ids.queue },
      TRACKER_CONFIG: `/var/task/${BUNDLED_CONFIG_FILE}`,
      ORIGIN_VERIFY_SECRET: secretReference(),
      POWERTOOLS_SERVICE_NAME: 'clickvault',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  it('give the lander-click function (GET /go) the clicks table, the queue and the config; the script function only the origin secret', () => {
    expect(resources(template)[ids.lander]?.Properties?.Description).toMatch(/GET \/go/);
    expect(variablesOf(ids.lander)).toEqual({
      CLICKS_TABLE: { Ref: ids.clicks },
      DEAD_LETTER_LEDGER_TABLE: { Ref: ids.ledger },
      DEAD_LETTER_QUEUE_URL: { Ref: ids.queue },
      TRACKER_CONFIG: `/var/task/${BUNDLED_CONFIG_FILE}`,
      ORIGIN_VERIFY_SECRET: secretReference(),
      POWERTOOLS_SERVICE_NAME: 'clickvault',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    expect(resources(template)[ids.script]?.Properties?.Description).toMatch(/GET \/t\.js/);
    expect(variablesOf(ids.script)).toEqual({
      ORIGIN_VERIFY_SECRET: secretReference(),
      POWERTOOLS_SERVICE_NAME: 'clickvault',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  it.each([
    ['postback', 'postback', '/postback'],
    ['IPN', 'ipn', '/ipn/digistore24'],
  ] as const)('give the %s function exactly the variables its handler reads, the inbound log included', (_name, key, route) => {
    expect(resources(template)[ids[key]]?.Properties?.Description).toContain(route);
    expect(variablesOf(ids[key])).toEqual({
      // The generated postback key: its ARN, for the postback function only (never its value).
      ...(key === 'postback' ? { POSTBACK_KEY_SECRET_ARN: { Ref: ids.postbackKey } } : {}),
      CLICKS_TABLE: { Ref: ids.clicks },
      CONVERSIONS_TABLE: { Ref: ids.conversions },
      CONVERSION_TYPES_TABLE: { Ref: ids.types },
      INBOUND_TABLE: { Ref: ids.inbound },
      DEAD_LETTER_LEDGER_TABLE: { Ref: ids.ledger },
      DEAD_LETTER_QUEUE_URL: { Ref: ids.queue },
      TRACKER_CONFIG: `/var/task/${BUNDLED_CONFIG_FILE}`,
      ORIGIN_VERIFY_SECRET: secretReference(),
      POWERTOOLS_SERVICE_NAME: 'clickvault',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  it('give the archiver the queue, the archive and the ledger, and no config or origin secret', () => {
    expect(variablesOf(ids.archiver)).toEqual({
      DEAD_LETTER_QUEUE_URL: { Ref: ids.queue },
      DEAD_LETTER_ARCHIVE_TABLE: { Ref: ids.archive },
      DEAD_LETTER_LEDGER_TABLE: { Ref: ids.ledger },
      POWERTOOLS_SERVICE_NAME: 'clickvault',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  it('log to their own log group with 90-day retention, no tracing by default', () => {
    for (const id of [ids.click, ids.lander, ids.script, ids.postback, ids.ipn, ids.sync, ids.archiver]) {
      const props = resources(template)[id]?.Properties as { LoggingConfig: { LogGroup: { Ref: string } }; TracingConfig?: unknown };
      const group = resources(template)[props.LoggingConfig.LogGroup.Ref];
      expect(group).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 90 }, DeletionPolicy: 'Retain' });
      expect(props.TracingConfig).toBeUndefined();
    }
  });

  it('have roles without managed policies (no AWSLambdaBasicExecutionRole), but for the CDK\'s deploy-time page copier', () => {
    for (const [id, role] of Object.entries(resources(template, 'AWS::IAM::Role'))) {
      if (id.startsWith('CustomCDKBucketDeployment')) continue; // runs only during a deploy (lib/dashboard-site.ts)
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('least-privilege IAM', () => {
  const roleOf = (fnId: string) => (resources(template)[fnId]?.Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'][0];
  const logGroupOf = (fnId: string) => (resources(template)[fnId]?.Properties as { LoggingConfig: { LogGroup: { Ref: string } } }).LoggingConfig.LogGroup.Ref;
  const logWrite = (fnId: string) => [
    `logs:CreateLogStream ${JSON.stringify(arnOf(logGroupOf(fnId)))}`,
    `logs:PutLogEvents ${JSON.stringify(arnOf(logGroupOf(fnId)))}`,
  ];

  it('click function: PutItem on clicks, SendMessage on the queue, its own logs - nothing else', () => {
    expect(grants(roleStatements(template, roleOf(ids.click)))).toEqual(
      [
        ...logWrite(ids.click),
        `dynamodb:PutItem ${JSON.stringify(arnOf(ids.clicks))}`,
        `sqs:SendMessage ${JSON.stringify(arnOf(ids.queue))}`,
      ].sort(),
    );
  });

  it('lander-click function: UpdateItem and GetItem on clicks (never PutItem), the ledger\'s markers and counters, SendMessage, its own logs - nothing else', () => {
    expect(grants(roleStatements(template, roleOf(ids.lander)))).toEqual(
      [
        ...logWrite(ids.lander),
        `dynamodb:GetItem ${JSON.stringify(arnOf(ids.clicks))}`,
        `dynamodb:UpdateItem ${JSON.stringify(arnOf(ids.clicks))}`,
        ...['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem'].map((a) => `dynamodb:${a} ${JSON.stringify(arnOf(ids.ledger))}`),
        `sqs:SendMessage ${JSON.stringify(arnOf(ids.queue))}`,
      ].sort(),
    );
    // A queued lander click is keyless: deduped and capped per network, never a lease.
    const limits = ledgerKeyLimits(roleOf(ids.lander));
    expect(limits.length).toBeGreaterThan(0);
    for (const limit of limits) expect(limit).toEqual(['fp#*', 'cap#*']);
  });

  it('script function: its own logs - nothing else', () => {
    expect(grants(roleStatements(template, roleOf(ids.script)))).toEqual(logWrite(ids.script).sort());
  });

  // Postback and IPN record conversions the same way, so their grants are the same list.
  const recordingGrants = (fnId: string) =>
    [
      ...logWrite(fnId),
      `dynamodb:GetItem ${JSON.stringify(arnOf(ids.clicks))}`,
      `dynamodb:GetItem ${JSON.stringify(arnOf(ids.types))}`,
      `dynamodb:PutItem ${JSON.stringify(arnOf(ids.conversions))}`,
      `dynamodb:PutItem ${JSON.stringify(arnOf(ids.inbound))}`,
      ...['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem'].map((a) => `dynamodb:${a} ${JSON.stringify(arnOf(ids.ledger))}`),
      `dynamodb:Query ${JSON.stringify(arnOf(ids.conversions))}`,
      `sqs:SendMessage ${JSON.stringify(arnOf(ids.queue))}`,
    ].sort();

  /** The LeadingKeys patterns each statement on the ledger is limited to (undefined: not limited). */
  const ledgerKeyLimits = (roleId: string) =>
    roleStatements(template, roleId)
      .filter((st) => JSON.stringify(st.Resource) === JSON.stringify(arnOf(ids.ledger)))
      .map((st) => (st.Condition as { 'ForAllValues:StringLike'?: { 'dynamodb:LeadingKeys'?: string[] } } | undefined)?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']);

  it('postback and IPN functions: on the dead-letter ledger only its markers (fp#) and counters (cap#), never leases', () => {
    for (const fnId of [ids.postback, ids.ipn]) {
      const limits = ledgerKeyLimits(roleOf(fnId));
      expect(limits.length).toBeGreaterThan(0);
      for (const limit of limits) expect(limit).toEqual(['fp#*', 'cap#*']);
    }
  });

  it('archiver: receives, hides and deletes queue messages, writes and reads the archive, takes leases (msg#) - nothing else', () => {
    expect(grants(roleStatements(template, roleOf(ids.archiver)))).toEqual(
      [
        ...logWrite(ids.archiver),
        ...['ChangeMessageVisibility', 'DeleteMessage', 'ReceiveMessage'].map((a) => `sqs:${a} ${JSON.stringify(arnOf(ids.queue))}`),
        `dynamodb:PutItem ${JSON.stringify(arnOf(ids.archive))}`,
        `dynamodb:Query ${JSON.stringify(arnOf(ids.archive))}`,
        `dynamodb:GetItem ${JSON.stringify(arnOf(ids.ledger))}`,
        `dynamodb:UpdateItem ${JSON.stringify(arnOf(ids.ledger))}`,
      ].sort(),
    );
    for (const limit of ledgerKeyLimits(roleOf(ids.archiver))) expect(limit).toEqual(['msg#*']);
  });

  it('lets only the archiver write the archive, the dashboard API only Query it, and nothing delete from it', () => {
    const touching = Object.keys(resources(template, 'AWS::IAM::Role')).filter((roleId) =>
      grants(roleStatements(template, roleId)).some((g) => g.includes(ids.archive)),
    );
    expect(touching.sort()).toEqual([roleOf(ids.archiver), roleOf(ids.dashboardApi)].sort());
    expect(grants(roleStatements(template, roleOf(ids.dashboardApi))).filter((g) => g.includes(ids.archive))).toEqual([`dynamodb:Query ${JSON.stringify(arnOf(ids.archive))}`]);
  });

  it('postback function: GetItem on clicks and conversion types, PutItem on conversions and the inbound log, the ledger, SendMessage, its generated key - nothing else', () => {
    expect(grants(roleStatements(template, roleOf(ids.postback)))).toEqual(
      [...recordingGrants(ids.postback), `secretsmanager:GetSecretValue ${JSON.stringify({ Ref: ids.postbackKey })}`].sort(),
    );
  });

  it('lets only the postback function read the generated postback key, and only with GetSecretValue', () => {
    const readers: Record<string, string[]> = {};
    for (const roleId of Object.keys(resources(template, 'AWS::IAM::Role'))) {
      const onKey = grants(roleStatements(template, roleId)).filter((g) => g.includes(ids.postbackKey));
      if (onKey.length > 0) readers[roleId] = onKey;
    }
    // ...and the dashboard API, for the setup view's S2S URLs (what npm run urls prints).
    expect(readers).toEqual({
      [roleOf(ids.postback)]: [`secretsmanager:GetSecretValue ${JSON.stringify({ Ref: ids.postbackKey })}`],
      [roleOf(ids.dashboardApi)]: [`secretsmanager:GetSecretValue ${JSON.stringify({ Ref: ids.postbackKey })}`],
    });
  });

  it.each(['postback', 'ipn'] as const)('%s function: its one Query reads a click\'s conversions on the table (no index), only the history attributes', (key) => {
    const queries = roleStatements(template, roleOf(ids[key])).filter((s) => JSON.stringify(s.Action).includes('dynamodb:Query'));
    expect(queries).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: arnOf(ids.conversions),
        Condition: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...CONVERSION_HISTORY_ATTRIBUTES] },
          StringEquals: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
        },
      },
    ]);
    // Attribution and money only: nothing about the buyer, the forward state or the source.
    expect(CONVERSION_HISTORY_ATTRIBUTES).not.toContain('buyer');
  });

  it('IPN function: the same as the postback function (no secret without digistore24.ipn in the config)', () => {
    expect(grants(roleStatements(template, roleOf(ids.ipn)))).toEqual(recordingGrants(ids.ipn));
  });

  it('sync function: Scan and BatchWriteItem on the conversion types table, Query and PutItem on the catalog - nothing else', () => {
    expect(grants(roleStatements(template, roleOf(ids.sync)))).toEqual(
      [
        ...logWrite(ids.sync),
        `dynamodb:BatchWriteItem ${JSON.stringify(arnOf(ids.types))}`,
        `dynamodb:Scan ${JSON.stringify(arnOf(ids.types))}`,
        `dynamodb:PutItem ${JSON.stringify(arnOf(ids.catalog))}`,
        `dynamodb:Query ${JSON.stringify(arnOf(ids.catalog))}`,
      ].sort(),
    );
  });

  it('lets only the postback and IPN functions write the inbound log, only with PutItem; the dashboard API reads it', () => {
    const inbound = JSON.stringify(arnOf(ids.inbound));
    const touching: Record<string, string[]> = {};
    for (const roleId of Object.keys(resources(template, 'AWS::IAM::Role'))) {
      const onInbound = grants(roleStatements(template, roleId)).filter((g) => g.includes(ids.inbound));
      if (onInbound.length > 0) touching[roleId] = onInbound;
    }
    expect(touching).toEqual({
      [roleOf(ids.postback)]: [`dynamodb:PutItem ${inbound}`],
      [roleOf(ids.ipn)]: [`dynamodb:PutItem ${inbound}`],
      [roleOf(ids.dashboardApi)]: [`dynamodb:Query ${inbound}`, `dynamodb:Query ${JSON.stringify({ 'Fn::Join': ['', [arnOf(ids.inbound), '/index/byDay']] })}`],
    });
  });

  it('grants no wildcard, and the request path no Scan/Update/Delete and no Query but the conditioned one outside the dead-letter ledger', () => {
    for (const fnId of [ids.click, ids.lander, ids.script, ids.postback, ids.ipn, ids.sync, ids.archiver]) {
      for (const grant of grants(roleStatements(template, roleOf(fnId)))) expect(grant).not.toMatch(/\*/);
    }
    for (const fnId of [ids.click, ids.postback, ids.ipn]) {
      const dynamoActions = grants(roleStatements(template, roleOf(fnId)))
        .filter((g) => !g.includes(ids.ledger))
        .map((g) => g.split(' ')[0] as string)
        .filter((a) => a.startsWith('dynamodb:'));
      expect(new Set(dynamoActions)).toEqual(new Set(fnId === ids.click ? ['dynamodb:PutItem'] : ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']));
      for (const statement of roleStatements(template, roleOf(fnId))) {
        if (JSON.stringify(statement.Action).includes('dynamodb:Query')) expect(statement.Condition).toBeDefined();
      }
    }
  });

  it('lets nothing on the request path touch the catalog', () => {
    for (const fnId of [ids.click, ids.lander, ids.script, ids.postback, ids.ipn]) {
      expect(grants(roleStatements(template, roleOf(fnId))).filter((g) => g.includes(ids.catalog))).toEqual([]);
    }
  });
});

describe('HTTP API', () => {
  it('has exactly the routes of the contract, each on its function (payload 2.0)', () => {
    const routes = Object.values(resources(template, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties?.RouteKey);
    expect(routes.sort()).toEqual([...Object.values(ROUTES), ...Object.values(DASHBOARD_API_ROUTES)].sort());
    const integrations = resources(template, 'AWS::ApiGatewayV2::Integration');
    const targetOf = (routeKey: string) => {
      const route = Object.values(resources(template, 'AWS::ApiGatewayV2::Route')).find((r) => r.Properties?.RouteKey === routeKey);
      const target = route?.Properties?.Target as { 'Fn::Join': [string, unknown[]] };
      const integrationId = (target['Fn::Join'][1][1] as { Ref: string }).Ref;
      return integrations[integrationId]?.Properties;
    };
    expect(targetOf(ROUTES.click)).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', IntegrationUri: arnOf(ids.click) });
    expect(targetOf(ROUTES.postbackGet)).toMatchObject({ PayloadFormatVersion: '2.0', IntegrationUri: arnOf(ids.postback) });
    expect(targetOf(ROUTES.postbackPost)).toMatchObject({ PayloadFormatVersion: '2.0', IntegrationUri: arnOf(ids.postback) });
    expect(targetOf(ROUTES.ipn)).toMatchObject({ PayloadFormatVersion: '2.0', IntegrationUri: arnOf(ids.ipn) });
    // Digistore24 checks an IPN URL with a GET (and a HEAD must not 404): the IPN function answers both.
    expect(routes).toEqual(expect.arrayContaining(['GET /ipn/digistore24', 'HEAD /ipn/digistore24']));
    expect(targetOf('GET /ipn/digistore24')).toMatchObject({ PayloadFormatVersion: '2.0', IntegrationUri: arnOf(ids.ipn) });
    expect(targetOf('HEAD /ipn/digistore24')).toMatchObject({ PayloadFormatVersion: '2.0', IntegrationUri: arnOf(ids.ipn) });
    // Landers and direct tracking: HEAD clicks (flagged as bots), /go and /t.js.
    expect(targetOf('HEAD /click/{campaignId}')).toMatchObject({ IntegrationUri: arnOf(ids.click) });
    expect(targetOf('GET /go')).toMatchObject({ IntegrationUri: arnOf(ids.lander) });
    expect(targetOf('HEAD /go')).toMatchObject({ IntegrationUri: arnOf(ids.lander) });
    expect(targetOf('GET /t.js')).toMatchObject({ IntegrationUri: arnOf(ids.script) });
    const families = { click: ids.click, lander: ids.lander, script: ids.script, postback: ids.postback, ipn: ids.ipn };
    for (const [name, routeKey] of Object.entries(ROUTES)) {
      const fn = Object.entries(families).find(([family]) => name.startsWith(family))?.[1] ?? 'unserved';
      expect(targetOf(routeKey)).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', IntegrationUri: arnOf(fn) });
    }
    // The dashboard's routes, all on its API function (their authorizer: test/stack/dashboard.test.ts).
    for (const routeKey of Object.values(DASHBOARD_API_ROUTES)) {
      expect(targetOf(routeKey)).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', IntegrationUri: arnOf(ids.dashboardApi) });
    }
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
  });

  it('has one auto-deployed $default stage with default throttling and JSON access logs', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const stage = Object.values(resources(template, 'AWS::ApiGatewayV2::Stage'))[0]?.Properties as Record<string, unknown>;
    expect(stage).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
    });
    const logs = stage.AccessLogSettings as { DestinationArn: { 'Fn::GetAtt': [string, string] }; Format: string };
    expect(JSON.parse(logs.Format)).toEqual(ACCESS_LOG_FIELDS);
    expect(JSON.parse(logs.Format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    // Never the path (a keyed postback's path is its secret), the query, the user agent or an address.
    expect(logs.Format).not.toMatch(/querystring|userAgent|context\.path|sourceIp/i);
    const group = resources(template)[logs.DestinationArn['Fn::GetAtt'][0]];
    expect(group).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 90, LogGroupClass: 'INFREQUENT_ACCESS' } });
  });

  it('lets only API Gateway invoke the request functions, and only their schedules the archiver, the rollup upkeep and the silence check', () => {
    const permissions = Object.values(resources(template, 'AWS::Lambda::Permission'));
    const api = permissions.filter((p) => p.Properties?.Principal === 'apigateway.amazonaws.com');
    expect(api).toHaveLength(Object.keys(ROUTES).length + Object.keys(DASHBOARD_API_ROUTES).length); // one per route
    for (const permission of api) {
      expect(permission.Properties).toMatchObject({ Action: 'lambda:InvokeFunction' });
      expect(JSON.stringify(permission.Properties?.FunctionName)).not.toContain(ids.archiver);
    }
    const others = permissions.filter((p) => p.Properties?.Principal !== 'apigateway.amazonaws.com');
    expect(others.map((p) => p.Properties).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: arnOf(ids.archiver),
          Principal: 'events.amazonaws.com',
          SourceArn: arnOf(logicalId(template, 'AWS::Events::Rule', 'DeadLetterArchiverSchedule')),
        },
        {
          Action: 'lambda:InvokeFunction',
          Principal: 'events.amazonaws.com',
          FunctionName: arnOf(logicalId(template, 'AWS::Lambda::Function', 'RollupsUpkeepFunction')),
          SourceArn: arnOf(logicalId(template, 'AWS::Events::Rule', 'RollupsSchedule')),
        },
        {
          Action: 'lambda:InvokeFunction',
          Principal: 'events.amazonaws.com',
          FunctionName: arnOf(logicalId(template, 'AWS::Lambda::Function', 'SilenceCheckFunction')),
          SourceArn: arnOf(logicalId(template, 'AWS::Events::Rule', 'SilenceSchedule')),
        },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  });
});

describe('CloudFront distribution (no custom domain)', () => {
  const config = () =>
    (resources(template)[ids.distribution]?.Properties as { DistributionConfig: Record<string, unknown> }).DistributionConfig;

  /** The origin request policy a behaviour names, as its config. */
  const requestPolicy = (behaviour: { OriginRequestPolicyId?: { Ref: string } }) =>
    (resources(template)[behaviour.OriginRequestPolicyId?.Ref ?? '']?.Properties as { OriginRequestPolicyConfig: Record<string, unknown> } | undefined)?.OriginRequestPolicyConfig;
  type Behaviour = { PathPattern?: string; CachePolicyId?: unknown; OriginRequestPolicyId?: { Ref: string }; AllowedMethods?: string[]; ResponseHeadersPolicyId?: unknown; ViewerProtocolPolicy?: string };
  const behaviour = (path: string) => ((config().CacheBehaviors ?? []) as Behaviour[]).find((b) => b.PathPattern === path);

  it('caches nothing by default and forwards the query, the headers the handlers read and the viewer country/address, never Host', () => {
    expect(config().DefaultCacheBehavior).toMatchObject({
      CachePolicyId: MANAGED.cachingDisabled,
      OriginRequestPolicyId: { Ref: expect.stringMatching(/OriginRequests/) },
      ViewerProtocolPolicy: 'redirect-to-https',
      AllowedMethods: expect.arrayContaining(['GET', 'HEAD', 'POST']),
    });
    expect(requestPolicy(config().DefaultCacheBehavior as Behaviour)).toEqual(
      expect.objectContaining({
        QueryStringsConfig: { QueryStringBehavior: 'all' },
        CookiesConfig: { CookieBehavior: 'none' },
        HeadersConfig: { HeaderBehavior: 'whitelist', Headers: [...FORWARDED_HEADERS] },
      }),
    );
    expect(FORWARDED_HEADERS).toEqual(['User-Agent', 'Referer', 'Content-Type', 'CloudFront-Viewer-Country', 'CloudFront-Viewer-Address']);
    // One policy per behaviour that forwards anything: default, /click/*, /go (/t.js forwards nothing).
    template.resourceCountIs('AWS::CloudFront::OriginRequestPolicy', 3);
    const headers = JSON.stringify(resources(template));
    expect(headers).not.toMatch(/"Host"/i);
    // Our own cache policies: /t.js's, and the dashboard's page and /api/* (keyed on
    // Authorization so it is forwarded, TTL 0): test/stack/dashboard.test.ts.
    expect(Object.keys(resources(template, 'AWS::CloudFront::CachePolicy')).map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['CdnAuthorizedApiCache', 'CdnScriptCache', 'DashboardSiteCache']);
    expect(JSON.stringify(config())).not.toMatch(/"ForwardedValues"/);
  });

  it('has exactly five more behaviours: /click/*, /go, /t.js and the dashboard\'s /dashboard* and /api/*', () => {
    expect(((config().CacheBehaviors ?? []) as Behaviour[]).map((b) => b.PathPattern).sort()).toEqual(['/api/*', '/click/*', '/dashboard*', '/go', '/t.js']);
  });

  it('/click/*: uncached, GET and HEAD only, forwards the click headers plus Origin (CORS) and Sec-Purpose (prefetch)', () => {
    const click = behaviour('/click/*');
    expect(click).toMatchObject({ CachePolicyId: MANAGED.cachingDisabled, ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD'] });
    expect(requestPolicy(click ?? {})).toEqual(
      expect.objectContaining({
        QueryStringsConfig: { QueryStringBehavior: 'all' },
        CookiesConfig: { CookieBehavior: 'none' },
        HeadersConfig: { HeaderBehavior: 'whitelist', Headers: [...CLICK_HEADERS] },
      }),
    );
    expect(CLICK_HEADERS).toEqual([...FORWARDED_HEADERS, 'Origin', 'Sec-Purpose']);
  });

  it('/go: uncached, GET and HEAD only, forwards only User-Agent, Sec-Purpose and the viewer address', () => {
    const go = behaviour('/go');
    expect(go).toMatchObject({ CachePolicyId: MANAGED.cachingDisabled, ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD'] });
    expect(requestPolicy(go ?? {})).toEqual(
      expect.objectContaining({
        QueryStringsConfig: { QueryStringBehavior: 'all' },
        CookiesConfig: { CookieBehavior: 'none' },
        HeadersConfig: { HeaderBehavior: 'whitelist', Headers: [...LANDER_CLICK_HEADERS] },
      }),
    );
    expect(LANDER_CLICK_HEADERS).toEqual(['User-Agent', 'Sec-Purpose', 'CloudFront-Viewer-Address']);
  });

  it('/t.js: the only cached path, keyed by the path alone (no query, header or cookie), minutes long, compressed; nothing forwarded', () => {
    const script = behaviour('/t.js');
    expect(script).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD'], Compress: true });
    expect(script?.OriginRequestPolicyId).toBeUndefined();
    const cachePolicyId = (script?.CachePolicyId as { Ref: string }).Ref;
    expect(resources(template)[cachePolicyId]?.Properties).toEqual({
      CachePolicyConfig: {
        Comment: expect.stringMatching(/t\.js/),
        Name: expect.anything(),
        DefaultTTL: 300,
        MinTTL: 0,
        MaxTTL: 3600,
        ParametersInCacheKeyAndForwardedToOrigin: {
          EnableAcceptEncodingGzip: true,
          EnableAcceptEncodingBrotli: true,
          QueryStringsConfig: { QueryStringBehavior: 'none' },
          HeadersConfig: { HeaderBehavior: 'none' },
          CookiesConfig: { CookieBehavior: 'none' },
        },
      },
    });
    expect(JSON.stringify(resources(template))).not.toMatch(/"Host"/i);
    // Every other behaviour caches nothing.
    for (const other of [config().DefaultCacheBehavior as Behaviour, behaviour('/click/*'), behaviour('/go')]) expect(other?.CachePolicyId).toBe(MANAGED.cachingDisabled);
  });

  it('speaks HTTP/2 and HTTP/3 over IPv4 and IPv6', () => {
    expect(config()).toMatchObject({ HttpVersion: 'http2and3', IPV6Enabled: true, Enabled: true });
  });

  it('reaches the API over HTTPS (TLS 1.2) on its execute-api host, with the secret origin header', () => {
    // The API, and the dashboard's private bucket (test/stack/dashboard.test.ts).
    const all = config().Origins as Record<string, unknown>[];
    expect(all).toHaveLength(2);
    const origins = all.filter((o) => o.CustomOriginConfig !== undefined);
    expect(origins).toHaveLength(1);
    expect(origins[0]).toMatchObject({
      DomainName: {
        'Fn::Join': [
          '',
          [{ Ref: logicalId(template, 'AWS::ApiGatewayV2::Api', 'Api') }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }],
        ],
      },
      CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
      OriginCustomHeaders: [{ HeaderName: ORIGIN_VERIFY_HEADER, HeaderValue: secretReference() }],
    });
  });

  it('puts a response headers policy on every behaviour: HSTS of at least a year, nosniff, no-store unless the function says otherwise', () => {
    const all = [config().DefaultCacheBehavior, ...((config().CacheBehaviors ?? []) as unknown[])] as { PathPattern?: string; ResponseHeadersPolicyId?: { Ref: string } }[];
    // The dashboard's page has its own policy with the same security headers and its CSP.
    const behaviours = all.filter((b) => b.PathPattern !== '/dashboard*');
    expect(behaviours.length).toBe(all.length - 1);
    template.resourceCountIs('AWS::CloudFront::ResponseHeadersPolicy', 2);
    const policyId = logicalId(template, 'AWS::CloudFront::ResponseHeadersPolicy', 'CdnResponseHeaders');
    for (const behaviour of behaviours) expect(behaviour.ResponseHeadersPolicyId).toEqual({ Ref: policyId });
    const page = resources(template)[logicalId(template, 'AWS::CloudFront::ResponseHeadersPolicy', 'DashboardSiteHeaders')]?.Properties as {
      ResponseHeadersPolicyConfig: { SecurityHeadersConfig: Record<string, unknown> };
    };
    expect(page.ResponseHeadersPolicyConfig.SecurityHeadersConfig).toMatchObject({
      StrictTransportSecurity: { Override: true, IncludeSubdomains: true, AccessControlMaxAgeSec: 730 * 86400 },
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
    });
    interface PolicyConfig {
      SecurityHeadersConfig: Record<string, Record<string, unknown>> & { StrictTransportSecurity: { AccessControlMaxAgeSec: number } };
      CustomHeadersConfig: { Items: unknown[] };
    }
    const policy = (resources(template)[policyId]?.Properties as { ResponseHeadersPolicyConfig: PolicyConfig }).ResponseHeadersPolicyConfig;
    const security = policy.SecurityHeadersConfig;
    expect(security.StrictTransportSecurity).toMatchObject({ Override: true, IncludeSubdomains: true });
    expect(security.StrictTransportSecurity.AccessControlMaxAgeSec).toBeGreaterThanOrEqual(365 * 86400);
    expect(security.ContentTypeOptions).toEqual({ Override: true });
    expect(security.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    // The click redirect keeps its own referrer policy (no-referrer-when-downgrade): CloudFront only fills one in where none is set.
    expect(security.ReferrerPolicy).toEqual({ ReferrerPolicy: 'strict-origin-when-cross-origin', Override: false });
    expect(policy.CustomHeadersConfig.Items).toEqual([{ Header: 'Cache-Control', Value: 'no-store', Override: false }]);
  });

  it('uses the *.cloudfront.net certificate and no aliases without a domain', () => {
    expect(config().Aliases).toBeUndefined();
    expect(config().ViewerCertificate).toBeUndefined();
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
    template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    expect(Object.keys(template.toJSON().Rules ?? {})).toEqual(['CheckBootstrapVersion']);
  });
});

describe('origin-verify secret', () => {
  it('is generated by Secrets Manager, never written into the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false },
    });
    expect(resources(template)[ids.secret]?.Properties?.SecretString).toBeUndefined();
    // The only places the value is used are dynamic references.
    const json = JSON.stringify(template.toJSON());
    const uses = json.match(/\{\{resolve:secretsmanager:/g) ?? [];
    expect(uses).toHaveLength(7); // click, lander, script, postback, IPN and dashboard API env, CloudFront origin header
  });
});

describe('generated postback key (the shipped config: keys: [{ generated: true }])', () => {
  it('is generated by Secrets Manager, never written into the template, and not rotated automatically (acknowledged)', () => {
    const secret = resources(template)[ids.postbackKey];
    expect(secret?.Properties).toMatchObject({
      GenerateSecretString: { PasswordLength: 40, ExcludePunctuation: true, IncludeSpace: false },
      Description: expect.stringMatching(/postback key/),
    });
    expect(secret?.Properties?.SecretString).toBeUndefined();
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    // Its value is never resolved into the template: the only dynamic references are the origin secret's 7.
    const json = JSON.stringify(template.toJSON());
    expect(json.match(/\{\{resolve:secretsmanager:/g)).toHaveLength(7);
    expect(json.match(new RegExp(`resolve:secretsmanager:",\\{"Ref":"${ids.postbackKey}`, 'g'))).toBeNull();
  });
});

describe('DynamoDB tables', () => {
  it('are built from TABLE_DEFINITIONS: keys, INCLUDE-projected indexes, on-demand', () => {
    for (const def of TABLE_DEFINITIONS) {
      const id = logicalId(template, 'AWS::DynamoDB::Table', `Tables${tableConstructId(def)}`);
      const props = resources(template)[id]?.Properties as Record<string, unknown>;
      expect(props.BillingMode).toBe('PAY_PER_REQUEST');
      expect(props.KeySchema).toEqual([
        { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
        ...(def.sortKey ? [{ AttributeName: def.sortKey.name, KeyType: 'RANGE' }] : []),
      ]);
      const gsis = (props.GlobalSecondaryIndexes ?? []) as Record<string, unknown>[];
      expect(gsis).toEqual(
        def.globalIndexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
            ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.include] },
        })),
      );
      expect(props.TableName).toBeUndefined(); // CDK-generated physical names
    }
  });

  it('expire clicks, the inbound log and the dead-letter ledger by TTL on the definition attribute, and nothing else', () => {
    expect(CLICKS_TABLE.ttlAttribute).toBe('expiresAt');
    expect(INBOUND_TABLE.ttlAttribute).toBe('expiresAt');
    expect(DEAD_LETTER_LEDGER_TABLE.ttlAttribute).toBe('expiresAt');
    expect(resources(template)[ids.clicks]?.Properties?.TimeToLiveSpecification).toEqual({ AttributeName: CLICKS_TABLE.ttlAttribute, Enabled: true });
    expect(resources(template)[ids.inbound]?.Properties?.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(resources(template)[ids.ledger]?.Properties?.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(resources(template)[ids.conversions]?.Properties?.TimeToLiveSpecification).toBeUndefined();
    expect(resources(template)[ids.types]?.Properties?.TimeToLiveSpecification).toBeUndefined();
    // Archived dead letters are sales not recorded yet: kept until replayed, never by TTL.
    expect(DEAD_LETTER_ARCHIVE_TABLE.ttlAttribute).toBeUndefined();
    expect(resources(template)[ids.archive]?.Properties?.TimeToLiveSpecification).toBeUndefined();
  });

  it('have point-in-time recovery and at-rest encryption with the AWS-owned key, and are retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', TABLE_DEFINITIONS.length);
    for (const id of [ids.clicks, ids.conversions, ids.types, ids.inbound, ids.catalog, ids.ledger, ids.archive]) {
      const table = resources(template)[id];
      expect(table?.Properties).toMatchObject({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        // SSEEnabled false = DynamoDB's default AWS-owned key (always encrypted, no KMS cost).
        SSESpecification: { SSEEnabled: false },
      });
      expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  it('protect conversions, clicks and the catalog against deletion', () => {
    expect(resources(template)[ids.conversions]?.Properties?.DeletionProtectionEnabled).toBe(true);
    expect(resources(template)[ids.clicks]?.Properties?.DeletionProtectionEnabled).toBe(true);
    // Retirement times and past retentions cannot be rebuilt from the config.
    expect(resources(template)[ids.catalog]?.Properties?.DeletionProtectionEnabled).toBe(true);
    expect(resources(template)[ids.catalog]?.Properties?.TimeToLiveSpecification).toBeUndefined();
    expect(resources(template)[ids.types]?.Properties?.DeletionProtectionEnabled).toBe(false);
    // The inbound log expires by TTL anyway; it is retained on stack delete, not locked.
    expect(resources(template)[ids.inbound]?.Properties?.DeletionProtectionEnabled).toBe(false);
    // The archive holds failures nobody replayed yet; the ledger only short-lived markers.
    expect(resources(template)[ids.archive]?.Properties?.DeletionProtectionEnabled).toBe(true);
    expect(resources(template)[ids.ledger]?.Properties?.DeletionProtectionEnabled).toBe(false);
  });

  it('key the inbound log by click id and arrival, with the byDay index for the latest N', () => {
    const props = resources(template)[ids.inbound]?.Properties as Record<string, unknown>;
    expect(props).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'clickId', KeyType: 'HASH' },
        { AttributeName: 'receivedKey', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byDay',
          KeySchema: [
            { AttributeName: 'day', KeyType: 'HASH' },
            { AttributeName: 'receivedKey', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: expect.arrayContaining(['receivedAt', 'outcome', 'reason']) },
        },
      ],
    });
    expect(new Set(props.AttributeDefinitions as unknown[])).toEqual(
      new Set([
        { AttributeName: 'clickId', AttributeType: 'S' },
        { AttributeName: 'receivedKey', AttributeType: 'S' },
        { AttributeName: 'day', AttributeType: 'S' },
      ]),
    );
  });
});

describe('dead-letter queue', () => {
  it('is encrypted, kept 14 days and reachable only over TLS', () => {
    expect(resources(template)[ids.queue]?.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ids.queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('alarms as soon as one message is visible', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.queue, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('has no topic or e-mail without alarmEmail', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    const queueAlarm = resources(template)[logicalId(template, 'AWS::CloudWatch::Alarm', 'DeadLettersNotEmpty')]?.Properties;
    expect(queueAlarm?.AlarmActions).toBeUndefined();
    expect(queueAlarm?.OKActions).toBeUndefined();
  });
});

describe('dead-letter archiver', () => {
  it('runs hourly from an EventBridge schedule, retried twice, on the archiver function only', () => {
    // The other rule is the rollup upkeep's (test/stack/rollups).
    const rules = Object.values(resources(template, 'AWS::Events::Rule')).filter((r) => JSON.stringify(r.Properties?.Targets).includes(ids.archiver));
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [{ Arn: arnOf(ids.archiver), Id: expect.any(String), RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 } }],
    });
  });

  it('has its own role, and a deadline well below its timeout', () => {
    const roleOfFn = (fnId: string) => (resources(template)[fnId]?.Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'][0];
    const others = [ids.click, ids.postback, ids.ipn, ids.sync].map(roleOfFn);
    expect(others).not.toContain(roleOfFn(ids.archiver));
    expect(HANDLER_DEADLINE_MS.archiveDeadLetters).toBeLessThan(ARCHIVER.timeoutSeconds * 1000);
    expect(ARCHIVER.finishMs).toBeLessThan(HANDLER_DEADLINE_MS.archiveDeadLetters);
    expect(resources(template)[ids.archiver]?.Properties?.Timeout).toBe(ARCHIVER.timeoutSeconds);
    // What it reads stays hidden from redrives for longer than a run can take.
    expect(ARCHIVER.visibilitySeconds).toBeGreaterThan(ARCHIVER.timeoutSeconds);
  });
});

describe('conversion types custom resource', () => {
  it('passes the validated config types, campaigns and retention and the table names to the sync function through a Provider', () => {
    const config = loadConfig();
    const [resource] = Object.values(resources(template, 'Custom::ClickvaultConversionTypes'));
    expect(resource?.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [logicalId(template, 'AWS::Lambda::Function', 'ConversionTypesProviderframeworkonEvent'), 'Arn'] },
      TableName: { Ref: ids.types },
      Types: JSON.stringify(config.conversionTypes),
      CatalogTableName: { Ref: ids.catalog },
      Campaigns: JSON.stringify(config.campaigns.map((c) => ({ id: c.id, name: c.name }))),
      ClickRetentionDays: String(config.defaults.clickRetentionDays),
      RollupRetentionDays: String(config.defaults.rollupRetentionDays),
    });
    const provider = resources(template)[logicalId(template, 'AWS::Lambda::Function', 'ConversionTypesProviderframeworkonEvent')];
    expect(provider?.Properties).toMatchObject({ Environment: { Variables: { USER_ON_EVENT_FUNCTION_ARN: arnOf(ids.sync) } } });
  });

  it('keeps the resource on stack delete semantics simple: no retain, the handler ignores Delete', () => {
    const [resource] = Object.values(resources(template, 'Custom::ClickvaultConversionTypes'));
    expect(resource).toMatchObject({ DeletionPolicy: 'Delete' });
  });
});

describe('outputs', () => {
  const host = () => ({ 'Fn::GetAtt': [ids.distribution, 'DomainName'] });
  const url = (suffix: string) => ({ 'Fn::Join': ['', ['https://', host(), suffix]] });

  it('give the click URL pattern, both Digistore24 S2S URLs (key placeholder, ending in &type=), the pixel and the IPN URL', () => {
    template.hasOutput('TrackingHost', { Value: host() });
    template.hasOutput('ClickUrlPattern', { Value: url('/click/<campaignId>') });
    template.hasOutput('Digistore24AffiliatePostbackUrl', {
      Value: url('/postback?clickid={cid}&sum={amount_affiliate}&currency={currency}&txid={transaction_id}&key=<see npm run urls>&type='),
      Description: Match.stringLikeRegexp('\\{transaction_type\\}.*npm run urls'),
    });
    template.hasOutput('Digistore24VendorPostbackUrl', {
      Value: url('/postback?clickid={cid}&sum={amount_netto}&currency={currency}&txid={transaction_id}&key=<see npm run urls>&type='),
      Description: Match.stringLikeRegexp('amount_netto'),
    });
    // The pixel and the IPN never carry the key.
    template.hasOutput('Digistore24OrderFormPixelUrl', { Value: url('/postback?format=img&clickid=__cid__&type=InitiateCheckout') });
    template.hasOutput('Digistore24IpnUrl', { Value: url('/ipn/digistore24') });
    expect(Object.keys(template.toJSON().Outputs)).not.toContain('Digistore24PostbackUrl');
  });

  it('name the secret that holds the generated key, never its value', () => {
    template.hasOutput('PostbackKeySecret', { Value: { Ref: ids.postbackKey }, Description: Match.stringLikeRegexp('npm run urls') });
    const outputs = JSON.stringify(template.toJSON().Outputs);
    expect(outputs).not.toMatch(/resolve:secretsmanager|SecretString/);
  });

  it('give the queue URL and the table names', () => {
    template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: ids.queue } });
    template.hasOutput('ClicksTableName', { Value: { Ref: ids.clicks } });
    template.hasOutput('ConversionsTableName', { Value: { Ref: ids.conversions } });
    template.hasOutput('ConversionTypesTableName', { Value: { Ref: ids.types } });
    // scripts/tracker-context.ts finds the inbound log by this exact key.
    template.hasOutput('InboundTableName', { Value: { Ref: ids.inbound } });
    // scripts/tracker-context.ts finds the dead-letter archive and ledger by these keys.
    template.hasOutput('DeadLetterArchiveTableName', { Value: { Ref: ids.archive } });
    template.hasOutput('DeadLetterLedgerTableName', { Value: { Ref: ids.ledger } });
    // ...and the catalog (campaigns ever deployed, retention history) by this one, for reports.
    template.hasOutput('CatalogTableName', { Value: { Ref: ids.catalog } });
  });
});
