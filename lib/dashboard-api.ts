import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TrackerConfig } from '../config/schema';
import { DASHBOARD_API_ROUTES, ENV, HANDLER_DEADLINE_MS, TABLE_ENV } from '../lambda/contract';
import { urlKeyRef } from '../lambda/core/urls';
import { grantSecretRefs } from './config-secrets';
import type { GeneratedPostbackKey } from './postback-key';
import type { LogLevel } from './settings';
import type { TrackerApi } from './tracker-api';
import { TrackerFunction } from './tracker-function';
import type { TrackerTables } from './tracker-tables';
import type * as logs from 'aws-cdk-lib/aws-logs';

export const DASHBOARD_API_ENTRY = 'lambda/handlers/dashboard-api.ts';
/** A month of clicks of a busy campaign is read in a few seconds; a person waits for this. */
export const DASHBOARD_API_SIZING = { memorySize: 512, timeout: Duration.seconds(29) } as const;

export interface DashboardApiProps {
  readonly api: TrackerApi;
  readonly authorizer: apigw.IHttpRouteAuthorizer;
  readonly tables: TrackerTables;
  readonly queue: sqs.IQueue;
  readonly config: TrackerConfig;
  readonly configFile: string;
  readonly originVerifyValue: string;
  /** The custom tracking domain, when there is one (the setup view's URLs). */
  readonly trackingDomain?: string;
  readonly postbackKey?: GeneratedPostbackKey;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  readonly tracing?: boolean;
}

/**
 * The dashboard's API: one read-only function behind every `/api` route of lambda/contract.ts
 * DASHBOARD_API_ROUTES, each route behind the user pool's JWT authorizer. It may read what the
 * CLIs read (clicks, conversions and their campaign index, the catalog, the rollups, the inbound log and its
 * day index, the dead-letter queue and archive) and the postback key of the setup URLs; it can
 * write nothing.
 */
export class DashboardApi extends Construct {
  readonly function: TrackerFunction;
  readonly routes: apigw.HttpRoute[];

  constructor(scope: Construct, id: string, props: DashboardApiProps) {
    super(scope, id);
    const { tables } = props;
    const fn = new TrackerFunction(this, 'Function', {
      entry: DASHBOARD_API_ENTRY,
      description: 'Clickvault: GET /api/* - the dashboard API (read-only; JWT authorizer)',
      ...DASHBOARD_API_SIZING,
      deadlineMs: HANDLER_DEADLINE_MS.dashboardApi,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      tracing: props.tracing,
      configFile: props.configFile,
      environment: {
        [ENV.originVerifySecret]: props.originVerifyValue,
        ...(props.trackingDomain ? { [ENV.trackingHost]: props.trackingDomain } : {}),
      },
    })
      .useTable(tables.clicks, TABLE_ENV.clicks, ['dynamodb:Query', 'dynamodb:GetItem'])
      .useTable(tables.conversions, TABLE_ENV.conversions, ['dynamodb:Query'])
      .useTable(tables.catalog, TABLE_ENV.catalog, ['dynamodb:Query'])
      .useTable(tables.inbound, TABLE_ENV.inbound, ['dynamodb:Query'])
      // Reports read rollups (their state item, parts and marks, imported spend), never write them.
      .useTable(tables.rollups, TABLE_ENV.rollups, ['dynamodb:GetItem', 'dynamodb:Query'])
      .useTable(tables.deadLetterArchive, TABLE_ENV.deadLetterArchive, ['dynamodb:Query'])
      .useDeadLetterQueue(props.queue, ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility']);
    // The indexes the report and the live log query.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${tables.conversions.tableArn}/index/byCampaign`, `${tables.conversions.tableArn}/index/byClick`, `${tables.inbound.tableArn}/index/byDay`],
      }),
    );
    // The key the setup view's S2S URLs carry (the one `npm run urls` prints), and no other.
    const chosen = urlKeyRef(props.config.postbackProtection);
    if (chosen?.ref.generated && props.postbackKey) {
      props.postbackKey.grantRead(fn);
    } else if (chosen) {
      grantSecretRefs(fn, [chosen.ref]);
    }
    this.function = fn;
    const routes = Object.fromEntries(Object.values(DASHBOARD_API_ROUTES).map((routeKey) => [routeKey, fn]));
    this.routes = props.api.addAuthorizedRoutes(routes, props.authorizer);
  }
}
