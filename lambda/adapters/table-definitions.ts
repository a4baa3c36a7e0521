/**
 * The DynamoDB tables, defined once. The CDK stack (lib/tracker-tables.ts) builds its tables
 * from these, and the local run and the tests create theirs with `createTableInput`, so the
 * keys and indexes that code relies on are the same everywhere.
 *
 * Pure data: no AWS SDK or CDK import, so both sides can use it.
 */

export type AttributeType = 'S' | 'N';

export interface KeyDefinition {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyDefinition;
  readonly sortKey?: KeyDefinition;
  /** Attributes copied into the index besides the keys (INCLUDE projection). */
  readonly include: readonly string[];
}

export interface TableDefinition {
  /** Logical name: used for construct ids, env variables and local table names. */
  readonly id: 'clicks' | 'conversions' | 'conversionTypes' | 'inbound' | 'catalog' | 'rollups' | 'deadLetterLedger' | 'deadLetterArchive' | 'ipKeys';
  readonly partitionKey: KeyDefinition;
  readonly sortKey?: KeyDefinition;
  /** Epoch-seconds attribute that DynamoDB TTL deletes items by. */
  readonly ttlAttribute?: string;
  readonly globalIndexes: readonly IndexDefinition[];
  /**
   * A DynamoDB Stream of the table's changes (AWS only: the local store has none, the local run
   * feeds the same core from its client instead). KEYS_ONLY: the keys say all that is needed.
   */
  readonly stream?: 'KEYS_ONLY';
}

/**
 * clicks: one item per click. The partition is the campaign's code plus one of 32 shards, both
 * read from the click id itself (core/ids clickPartition), the sort key the click id (a ULID
 * first, so it sorts by time). So a postback finds its click with one GetItem, and "clicks of
 * campaign X between two dates" is 32 key-range queries on the table itself — no secondary
 * index, whose copy of every click would cost a second write unit per click.
 *
 * Its stream (keys only: the click id carries its time and campaign code) tells the rollup
 * upkeep when a click of an hour already rolled up changes (a lander click sets `lpClickAt` on it).
 */
export const CLICKS_TABLE: TableDefinition = {
  id: 'clicks',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'clickId', type: 'S' },
  ttlAttribute: 'expiresAt',
  globalIndexes: [],
  stream: 'KEYS_ONLY',
};

/** What reports read of a conversion in an index (the attribution copied from its click, the money). */
const REPORT_CONVERSION_ATTRIBUTES = [
  'type', 'revenue', 'currency', 'counted', 'createdAt', 'clickCreatedAt', 'offerId', 'landerId', 'channelId', 'country', 'channelClickId', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5',
] as const;

/** The sparse index of outstanding sends on the conversions table. */
export const SEND_INDEX = 'bySend';

/** What the bySend index carries besides its keys: what a Google upload row needs (no buyer data, no subs). */
export const SEND_INDEX_ATTRIBUTES = [
  'type', 'revenue', 'currency', 'counted', 'txid', 'source', 'createdAt', 'attributed', 'campaignId', 'offerId', 'channelId',
  'channelClickId', 'channelClickIdParam', 'clickCreatedAt', 'consent', 'forwardTo', 'forwardState', 'forwardAttempts',
] as const;

/**
 * conversions: keyed by click id + `type|txid`, so "the same click id + type + txid" is one
 * item and recording a conversion is a single conditional put (idempotent under retries and
 * concurrent duplicates). Unattributed conversions (no click id) use the partition
 * `UNATTRIBUTED_CLICK_ID`.
 *
 * byCampaign (campaign, arrival time) answers "what arrived since" (organic sales by day, and
 * the conversions rollups have not taken in yet); byClick (campaign, click time) answers "the
 * conversions of the clicks made in this range" without reading anything that arrived later —
 * raw reports and the rollup upkeep read it. Organic sales have no click time and stay out of it.
 */
export const CONVERSIONS_TABLE: TableDefinition = {
  id: 'conversions',
  partitionKey: { name: 'clickId', type: 'S' },
  sortKey: { name: 'conversionKey', type: 'S' },
  globalIndexes: [
    {
      indexName: 'byCampaign',
      partitionKey: { name: 'campaignId', type: 'S' },
      sortKey: { name: 'createdAt', type: 'S' },
      include: [
        'type', 'revenue', 'currency', 'counted', 'offerId', 'channelId', 'txid', 'status', 'source',
        'clickCreatedAt', 'country', 'channelClickId', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5',
      ],
    },
    {
      indexName: 'byClick',
      partitionKey: { name: 'campaignId', type: 'S' },
      sortKey: { name: 'clickCreatedAt', type: 'S' },
      include: [...REPORT_CONVERSION_ATTRIBUTES.filter((a) => a !== 'clickCreatedAt')],
    },
    {
      // Sends still outstanding (core/send): a sparse index — only items with `sendQueue` are in
      // it, from the conversion's put until its send is done. The sweep reads what is due with
      // one key-range Query per target (`sendQueue = google-ads AND sendDue <= now`), never a scan,
      // and uploads Google rows from the projection without reading the items.
      indexName: SEND_INDEX,
      partitionKey: { name: 'sendQueue', type: 'S' },
      sortKey: { name: 'sendDue', type: 'S' },
      include: SEND_INDEX_ATTRIBUTES,
    },
  ],
};

/**
 * What the postback and IPN functions may read back from the conversions table (a Query on one
 * click's partition, when its click expired or a refund names no currency): the keys, the click
 * attribution every conversion carries, and the money. The stack grants a Query on exactly these
 * attributes (dynamodb:Attributes), the adapter projects exactly these.
 */
export const CONVERSION_HISTORY_ATTRIBUTES = [
  'clickId', 'conversionKey', 'type', 'revenue', 'currency', 'createdAt', 'campaignId', 'offerId', 'landerId', 'channelId',
  'channelClickId', 'channelClickIdParam', 'clickCreatedAt', 'country', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'test',
] as const;

/** conversion types: the config's list, synced into the table by deploy (and by `npm start`). */
export const CONVERSION_TYPES_TABLE: TableDefinition = {
  id: 'conversionTypes',
  partitionKey: { name: 'name', type: 'S' },
  globalIndexes: [],
};

/**
 * inbound: one item per postback, pixel and IPN that arrived, with what was done — the per-click
 * story (`npm run trace`). Keyed by click id (`~none` when the request named none or an invalid
 * one) and arrival time; byDay answers "the latest N" with one Query. Expires with the clicks.
 */
export const INBOUND_TABLE: TableDefinition = {
  id: 'inbound',
  partitionKey: { name: 'clickId', type: 'S' },
  sortKey: { name: 'receivedKey', type: 'S' },
  ttlAttribute: 'expiresAt',
  globalIndexes: [
    {
      indexName: 'byDay',
      partitionKey: { name: 'day', type: 'S' },
      sortKey: { name: 'receivedKey', type: 'S' },
      include: ['receivedAt', 'channel', 'outcome', 'httpStatus', 'reason', 'type', 'txid', 'revenue', 'currency', 'answer', 'source'],
    },
  ],
};

/**
 * catalog: what the config looked like over time, written by deploy (and `npm start`), read by
 * reports. `kind` + `id`: `campaign` items (every campaign ever deployed, with the time it was
 * retired when it left the config) and the `setting` item `clickRetention` (the retention
 * history, so reports know which clicks may have expired and how long conversions can trail
 * their click). A handful of items; one Query per kind.
 */
export const CATALOG_TABLE: TableDefinition = {
  id: 'catalog',
  partitionKey: { name: 'kind', type: 'S' },
  sortKey: { name: 'id', type: 'S' },
  globalIndexes: [],
};

/**
 * rollups: what reports read instead of every click, and what outlives the clicks' TTL
 * (core/rollups). `pk` + `sk`:
 * - `<campaignId>#m` / `#s` / `#v` + `<UTC day>`: a day's click parts (main dimensions, subs)
 *   and conversion parts, one binary column per dimension (adapters/rollup-store); organic sales
 *   under the campaign `~unattributed`. TTL `rollupRetentionDays` after the day's last hour.
 * - `~state` + `upkeep`: how far the upkeep got (hours closed, conversions taken in) and its lease.
 * - `~marks` + `c#<campaign code>#<hour>` / `v#<campaignId>#<hour>`: an hour whose clicks or
 *   conversions changed after it was rolled up (a lander click, a replayed request).
 * - `<campaignId>#spend` + `<day>|<subs>`: imported ad spend (`npm run spend`), no TTL.
 * Not rebuildable once clicks expire, so protected like the data tables.
 */
export const ROLLUPS_TABLE: TableDefinition = {
  id: 'rollups',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  ttlAttribute: 'expiresAt',
  globalIndexes: [],
};

/**
 * ipKeys: one AES-256 data key per UTC day (`day` = YYYY-MM-DD), sealing the full addresses of
 * that day's conversion-API clicks (core/sealed-ip). A key is deleted by the sender's schedule
 * once every click it sealed is 7 days old (TTL on `expiresAt` as a backstop), which makes those
 * addresses unreadable. A handful of items; never backed up (see lib/tracker-tables.ts).
 */
export const IP_KEYS_TABLE: TableDefinition = {
  id: 'ipKeys',
  partitionKey: { name: 'day', type: 'S' },
  ttlAttribute: 'expiresAt',
  globalIndexes: [],
};

/**
 * deadLetterLedger: what keeps the dead-letter queue honest (adapters/dead-letter-ledger):
 * `fp#` markers of queued failures (dedupe), `cap#` counters of distinct failures per source and
 * hour, `msg#` leases and current copies of messages and `run#` redrive runs, for overlapping
 * redrives. Everything in it is short-lived and expires by TTL; losing it loses no failure (the
 * guard fails open).
 *
 * The ledger's item kinds, by partition-key prefix. The stack grants each function only its
 * kinds (IAM dynamodb:LeadingKeys): the request functions `fp#` and `cap#`, the archiver `msg#`.
 */
export const LEDGER_PREFIX = { marker: 'fp#', count: 'cap#', message: 'msg#', run: 'run#' } as const;

export const DEAD_LETTER_LEDGER_TABLE: TableDefinition = {
  id: 'deadLetterLedger',
  partitionKey: { name: 'pk', type: 'S' },
  ttlAttribute: 'expiresAt',
  globalIndexes: [],
};

/**
 * deadLetterArchive: dead letters older than the queue may keep them (moved after 10 days;
 * SQS drops them at 14), one item per message keyed by kind and id, kept until replayed. No
 * TTL: these are sales nobody recorded yet.
 */
export const DEAD_LETTER_ARCHIVE_TABLE: TableDefinition = {
  id: 'deadLetterArchive',
  partitionKey: { name: 'kind', type: 'S' },
  sortKey: { name: 'id', type: 'S' },
  globalIndexes: [],
};

export const TABLE_DEFINITIONS = [CLICKS_TABLE, CONVERSIONS_TABLE, CONVERSION_TYPES_TABLE, INBOUND_TABLE, CATALOG_TABLE, ROLLUPS_TABLE, DEAD_LETTER_LEDGER_TABLE, DEAD_LETTER_ARCHIVE_TABLE, IP_KEYS_TABLE] as const;


/** Environment variables that carry the physical table names to the functions. */
export const TABLE_ENV = {
  clicks: 'CLICKS_TABLE',
  conversions: 'CONVERSIONS_TABLE',
  conversionTypes: 'CONVERSION_TYPES_TABLE',
  inbound: 'INBOUND_TABLE',
  catalog: 'CATALOG_TABLE',
  rollups: 'ROLLUPS_TABLE',
  deadLetterLedger: 'DEAD_LETTER_LEDGER_TABLE',
  deadLetterArchive: 'DEAD_LETTER_ARCHIVE_TABLE',
  ipKeys: 'IP_KEYS_TABLE',
} as const satisfies Record<TableDefinition['id'], string>;

/** Shape of DynamoDB's CreateTable input (kept structural so this file needs no SDK import). */
export interface CreateTableShape {
  TableName: string;
  BillingMode: 'PAY_PER_REQUEST';
  AttributeDefinitions: { AttributeName: string; AttributeType: AttributeType }[];
  KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  GlobalSecondaryIndexes?: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    Projection: { ProjectionType: 'INCLUDE'; NonKeyAttributes: string[] };
  }[];
}

function keySchema(pk: KeyDefinition, sk?: KeyDefinition): CreateTableShape['KeySchema'] {
  const keys: CreateTableShape['KeySchema'] = [{ AttributeName: pk.name, KeyType: 'HASH' }];
  if (sk) keys.push({ AttributeName: sk.name, KeyType: 'RANGE' });
  return keys;
}

/** CreateTable input for the local run and the tests. */
export function createTableInput(def: TableDefinition, tableName: string): CreateTableShape {
  const attributes = new Map<string, AttributeType>();
  for (const key of [def.partitionKey, def.sortKey, ...def.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
    if (key) attributes.set(key.name, key.type);
  }
  const input: CreateTableShape = {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
  };
  if (def.globalIndexes.length > 0) {
    input.GlobalSecondaryIndexes = def.globalIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: keySchema(index.partitionKey, index.sortKey),
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.include] },
    }));
  }
  return input;
}
