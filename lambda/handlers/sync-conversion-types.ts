/**
 * CloudFormation custom resource (through the CDK Provider framework) that makes the
 * conversion-types table equal to the config's `conversionTypes` on every deploy that changes
 * them, and records the deployed campaigns and click retention in the catalog table. The types,
 * campaigns and retention arrive as resource properties (JSON strings), validated again here.
 *
 * - Create / Update: sync (create, update, delete removed types; an unchanged list writes
 *   nothing), then the catalog (new campaigns, retired ones, a changed retention). The catalog
 *   properties are optional so that a rollback, which sends the previous deploy's properties to
 *   this code, still succeeds.
 * - Delete: nothing - the table is retained with the stack's data, and a replaced resource must
 *   not wipe the types the new one just wrote.
 *
 * The physical id is derived from the table name, so it is stable across updates.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { z } from 'zod';
import { conversionTypeSchema, formatPath } from '../../config/schema';
import { syncCatalog, type CatalogSyncResult } from '../adapters/catalog';
import { syncConversionTypes } from '../adapters/conversion-types-sync';
import { CALL_BUDGETS } from '../adapters/aws-clients';
import { createDynamoClient } from '../adapters/dynamodb-store';
import { HANDLER_DEADLINE_MS } from '../contract';
import { withDeadline, type InvocationContext } from './deadline';
import { logger } from '../logger';

/** What the Provider framework expects back from an onEvent handler. */
export interface SyncResponse {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

/** Resource properties set by lib/conversion-types.ts. */
export const PROPERTY = {
  tableName: 'TableName',
  types: 'Types',
  catalogTableName: 'CatalogTableName',
  campaigns: 'Campaigns',
  clickRetentionDays: 'ClickRetentionDays',
} as const;

const typesSchema = z.array(conversionTypeSchema);
const catalogSchema = z.strictObject({
  campaigns: z.array(z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), name: z.string().min(1).max(128) })),
  clickRetentionDays: z.number().int().min(1).max(3650),
});

export function physicalResourceId(tableName: string): string {
  return `clickvault-conversion-types:${tableName}`;
}

function readProperties(properties: Record<string, unknown>) {
  const tableName = properties[PROPERTY.tableName];
  if (typeof tableName !== 'string' || tableName === '') {
    throw new Error(`property ${PROPERTY.tableName} must be the table name, got ${JSON.stringify(tableName)}`);
  }
  const rawTypes = properties[PROPERTY.types];
  if (typeof rawTypes !== 'string') {
    throw new Error(`property ${PROPERTY.types} must be a JSON string, got ${typeof rawTypes}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(rawTypes);
  } catch (err) {
    throw new Error(`property ${PROPERTY.types} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = typesSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ');
    throw new Error(`property ${PROPERTY.types} is not a valid conversion type list: ${problems}`);
  }
  return { tableName, types: parsed.data, catalog: readCatalogProperties(properties) };
}

function readCatalogProperties(properties: Record<string, unknown>) {
  const tableName = properties[PROPERTY.catalogTableName];
  if (tableName === undefined) return undefined;
  if (typeof tableName !== 'string' || tableName === '') {
    throw new Error(`property ${PROPERTY.catalogTableName} must be the table name, got ${JSON.stringify(tableName)}`);
  }
  let campaigns: unknown;
  try {
    campaigns = JSON.parse(String(properties[PROPERTY.campaigns]));
  } catch (err) {
    throw new Error(`property ${PROPERTY.campaigns} is not valid JSON: ${(err as Error).message}`);
  }
  // CloudFormation hands every property over as text.
  const parsed = catalogSchema.safeParse({ campaigns, clickRetentionDays: Number(properties[PROPERTY.clickRetentionDays]) });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ');
    throw new Error(`properties ${PROPERTY.campaigns} / ${PROPERTY.clickRetentionDays} are not valid: ${problems}`);
  }
  return { tableName, ...parsed.data };
}

export function createHandler(client: DynamoDBClient, logger: Logger) {
  const handle = async (event: CloudFormationCustomResourceEvent): Promise<SyncResponse> => {
    logger.appendKeys({ requestType: event.RequestType, logicalResourceId: event.LogicalResourceId });
    if (event.RequestType === 'Delete') {
      logger.info('delete: nothing to do, the conversion types table is retained');
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const { tableName, types, catalog } = readProperties(event.ResourceProperties);
    const result = await syncConversionTypes(client, tableName, types);
    logger.info('conversion types synced', { tableName, ...result });
    let catalogResult: CatalogSyncResult | undefined;
    if (catalog) {
      catalogResult = await syncCatalog(client, catalog.tableName, catalog);
      logger.info('catalog synced', { tableName: catalog.tableName, ...catalogResult });
    }
    return {
      PhysicalResourceId: physicalResourceId(tableName),
      Data: {
        Created: String(result.created.length),
        Updated: String(result.updated.length),
        Deleted: String(result.deleted.length),
        Unchanged: String(result.unchanged.length),
        ...(catalogResult
          ? {
              CampaignsAdded: String(catalogResult.added.length),
              CampaignsRetired: String(catalogResult.retired.length),
              CampaignsRestored: String(catalogResult.restored.length),
              ClickRetention: catalogResult.retention,
            }
          : {}),
      },
    };
  };
  // A sync that cannot finish fails the deploy with the call that did not answer, instead of
  // Lambda's bare "Task timed out" at 2 minutes.
  return withDeadline(HANDLER_DEADLINE_MS.syncConversionTypes, handle);
}

let live: ReturnType<typeof createHandler> | undefined;
/**
 * The Lambda entry point; the client is created on first use (the stack imports PROPERTY from
 * here). A deploy-time job, so it gets the tools' budget: Scan pages and batch writes, no visitor waiting.
 */
export const handler = (event: CloudFormationCustomResourceEvent, context?: InvocationContext): Promise<SyncResponse> =>
  (live ??= createHandler(createDynamoClient(undefined, CALL_BUDGETS.tool), logger))(event, context);
