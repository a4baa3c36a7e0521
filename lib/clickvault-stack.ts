import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type { Construct } from 'constructs';
import type { TrackerConfig } from '../config/schema';
import { CONVERSION_HISTORY_ATTRIBUTES, LEDGER_PREFIX } from '../lambda/adapters/table-definitions';
import { ENV, HANDLER_DEADLINE_MS, ORIGIN_VERIFY_HEADER, ROUTES, TABLE_ENV } from '../lambda/contract';
import { AlarmTopic } from './alarm-topic';
import { writeBundledConfig } from './bundled-config';
import { configSecretRefs, grantSecretRefs } from './config-secrets';
import { ConversionSender, sealsAddresses } from './conversion-sender';
import { configSends } from '../lambda/core/send';
import { ConversionTypes } from './conversion-types';
import { DeadLetterArchiver } from './dead-letter-archiver';
import { DeadLetterQueue } from './dead-letter-queue';
import { OriginVerifySecret } from './origin-verify';
import { RollupUpkeep } from './rollup-upkeep';
import { SilenceAlarm } from './silence-alarm';
import { silenceRules } from '../lambda/core/silence';
import type { TrackerSettings } from './settings';
import { TrackerAlarms } from './tracker-alarms';
import { TrackerApi } from './tracker-api';
import { TrackerDashboard } from './tracker-dashboard';
import { TrackerDistribution } from './tracker-distribution';
import { TrackerFunction } from './tracker-function';
import { TrackerTables } from './tracker-tables';
import { TrackingDomain } from './tracking-domain';
import { clickUrlPattern, landerClickUrl, trackerScriptTag, digistore24OutputUrls } from './tracker-urls';
import { GeneratedPostbackKey } from './postback-key';
import { urlKeyRef } from '../lambda/core/urls';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DashboardApi } from './dashboard-api';
import { DashboardAuth } from './dashboard-auth';
import { buildDashboard } from './dashboard-build';
import { DashboardSite } from './dashboard-site';

/** The CloudFront behaviour of the dashboard's API (Authorization passed, nothing cached). */
export const DASHBOARD_API_PATH_PATTERN = '/api/*';

export const HANDLER_ENTRIES = {
  click: 'lambda/handlers/click.ts',
  lander: 'lambda/handlers/lander.ts',
  script: 'lambda/handlers/script.ts',
  postback: 'lambda/handlers/postback.ts',
  ipn: 'lambda/handlers/ipn.ts',
} as const;

/**
 * Memory and timeout per function, chosen from `npm run bench` and `npm run cost` (README,
 * "Performance and cost"): each handler's own CPU work is 0.2-0.6 ms a request, so warm
 * duration is DynamoDB waiting and barely depends on memory; memory buys cold-start CPU. Init
 * is ~60 ms of one core here; Lambda gives CPU in proportion to memory (1,769 MB = 1 vCPU), so
 * ~0.85 s at 128 MB, ~0.4 s at 256 MB, ~0.2 s at 512 MB. 256 MB keeps a visitor's cold click
 * under half a second for $0.012 per million clicks more than 128 MB; 512 MB would add another
 * $0.023 for 0.2 s on ~1% of clicks. Postback and IPN get the same size, and more time for
 * the channel forward (2 x 2 s).
 *
 * Each handler answers by its own deadline (lambda/contract.ts HANDLER_DEADLINE_MS: click 1.2 s,
 * lander click 2 s, t.js 1 s, postback and IPN 8 s), at which every call it started is aborted; the timeout is only the
 * backstop behind it, and synth refuses one that leaves less than a second beyond the deadline.
 */
export const FUNCTION_SIZING = {
  click: { memorySize: 256, timeout: Duration.seconds(5), deadlineMs: HANDLER_DEADLINE_MS.click },
  // GET /go is a click's twin: one conditional update (2 s deadline: see HANDLER_DEADLINE_MS).
  lander: { memorySize: 256, timeout: Duration.seconds(5), deadlineMs: HANDLER_DEADLINE_MS.lander },
  // GET /t.js answers a constant (and CloudFront caches it): the smallest size is plenty.
  script: { memorySize: 128, timeout: Duration.seconds(3), deadlineMs: HANDLER_DEADLINE_MS.script },
  postback: { memorySize: 256, timeout: Duration.seconds(10), deadlineMs: HANDLER_DEADLINE_MS.postback },
  ipn: { memorySize: 256, timeout: Duration.seconds(10), deadlineMs: HANDLER_DEADLINE_MS.ipn },
} as const;

/**
 * What the dead-letter guard of the postback and IPN functions does on its ledger items: claim a
 * failure's marker (PutItem), read its holder where a failed condition does not return it
 * (GetItem), mark it queued and count per source (UpdateItem), release it (DeleteItem).
 */
export const LEDGER_ACTIONS = ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

export interface ClickvaultStackProps extends StackProps {
  readonly settings: TrackerSettings;
  /** The validated tracker config (loaded by the app with loadConfig()). */
  readonly config: TrackerConfig;
  /**
   * The CloudFront certificate when it lives in another stack (us-east-1 certificate stack).
   * @default - from settings: certificateArn, or created in this stack
   */
  readonly certificate?: acm.ICertificate;
}

/** The request functions, by the name their routes in lambda/contract.ts ROUTES start with. */
export const ROUTE_FAMILIES = ['click', 'postback', 'ipn', 'lander', 'script'] as const;
export type RouteFamily = (typeof ROUTE_FAMILIES)[number];

/**
 * Every route of lambda/contract.ts ROUTES -> its function, by the route's name: `click...`
 * (redirect and JSON click), `postback...` (GET/POST, with or without a key in the path),
 * `ipn...`, `lander...` (GET /go), `script...` (GET /t.js). A route whose name matches none fails
 * synth, so a new route cannot ship unserved.
 */
export function routeMap<F>(functions: Record<RouteFamily, F>): Record<string, F> {
  const map: Record<string, F> = {};
  for (const [name, routeKey] of Object.entries(ROUTES)) {
    const family = ROUTE_FAMILIES.find((prefix) => name.startsWith(prefix));
    if (family === undefined) {
      throw new Error(`ROUTES.${name} (${routeKey}) in lambda/contract.ts has no function in lib/clickvault-stack.ts routeMap`);
    }
    map[routeKey] = functions[family];
  }
  return map;
}

/** Everything a running tracker needs, in one deployable stack. */
export class ClickvaultStack extends Stack {
  readonly tables: TrackerTables;
  readonly deadLetters: DeadLetterQueue;
  readonly clickFunction: TrackerFunction;
  /** GET /go: the lander click. */
  readonly landerFunction: TrackerFunction;
  /** GET /t.js: the direct-tracking script. */
  readonly scriptFunction: TrackerFunction;
  readonly postbackFunction: TrackerFunction;
  readonly ipnFunction: TrackerFunction;
  /** The send queue, sender function and sweep schedule; only when the config sends anything. */
  readonly sender?: ConversionSender;
  /** The scheduled function that moves old dead letters to the archive table. */
  readonly archiver: DeadLetterArchiver;
  readonly api: TrackerApi;
  readonly cdn: TrackerDistribution;
  readonly domain?: TrackingDomain;
  readonly alarms: TrackerAlarms;
  /** Keeps report rollups: the schedule and the clicks-stream marker. */
  readonly rollups: RollupUpkeep;
  /** The silent-breakage check and its alarms; only when some campaign has `silenceAlarm` on. */
  readonly silence?: SilenceAlarm;
  /** Where every alarm is sent; only when `alarmEmail` is given. */
  readonly alarmTopic?: AlarmTopic;
  readonly dashboard: TrackerDashboard;
  /** The host the tracker answers on (custom domain or *.cloudfront.net). */
  readonly trackingHost: string;
  /** The generated postback key, when the config asks for one (`keys: [{ generated: true }]`). */
  readonly postbackKey?: GeneratedPostbackKey;
  /** The dashboard's login (user pool, client, JWT authorizer). */
  readonly dashboardAuth: DashboardAuth;
  /** The dashboard's read-only API function and its authorized routes. */
  readonly dashboardApi: DashboardApi;
  /** The dashboard's page: private bucket, CloudFront behaviour, strict CSP. */
  readonly dashboardSite: DashboardSite;
  private readonly config: TrackerConfig;

  constructor(scope: Construct, id: string, props: ClickvaultStackProps) {
    super(scope, id, {
      description: 'Clickvault: self-hosted click and conversion tracker (CloudFront, HTTP API, Lambda, DynamoDB)',
      ...props,
    });
    const { settings, config } = props;
    this.config = config;
    const common = { logRetention: settings.logRetention, logLevel: settings.logLevel, tracing: settings.tracing };
    // Recording a conversion is one conditional PutItem (with its send mark, when it is sent
    // anywhere); sending it is the sender's job, so the recording functions never update it.
    const conversionActions = ['dynamodb:PutItem'];
    // The inbound log is append-only from the request path: one PutItem per postback, pixel or
    // IPN call (reading it is `npm run trace`, with the operator's credentials).
    const inboundActions = ['dynamodb:PutItem'];

    this.tables = new TrackerTables(this, 'Tables', settings.deferIndexes);
    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters');
    const originVerify = new OriginVerifySecret(this, 'OriginVerify');
    const configFile = writeBundledConfig(config);
    const originEnv = { [ENV.originVerifySecret]: originVerify.headerValue };

    this.clickFunction = new TrackerFunction(this, 'ClickFunction', {
      entry: HANDLER_ENTRIES.click,
      description: 'Clickvault: GET /click/{campaignId} - records the click, redirects to the lander or offer (format=json: answers JSON)',
      ...FUNCTION_SIZING.click,
      ...common,
      configFile,
      environment: originEnv,
    })
      .useTable(this.tables.clicks, TABLE_ENV.clicks, ['dynamodb:PutItem'])
      .useDeadLetterQueue(this.deadLetters.queue);
    if (sealsAddresses(config)) {
      // Meta/TikTok clicks seal their full address with the day's key: read once per instance and
      // day (made by the sender's schedule ahead of time; by the click function if it is missing).
      this.clickFunction.useTable(this.tables.ipKeys, TABLE_ENV.ipKeys, ['dynamodb:GetItem', 'dynamodb:PutItem']);
    }

    // Sales back to the ad platforms and the channels' postback URLs: a queue, the sender, its schedule.
    if (configSends(config)) {
      this.sender = new ConversionSender(this, 'Sender', {
        config,
        configFile,
        tables: this.tables,
        deadLetterQueue: this.deadLetters.queue,
        ...common,
      });
    }

    // The lander click: one conditional UpdateItem on the click (lpClickAt, offerId), and a
    // GetItem only when its condition fails (a repeat, or a click not stored yet). No PutItem:
    // it can never create a click.
    this.landerFunction = new TrackerFunction(this, 'LanderFunction', {
      entry: HANDLER_ENTRIES.lander,
      description: 'Clickvault: GET /go - records the lander click and redirects to the offer',
      ...FUNCTION_SIZING.lander,
      ...common,
      configFile,
      environment: originEnv,
    })
      .useTable(this.tables.clicks, TABLE_ENV.clicks, ['dynamodb:UpdateItem', 'dynamodb:GetItem'])
      // Lander clicks are keyless: a queued one passes the dead-letter guard (dedupe, per-network cap).
      .useTableItems(this.tables.deadLetterLedger, TABLE_ENV.deadLetterLedger, LEDGER_ACTIONS, [LEDGER_PREFIX.marker, LEDGER_PREFIX.count])
      .useDeadLetterQueue(this.deadLetters.queue);

    // The direct-tracking script: a constant in its bundle; no table, no queue, no config.
    this.scriptFunction = new TrackerFunction(this, 'ScriptFunction', {
      entry: HANDLER_ENTRIES.script,
      description: 'Clickvault: GET /t.js - the direct-tracking script for landers (cached by CloudFront)',
      ...FUNCTION_SIZING.script,
      ...common,
      environment: originEnv,
    });

    // Postback and IPN record conversions the same way, so they get the same data access. Their
    // failures pass the dead-letter guard: dedupe markers and per-source counters in the ledger
    // (its `fp#` and `cap#` items only; leases are the archiver's and the operator's).
    const recordingFunction = (id: string, entry: string, description: string, sizing: (typeof FUNCTION_SIZING)['postback']) => {
      const fn = new TrackerFunction(this, id, { entry, description, ...sizing, ...common, configFile, environment: originEnv })
        .useTable(this.tables.clicks, TABLE_ENV.clicks, ['dynamodb:GetItem'])
        .useTable(this.tables.conversionTypes, TABLE_ENV.conversionTypes, ['dynamodb:GetItem'])
        .useTable(this.tables.conversions, TABLE_ENV.conversions, conversionActions)
        .useTable(this.tables.inbound, TABLE_ENV.inbound, inboundActions)
        .useTableItems(this.tables.deadLetterLedger, TABLE_ENV.deadLetterLedger, LEDGER_ACTIONS, [LEDGER_PREFIX.marker, LEDGER_PREFIX.count])
        .useDeadLetterQueue(this.deadLetters.queue);
      if (this.sender) {
        // A recorded conversion that is sent anywhere becomes a job on the send queue.
        iam.Grant.addToPrincipal({ grantee: fn, actions: ['sqs:SendMessage'], resourceArns: [this.sender.queue.queueArn] });
        fn.addEnvironment(ENV.sendQueueUrl, this.sender.queue.queueUrl);
      }
      // A click's earlier conversions, read when its click has expired (a late refund,
      // chargeback or rebill is attributed like its sale) or a refund names no currency: Query on
      // the table itself (no index), only the attribution and money attributes.
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: [this.tables.conversions.tableArn],
          conditions: {
            'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...CONVERSION_HISTORY_ATTRIBUTES] },
            StringEquals: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
          },
        }),
      );
      return fn;
    };

    this.postbackFunction = recordingFunction(
      'PostbackFunction',
      HANDLER_ENTRIES.postback,
      'Clickvault: GET/POST /postback - records conversions from Digistore24 and the order-form pixel',
      FUNCTION_SIZING.postback,
    );
    // Digistore24 IPN (vendors): answers 404 when the config has no digistore24.ipn section.
    this.ipnFunction = recordingFunction(
      'IpnFunction',
      HANDLER_ENTRIES.ipn,
      'Clickvault: /ipn/digistore24 - verifies and records Digistore24 IPN calls (GET/HEAD: URL check)',
      FUNCTION_SIZING.ipn,
    );

    // Secrets the config names (postback protection keys, IPN passphrase): read access to
    // exactly those, for the function that reads them.
    const secretRefs = configSecretRefs(config);
    grantSecretRefs(this.postbackFunction, secretRefs.postback);
    grantSecretRefs(this.ipnFunction, secretRefs.ipn);
    if ((config.postbackProtection.sources ?? []).some((source) => source.keys.some((ref) => ref.generated === true))) {
      this.postbackKey = new GeneratedPostbackKey(this, 'PostbackKey');
      this.postbackKey.grantRead(this.postbackFunction);
    }

    this.api = new TrackerApi(this, 'Api', {
      routes: routeMap({ click: this.clickFunction, postback: this.postbackFunction, ipn: this.ipnFunction, lander: this.landerFunction, script: this.scriptFunction }),
      throttle: settings.throttle,
      logRetention: settings.logRetention,
    });

    if (settings.domain) {
      this.domain = new TrackingDomain(this, 'Domain', { domain: settings.domain, certificate: props.certificate });
    }

    this.cdn = new TrackerDistribution(this, 'Cdn', {
      originDomainName: this.api.originDomainName,
      originVerifyHeader: { name: ORIGIN_VERIFY_HEADER, value: originVerify.headerValue },
      domain: this.domain ? { domainName: this.domain.domainName, certificate: this.domain.certificate } : undefined,
      webAclArn: settings.webAclArn,
    });
    this.domain?.addAliasRecords(this.cdn.distribution);
    this.trackingHost = this.domain?.domainName ?? this.cdn.distribution.distributionDomainName;

    // The team's dashboard at https://TRACKING_DOMAIN/dashboard/: the page from a private bucket,
    // its read-only API under /api/* behind the user pool's JWT authorizer.
    this.dashboardAuth = new DashboardAuth(this, 'DashboardAuth', {
      trackingHost: this.trackingHost,
      ...(settings.dashboardLoginPrefix ? { domainPrefix: settings.dashboardLoginPrefix } : {}),
    });
    this.dashboardApi = new DashboardApi(this, 'DashboardApi', {
      api: this.api,
      authorizer: this.dashboardAuth.authorizer,
      tables: this.tables,
      queue: this.deadLetters.queue,
      config,
      configFile,
      originVerifyValue: originVerify.headerValue,
      ...(this.domain ? { trackingDomain: this.domain.domainName } : {}),
      ...(this.postbackKey ? { postbackKey: this.postbackKey } : {}),
      ...common,
    });
    this.cdn.addAuthorizedApiBehavior(DASHBOARD_API_PATH_PATTERN);
    this.dashboardSite = new DashboardSite(this, 'DashboardSite', {
      distribution: this.cdn.distribution,
      assetDir: buildDashboard(mkdtempSync(join(tmpdir(), 'clickvault-dashboard-'))).dir,
      pageConfig: { auth: 'cognito', domain: this.dashboardAuth.loginOrigin, clientId: this.dashboardAuth.client.userPoolClientId },
      loginOrigin: this.dashboardAuth.loginOrigin,
      logRetention: settings.logRetention,
    });

    // Nothing may be dropped by SQS retention: old messages move to the archive table.
    this.archiver = new DeadLetterArchiver(this, 'DeadLetterArchiver', {
      queue: this.deadLetters.queue,
      archive: this.tables.deadLetterArchive,
      ledger: this.tables.deadLetterLedger,
      ...common,
    });

    new ConversionTypes(this, 'ConversionTypes', {
      table: this.tables.conversionTypes,
      types: config.conversionTypes,
      catalog: {
        table: this.tables.catalog,
        campaigns: config.campaigns,
        clickRetentionDays: config.defaults.clickRetentionDays,
        rollupRetentionDays: config.defaults.rollupRetentionDays,
      },
      ...common,
    });

    this.rollups = new RollupUpkeep(this, 'Rollups', {
      tables: { clicks: this.tables.clicks, conversions: this.tables.conversions, catalog: this.tables.catalog, rollups: this.tables.rollups },
      configFile,
      ...common,
    });

    // Campaigns with clicks and no postback for hours: a scheduled check, one alarm per campaign.
    const rules = silenceRules(config);
    if (rules.length > 0) {
      this.silence = new SilenceAlarm(this, 'Silence', {
        rules,
        tables: { clicks: this.tables.clicks, conversions: this.tables.conversions, catalog: this.tables.catalog, rollups: this.tables.rollups },
        configFile,
        ...common,
      });
    }

    // Watching it: the request-path alarms join the queue's, one topic tells a person about all
    // of them, and one dashboard shows the business numbers beside the operational ones.
    const requestFunctions = { click: this.clickFunction, lander: this.landerFunction, script: this.scriptFunction, postback: this.postbackFunction, ipn: this.ipnFunction };
    this.alarms = new TrackerAlarms(this, 'Alarms', { stage: this.api.stage, functions: requestFunctions });
    const allAlarms = [...this.deadLetters.alarms, this.archiver.errorsAlarm, ...this.alarms.all, ...this.rollups.allAlarms, ...(this.sender?.alarms ?? []), ...(this.silence?.allAlarms ?? [])];
    if (settings.alarmEmail !== undefined) {
      this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', { email: settings.alarmEmail });
      this.alarmTopic.notify(...allAlarms);
    }
    this.dashboard = new TrackerDashboard(this, 'Dashboard', {
      stage: this.api.stage,
      functions: { ...requestFunctions, ...(this.sender ? { sender: this.sender.fn } : {}) },
      deadLetterQueue: this.deadLetters.queue,
      alarms: allAlarms,
    });
    if (this.sender) this.dashboard.dashboard.addWidgets(this.sender.widget());

    this.addOutputs();
  }

  private addOutputs(): void {
    const host = this.trackingHost;
    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('TrackingHost', host, 'Host name the tracker answers on');
    out(
      'ClickUrlPattern',
      clickUrlPattern(host),
      'Ad destination URL: replace <campaignId> with a campaign id from the config; the channel click id ' +
        '(e.g. fbclid) and sub1..sub20 may be added as query parameters',
    );
    const protection = this.config.postbackProtection;
    const keyed = protection.sources !== undefined;
    const urls = digistore24OutputUrls(host, keyed);
    const withKey = keyed ? ' The key is not shown here: npm run urls prints the complete URL.' : ' WARNING: postbacks are not protected (acknowledgeUnprotected).';
    out(
      'Digistore24AffiliatePostbackUrl',
      urls.affiliateS2S,
      `Affiliates: Digistore24 S2S postback (sum={amount_affiliate}); append ONE macro for the conversion type, e.g. {transaction_type}.${withKey}`,
    );
    out(
      'Digistore24VendorPostbackUrl',
      urls.vendorS2S,
      `Vendors, own product: Digistore24 S2S postback (sum={amount_netto}, VAT excluded); append ONE macro, e.g. {transaction_type}.${withKey}`,
    );
    out('LanderClickUrl', landerClickUrl(host), "Landers: the call-to-action link to the offer (t.js adds the click id; add &offer=<offerId> to pick one of the campaign's offers)");
    out('TrackerScriptTag', trackerScriptTag(host), 'Landers, direct tracking: put this tag on the lander (replace <campaignId>); see README "Landers and direct tracking"');
    out('Digistore24OrderFormPixelUrl', urls.pixel, 'Order-form tracking pixel (InitiateCheckout); Digistore24 replaces __cid__. Never carries the key.');
    out('Digistore24IpnUrl', urls.ipn, 'Vendors: IPN URL for Digistore24 (signed; answers 404 until digistore24.ipn is set in the config)');
    // Where the key of the URLs lives (the newest key of the first source), for npm run urls.
    const chosen = urlKeyRef(protection);
    if (chosen?.ref.generated && this.postbackKey) {
      out('PostbackKeySecret', this.postbackKey.secret.secretArn, 'Secrets Manager secret holding the generated postback key; npm run urls reads it (your AWS credentials) and prints the complete URLs');
    } else if (chosen?.ref.secretsManager !== undefined) {
      out('PostbackKeySecret', chosen.ref.secretsManager, 'Secrets Manager secret holding the postback key of the URLs; npm run urls reads it (your AWS credentials) and prints the complete URLs');
    } else if (chosen?.ref.ssmParameter !== undefined) {
      out('PostbackKeyParameter', chosen.ref.ssmParameter, 'SSM SecureString parameter holding the postback key of the URLs; npm run urls reads it (your AWS credentials) and prints the complete URLs');
    }
    out('DashboardPageUrl', `https://${host}/dashboard/`, 'The team dashboard (login: npm run users -- add <email> sends an invitation)');
    out('DashboardUserPoolId', this.dashboardAuth.userPool.userPoolId, 'Cognito user pool of the dashboard logins (npm run users reads it)');
    out('DashboardLoginDomain', this.dashboardAuth.loginOrigin, 'Managed login of the dashboard (Cognito user pool domain)');
    out('DistributionDomainName', this.cdn.distribution.distributionDomainName, 'CloudFront domain (the alias records point here)');
    out('DashboardUrl', this.dashboard.url, 'CloudWatch dashboard: clicks, conversions, revenue, API and Lambda health, the dead-letter queue');
    out('DeadLetterQueueUrl', this.deadLetters.queue.queueUrl, 'Requests that could not be stored; inspect with npm run dlq');
    out('ClicksTableName', this.tables.clicks.tableName, 'DynamoDB table of clicks (retained on stack delete)');
    out('ConversionsTableName', this.tables.conversions.tableName, 'DynamoDB table of conversions (retained on stack delete)');
    out('ConversionTypesTableName', this.tables.conversionTypes.tableName, 'DynamoDB table of conversion types (synced from the config)');
    out('IpKeysTableName', this.tables.ipKeys.tableName, 'DynamoDB table of the daily keys sealing conversion-API clicks\' full IP addresses (deleted after 7 days)');
    if (this.sender) out('SendQueueUrl', this.sender.queue.queueUrl, 'Send jobs for the ad platforms and channel postbacks (consumed by the sender function)');
    out('CatalogTableName', this.tables.catalog.tableName, 'DynamoDB table of every campaign ever deployed and the click retention history (read by npm run report)');
    out('RollupsTableName', this.tables.rollups.tableName, 'DynamoDB table of report rollups and imported ad spend (npm run report, npm run rollups, npm run spend; retained on stack delete)');
    out(
      'DeadLetterArchiveTableName',
      this.tables.deadLetterArchive.tableName,
      'DynamoDB table of dead letters older than 10 days, moved out of the queue (npm run dlq / redrive read it; retained on stack delete)',
    );
    out(
      'DeadLetterLedgerTableName',
      this.tables.deadLetterLedger.tableName,
      'DynamoDB table of dead-letter dedupe markers, per-source counts and redrive leases (expires by TTL)',
    );
    out(
      'InboundTableName',
      this.tables.inbound.tableName,
      'DynamoDB table of inbound postbacks, pixels and IPN calls with their outcome (npm run trace; expires by TTL, retained on stack delete)',
    );
  }
}
