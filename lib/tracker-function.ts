import { join } from 'node:path';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BUNDLED_CONFIG_FILE, ENV } from '../lambda/contract';
import type { LogLevel } from './settings';

/** Repository root: where package-lock.json and the lambda/ sources live. */
export const PROJECT_ROOT = join(__dirname, '..');

/**
 * POWERTOOLS_SERVICE_NAME of every function: Powertools puts it into each log line and adds it
 * to each business metric as the `service` dimension (the dashboard searches by it).
 */
export const SERVICE_NAME = 'clickvault';

/**
 * Modules not bundled: loaded from the Lambda runtime's AWS SDK v3 when (and only when) used —
 * the two clients that read configured secrets (once per instance, then cached). The SQS client
 * is bundled although only failures use it: it is the fallback of every request function, needed
 * exactly when DynamoDB hangs, and loading the runtime's copy (a second SDK core) took a cold
 * instance most of a click's deadline (docs/architecture.md, Decisions).
 */
export const RUNTIME_PROVIDED_MODULES = ['@aws-sdk/client-secrets-manager', '@aws-sdk/client-ssm'] as const;

/** What a function's timeout must leave beyond its handler's deadline: answering, logging, returning. */
export const DEADLINE_MARGIN_MS = 1000;

/** The runtime every function uses (the newest Node.js the installed CDK knows, arm64). */
export const TRACKER_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface TrackerFunctionProps {
  /** Handler file, relative to the repository root, e.g. `lambda/handlers/click.ts` (export `handler`). */
  readonly entry: string;
  readonly description: string;
  /** Memory in MB. */
  readonly memorySize: number;
  readonly timeout: Duration;
  /**
   * The handler's own deadline in ms (lambda/contract.ts HANDLER_DEADLINE_MS): synth fails
   * unless `timeout` leaves at least DEADLINE_MARGIN_MS beyond it to answer, log and return.
   */
  readonly deadlineMs: number;
  readonly logRetention: logs.RetentionDays;
  /** Powertools log level. */
  readonly logLevel: LogLevel;
  /** X-Ray active tracing. @default false */
  readonly tracing?: boolean;
  /**
   * Validated tracker config (JSON file) copied into the bundle as `tracker-config.json`; the
   * function then finds it through TRACKER_CONFIG. @default - no config in the bundle
   */
  readonly configFile?: string;
  readonly environment?: Record<string, string>;
}

const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * A NodejsFunction with Clickvault's defaults, so each function declaration is a few lines:
 * Node.js 24 on arm64, esbuild bundling on the local machine (never Docker), minified with
 * source maps (shipped, not enabled at run time), the AWS SDK bundled (a pinned version instead
 * of whatever the runtime ships), an explicit log group with retention, and an execution role
 * that may write to that log group and nothing else until the function is granted more with
 * `useTable` / `useQueue`.
 *
 * The log group and the role are created next to the function (ids `<id>Logs`, `<id>Role`)
 * because a subclass cannot add children before `super()`.
 */
export class TrackerFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: TrackerFunctionProps) {
    if (!/^[a-z0-9/_.-]+\.ts$/i.test(props.entry)) {
      throw new Error(`TrackerFunction ${id}: entry must be a .ts file relative to the repository root, got "${props.entry}"`);
    }
    if (props.memorySize < 128 || props.memorySize > 10240) {
      throw new Error(`TrackerFunction ${id}: memorySize must be 128-10240 MB, got ${props.memorySize}`);
    }
    if (props.deadlineMs + DEADLINE_MARGIN_MS > props.timeout.toMilliseconds()) {
      throw new Error(
        `TrackerFunction ${id}: the timeout (${props.timeout.toMilliseconds()} ms) must leave ${DEADLINE_MARGIN_MS} ms beyond the handler's ` +
          `deadline (${props.deadlineMs} ms, lambda/contract.ts HANDLER_DEADLINE_MS), or Lambda would end it before it answers`,
      );
    }
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      // Kept after `cdk destroy` as an audit trail; they still expire after the retention period.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}: its own log group plus the grants listed in its policy`,
    });
    // Instead of the AWSLambdaBasicExecutionRole managed policy (logs:* on every log group):
    // write access to this function's own log group only.
    logGroup.grantWrite(role);

    const configFile = props.configFile;
    super(scope, id, {
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      description: props.description,
      runtime: TRACKER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role,
      logGroup,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      // JSON logs, and no START/END/REPORT lines (~330 B per invocation, a line in the cost per
      // million clicks); duration and errors stay in the Lambda metrics, platform warnings and
      // errors still reach the log. Application lines are filtered by Powertools' own level.
      loggingFormat: lambda.LoggingFormat.JSON,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_LOG_LEVEL: props.logLevel,
        // No NODE_OPTIONS=--enable-source-maps: with it the first error stack an instance
        // formats parses the ~1 MB source map (measured: ~300 ms of CPU on a full core, and
        // 256 MB get about a seventh of one), which took the click's fallback budget exactly
        // when DynamoDB failed. The map still ships in the asset: map a stack offline, or set
        // the variable on one function while debugging.
        ...(configFile ? { [ENV.trackerConfig]: `/var/task/${BUNDLED_CONFIG_FILE}` } : {}),
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        minify: true,
        sourceMap: true,
        // The map takes a stack trace to file:line without shipping the sources themselves.
        sourcesContent: false,
        bundleAwsSDK: true,
        // ...except the clients that read configured secrets (postback keys, the IPN
        // passphrase), loaded on first use from the runtime's own SDK v3 (every Node.js runtime
        // since 18 ships it), so they stay out of the bundles. Measured (npm run bench): with
        // SQS also external, the postback bundle went from 849 KB to ~580 KB and its cold init
        // from 1.21x to ~1.05x the bare DynamoDB-client baseline. The bundled SQS client (~39
        // KB) is evaluated only when first imported (a failure): it costs its parsing, ~5% of
        // the baseline's init (README, "Performance and cost").
        externalModules: [...RUNTIME_PROVIDED_MODULES],
        // import() of those externals becomes require(): it finds the runtime's SDK through
        // NODE_PATH the standard way, and loads its CommonJS build, about twice as fast as
        // the ES module graph a native import() walks.
        esbuildArgs: { '--supported:dynamic-import': 'false' },
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) =>
            configFile ? [`cp ${shellQuote(configFile)} ${shellQuote(join(outputDir, BUNDLED_CONFIG_FILE))}`] : [],
        },
      },
    });
    if (props.tracing) {
      // Lambda adds xray:PutTraceSegments and xray:PutTelemetryRecords on "*" to the role; the
      // stack tests check that no other statement uses "*".
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only the X-Ray statement Lambda adds for active tracing (xray:PutTraceSegments, xray:PutTelemetryRecords): ' +
          'these actions do not support resource-level permissions, so "*" is the only possible resource.',
      });
    }
  }

  /**
   * Grants exactly `actions` on the table itself (no index ARNs, no KMS: the tables use
   * AWS-owned keys) and sets the variable that carries the table name.
   */
  useTable(table: dynamodb.ITable, envName: string, actions: readonly string[]): this {
    iam.Grant.addToPrincipal({ grantee: this, actions: [...actions], resourceArns: [table.tableArn] });
    this.addEnvironment(envName, table.tableName);
    return this;
  }

  /**
   * Like `useTable`, but only on items whose partition key starts with one of `keyPrefixes`
   * (IAM `dynamodb:LeadingKeys`): one table, several kinds of item, each function only its own.
   */
  useTableItems(table: dynamodb.ITable, envName: string, actions: readonly string[], keyPrefixes: readonly string[]): this {
    if (keyPrefixes.length === 0) throw new Error(`useTableItems: no key prefixes for ${envName}`);
    iam.Grant.addToPrincipal({
      grantee: this,
      actions: [...actions],
      resourceArns: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keyPrefixes.map((prefix) => `${prefix}*`) } },
    });
    this.addEnvironment(envName, table.tableName);
    return this;
  }

  /**
   * Allows `actions` (default: only sqs:SendMessage) on the queue and sets DEAD_LETTER_QUEUE_URL.
   * The request functions only send; the archiver also receives, hides and deletes.
   */
  useDeadLetterQueue(queue: sqs.IQueue, actions: readonly string[] = ['sqs:SendMessage']): this {
    iam.Grant.addToPrincipal({ grantee: this, actions: [...actions], resourceArns: [queue.queueArn] });
    if (queue.encryptionMasterKey) {
      if (actions.some((a) => a !== 'sqs:SendMessage')) queue.encryptionMasterKey.grantEncryptDecrypt(this);
      else queue.encryptionMasterKey.grantEncrypt(this);
    }
    this.addEnvironment(ENV.deadLetterQueueUrl, queue.queueUrl);
    return this;
  }
}
