import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  TABLE_DEFINITIONS,
  type KeyDefinition,
  type TableDefinition,
} from '../lambda/adapters/table-definitions';

/** Per-table protection on top of what every table gets. */
const PROTECTION: Record<TableDefinition['id'], { deletionProtection: boolean; description: string; pointInTimeRecovery?: false }> = {
  // Clicks are needed to attribute conversions for `clickRetentionDays`; losing them loses revenue.
  clicks: { deletionProtection: true, description: 'clicks' },
  // Conversions are the business record: never deleted by accident.
  conversions: { deletionProtection: true, description: 'conversions' },
  // Rebuilt from the config by every deploy, so it needs no deletion protection.
  conversionTypes: { deletionProtection: false, description: 'conversion types' },
  // An expiring log of what arrived (trace): items go by TTL anyway, so no deletion protection.
  // Still retained on stack delete and backed up by PITR like every table.
  inbound: { deletionProtection: false, description: 'inbound postbacks, pixels and IPN calls' },
  // Campaigns ever deployed and the click retention history: not rebuildable from the config
  // (retirement times, past retentions), so protected like the data tables.
  catalog: { deletionProtection: true, description: 'catalog of deployed campaigns and click retentions' },
  // Rollups outlive the clicks they were computed from (and hold imported ad spend): once the
  // clicks have expired they cannot be recomputed, so they are protected like the data tables.
  rollups: { deletionProtection: true, description: 'report rollups and imported ad spend' },
  // The day keys that seal conversion-API clicks' full addresses (crypto-shredding): deleting a
  // key must make its addresses unreadable for good, so this table is the one with no
  // point-in-time recovery (a restorable backup would bring deleted keys back) and no deletion
  // protection. Losing it only loses addresses that are at most 7 days old.
  ipKeys: { deletionProtection: false, description: 'daily keys sealing full IP addresses (7 days)', pointInTimeRecovery: false },
  // Markers, counters and leases that expire within days; losing them loses no failure.
  deadLetterLedger: { deletionProtection: false, description: 'dead-letter ledger' },
  // Failures older than the queue may keep: sales not recorded yet, kept until replayed.
  deadLetterArchive: { deletionProtection: true, description: 'dead-letter archive' },
};

const attributeType = (key: KeyDefinition): dynamodb.Attribute => ({
  name: key.name,
  type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

/**
 * The DynamoDB tables, built from the same TABLE_DEFINITIONS the local run and the tests use:
 * on-demand, encrypted at rest with an AWS-owned key (no KMS cost, no key to manage),
 * point-in-time recovery on every table, deletion protection on the data tables (clicks,
 * conversions, the dead-letter archive; not on the expiring inbound log and dead-letter ledger),
 * and all of them retained when the stack is deleted. CDK generates the physical names.
 */
export class TrackerTables extends Construct {
  readonly clicks: dynamodb.Table;
  readonly conversions: dynamodb.Table;
  readonly conversionTypes: dynamodb.Table;
  /** The inbound log (postbacks, pixels, IPN calls and their outcome), expiring by TTL. */
  readonly inbound: dynamodb.Table;
  /** Campaigns ever deployed and the click retention history (written by deploy, read by reports). */
  readonly catalog: dynamodb.Table;
  /** Report rollups (kept by the rollup upkeep), its state and marks, and imported ad spend. */
  readonly rollups: dynamodb.Table;
  /** The day keys sealing conversion-API clicks' full addresses (no backups: see PROTECTION). */
  readonly ipKeys: dynamodb.Table;
  /** Dedupe markers, per-source counters and redrive leases of the dead-letter queue (TTL). */
  readonly deadLetterLedger: dynamodb.Table;
  /** Dead letters older than 10 days, moved out of the queue before SQS retention drops them. */
  readonly deadLetterArchive: dynamodb.Table;

  /**
   * @param deferIndexes secondary indexes to leave out of this deploy (the first of a two-step
   *   upgrade: CloudFormation adds at most one new index per table and update).
   */
  constructor(scope: Construct, id: string, deferIndexes: readonly string[] = []) {
    super(scope, id);
    const tables = new Map<TableDefinition['id'], dynamodb.Table>();
    for (const def of TABLE_DEFINITIONS) {
      const protection = PROTECTION[def.id];
      const table = new dynamodb.Table(this, tableConstructId(def), {
        partitionKey: attributeType(def.partitionKey),
        sortKey: def.sortKey ? attributeType(def.sortKey) : undefined,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.DEFAULT,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: protection.pointInTimeRecovery ?? true },
        deletionProtection: protection.deletionProtection,
        timeToLiveAttribute: def.ttlAttribute,
        ...(def.stream === 'KEYS_ONLY' ? { stream: dynamodb.StreamViewType.KEYS_ONLY } : {}),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      for (const index of def.globalIndexes) {
        if (deferIndexes.includes(index.indexName)) continue;
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: attributeType(index.partitionKey),
          sortKey: index.sortKey ? attributeType(index.sortKey) : undefined,
          projectionType: dynamodb.ProjectionType.INCLUDE,
          nonKeyAttributes: [...index.include],
        });
      }
      tables.set(def.id, table);
    }
    const get = (key: TableDefinition['id']): dynamodb.Table => {
      const table = tables.get(key);
      if (!table) throw new Error(`TrackerTables: no table definition for "${key}"`);
      return table;
    };
    this.clicks = get('clicks');
    this.conversions = get('conversions');
    this.conversionTypes = get('conversionTypes');
    this.inbound = get('inbound');
    this.catalog = get('catalog');
    this.rollups = get('rollups');
    this.ipKeys = get('ipKeys');
    Validations.of(this.ipKeys).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'Crypto-shredding: a deleted day key must make the addresses it sealed unreadable for good, so the key table ' +
        'has no point-in-time recovery (a backup would bring deleted keys back). Every other table has it.',
    });
    this.deadLetterLedger = get('deadLetterLedger');
    this.deadLetterArchive = get('deadLetterArchive');
  }
}

/** `clicks` -> `Clicks`, `conversionTypes` -> `ConversionTypes`. */
export function tableConstructId(def: Pick<TableDefinition, 'id'>): string {
  return def.id.charAt(0).toUpperCase() + def.id.slice(1);
}
