import { type CfnResource, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { Campaign, ConversionType } from '../config/schema';
import { HANDLER_DEADLINE_MS } from '../lambda/contract';
import { PROPERTY } from '../lambda/handlers/sync-conversion-types';
import type { LogLevel } from './settings';
import { TrackerFunction } from './tracker-function';

export interface ConversionTypesProps {
  /** The conversion-types table. */
  readonly table: dynamodb.ITable;
  /** The validated config's conversion types. */
  readonly types: readonly ConversionType[];
  /**
   * The catalog table and what the deploy records in it: the config's campaigns (removed ones
   * are marked retired) and its click retention (appended to the history when it changes).
   */
  readonly catalog: {
    readonly table: dynamodb.ITable;
    readonly campaigns: readonly Pick<Campaign, 'id' | 'name'>[];
    readonly clickRetentionDays: number;
  };
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  readonly tracing?: boolean;
}

/**
 * Conversion types as code, and the catalog: a custom resource whose properties are the config's
 * type list, campaigns and click retention (JSON), so CloudFormation calls the sync function when
 * - and only when - one of them changes; the sync itself also writes nothing when the tables
 * already match.
 */
export class ConversionTypes extends Construct {
  readonly syncFunction: TrackerFunction;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: ConversionTypesProps) {
    super(scope, id);
    if (props.types.length === 0) throw new Error('ConversionTypes: the config defines no conversion types');

    this.syncFunction = new TrackerFunction(this, 'SyncFunction', {
      entry: 'lambda/handlers/sync-conversion-types.ts',
      description: 'Clickvault: syncs the config conversion types and the catalog (campaigns, click retention) at deploy time',
      memorySize: 256,
      timeout: Duration.minutes(2),
      deadlineMs: HANDLER_DEADLINE_MS.syncConversionTypes,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      tracing: props.tracing,
    });
    // Scan to read what is stored, BatchWriteItem to put and delete; on this table only.
    iam.Grant.addToPrincipal({
      grantee: this.syncFunction,
      actions: ['dynamodb:Scan', 'dynamodb:BatchWriteItem'],
      resourceArns: [props.table.tableArn],
    });
    // The catalog: Query to read it, PutItem to record campaigns and retentions; never a delete.
    iam.Grant.addToPrincipal({
      grantee: this.syncFunction,
      actions: ['dynamodb:Query', 'dynamodb:PutItem'],
      resourceArns: [props.catalog.table.tableArn],
    });

    const providerLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const providerRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'CDK custom resource provider framework for the Clickvault conversion types',
    });
    providerLogs.grantWrite(providerRole);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.syncFunction,
      frameworkOnEventRole: providerRole,
      logGroup: providerLogs,
    });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::ClickvaultConversionTypes',
      properties: {
        [PROPERTY.tableName]: props.table.tableName,
        [PROPERTY.types]: JSON.stringify(props.types),
        [PROPERTY.catalogTableName]: props.catalog.table.tableName,
        [PROPERTY.campaigns]: JSON.stringify(props.catalog.campaigns.map((c) => ({ id: c.id, name: c.name }))),
        [PROPERTY.clickRetentionDays]: String(props.catalog.clickRetentionDays),
      },
    });

    // The Provider framework grants lambda:InvokeFunction on the sync function and on "<arn>:*".
    const syncFunctionLogicalId = Stack.of(this).getLogicalId(this.syncFunction.node.defaultChild as CfnResource);
    Validations.of(providerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${syncFunctionLogicalId}.Arn>:*]`,
      reason:
        'Added by the CDK custom resource Provider framework: lambda:InvokeFunction on the sync function and its ' +
        '":*" qualifiers (versions and aliases of that one function), nothing else.',
    });
  }
}
