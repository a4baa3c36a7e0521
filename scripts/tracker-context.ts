/**
 * What the operator CLIs (redrive, dlq) work on: the local run's data (`--local`), or the
 * deployed stack — table names and queue URL from its outputs (standard AWS credentials and
 * region; `--stack` names it), each overridable by the same environment variables the
 * functions use.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../config/load';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../lambda/adapters/file-dead-letter';
import { DynamoConversionHistory } from '../lambda/adapters/conversion-history';
import { SqsDeadLetterQueue } from '../lambda/adapters/sqs-dead-letter';
import { DynamoDeadLetterArchive } from '../lambda/adapters/dead-letter-archive';
import { DynamoDeadLetterLedger } from '../lambda/adapters/dead-letter-ledger';
import { ArchiveQueue } from '../lambda/core/archive';
import { ENV, TABLE_ENV } from '../lambda/contract';
import type { ClickRecord, ConversionRecord, DeadLetterQueue, LanderClick, LanderClickResult, PutConversionResult, PutResult } from '../lambda/core/model';
import type { ReplayDeps } from '../lambda/core/replay';
import type { TableNames } from '../lambda/local/tables';
import { dataDir, openLocalStore } from './local-store';
import { conversionDeps, forwardingFor } from '../lambda/handlers/runtime';

export const DEFAULT_STACK = 'Clickvault';

export interface TrackerContext {
  queue: DeadLetterQueue;
  /** The archive behind the queue (messages older than 10 days), read and replayed like the queue. */
  archive: ArchiveQueue;
  /** Leases, current copies and failure markers, shared with the functions and the archiver. */
  ledger: DynamoDeadLetterLedger;
  client?: DynamoDBClient;
  tables?: TableNames;
  where: string;
  close(): Promise<void>;
}

/** What a CLI reads: the dead-letter queue and/or tables. Only these are looked up. */
export type TrackerNeed = 'queue' | keyof TableNames;

/** Where each is found: the variable the functions use, else the stack output of that name. */
export const TRACKER_SOURCES: Record<TrackerNeed, { env: string; output: string }> = {
  queue: { env: ENV.deadLetterQueueUrl, output: 'DeadLetterQueueUrl' },
  clicks: { env: TABLE_ENV.clicks, output: 'ClicksTableName' },
  conversions: { env: TABLE_ENV.conversions, output: 'ConversionsTableName' },
  conversionTypes: { env: TABLE_ENV.conversionTypes, output: 'ConversionTypesTableName' },
  inbound: { env: TABLE_ENV.inbound, output: 'InboundTableName' },
  catalog: { env: TABLE_ENV.catalog, output: 'CatalogTableName' },
  deadLetterLedger: { env: TABLE_ENV.deadLetterLedger, output: 'DeadLetterLedgerTableName' },
  deadLetterArchive: { env: TABLE_ENV.deadLetterArchive, output: 'DeadLetterArchiveTableName' },
};

/** The outputs of the deployed stack (DescribeStacks with the standard AWS credentials and region). */
export async function stackOutputs(stackName: string): Promise<Record<string, string>> {
  const cfn = await import('@aws-sdk/client-cloudformation');
  const out = await new cfn.CloudFormationClient({}).send(new cfn.DescribeStacksCommand({ StackName: stackName }));
  const outputs: Record<string, string> = {};
  for (const o of out.Stacks?.[0]?.Outputs ?? []) if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
  return outputs;
}

/**
 * The names of what a CLI reads, from the environment, else the stack's outputs (read only when
 * a variable is missing). Each is required; nothing else is asked for, so e.g. `report` runs
 * with its three table variables and no queue URL.
 */
export async function resolveNeeds(
  needs: readonly TrackerNeed[],
  options: { stack?: string },
  env: NodeJS.ProcessEnv = process.env,
  outputsOf: (stack: string) => Promise<Record<string, string>> = stackOutputs,
): Promise<Partial<Record<TrackerNeed, string>>> {
  const stack = options.stack ?? DEFAULT_STACK;
  const outputs = needs.some((need) => !env[TRACKER_SOURCES[need].env]) ? await outputsOf(stack) : {};
  const found: Partial<Record<TrackerNeed, string>> = {};
  for (const need of needs) {
    const { env: name, output } = TRACKER_SOURCES[need];
    const value = env[name] || outputs[output];
    if (!value) throw new Error(`cannot find ${output}: the stack ${stack} has no such output and ${name} is not set`);
    found[need] = value;
  }
  return found;
}

/** The queue and its archive (listing needs no other table). */
export async function openQueue(options: { local: boolean; stack?: string }, env: NodeJS.ProcessEnv = process.env): Promise<TrackerContext> {
  return openTracker({ ...options, needs: ['queue', 'deadLetterArchive'] }, env);
}

/**
 * Queue, archive, ledger, tables and client for a CLI that reads `needs`. Locally everything is
 * at hand; against the stack only `needs` are looked up, and using anything else is an error
 * that names it (a CLI that reads a table must list it).
 */
export async function openTracker(
  options: { local: boolean; stack?: string; needs: readonly TrackerNeed[] },
  env: NodeJS.ProcessEnv = process.env,
): Promise<TrackerContext & { client: DynamoDBClient; tables: TableNames }> {
  if (options.local) {
    const store = await openLocalStore(env);
    const queue = new FileDeadLetterQueue(dataDir(env));
    return {
      queue,
      archive: new ArchiveQueue(new DynamoDeadLetterArchive(store.client, store.tables.deadLetterArchive)),
      ledger: new DynamoDeadLetterLedger(store.client, store.tables.deadLetterLedger),
      client: store.client,
      tables: store.tables,
      where: queue.dir,
      close: store.close,
    };
  }
  const found = await resolveNeeds(options.needs, options, env);
  const name = (need: TrackerNeed): string => {
    const value = found[need];
    if (value === undefined) throw new Error(`this command did not look up ${TRACKER_SOURCES[need].output} (${TRACKER_SOURCES[need].env})`);
    return value;
  };
  const client = createDynamoClient();
  const tables = {} as TableNames;
  for (const id of Object.keys(TRACKER_SOURCES) as TrackerNeed[]) {
    if (id !== 'queue') Object.defineProperty(tables, id, { enumerable: true, get: () => name(id) });
  }
  let queue: SqsDeadLetterQueue | undefined;
  let archive: ArchiveQueue | undefined;
  let ledger: DynamoDeadLetterLedger | undefined;
  return {
    get queue() {
      return (queue ??= new SqsDeadLetterQueue(name('queue')));
    },
    get archive() {
      return (archive ??= new ArchiveQueue(new DynamoDeadLetterArchive(client, tables.deadLetterArchive)));
    },
    get ledger() {
      return (ledger ??= new DynamoDeadLetterLedger(client, tables.deadLetterLedger));
    },
    client,
    tables,
    where: found.queue ?? `stack ${options.stack ?? DEFAULT_STACK}`,
    close: async () => client.destroy(),
  };
}

/**
 * The replay dependencies on the tracker's tables. With `dryRun` nothing is written: a click
 * "stores" if it is not there yet, a conversion would be recorded (types and clicks are read
 * for real, so a dry run shows whether the cause is fixed).
 */
export function replayDeps(client: DynamoDBClient, tables: TableNames, dryRun: boolean, queue?: DeadLetterQueue): ReplayDeps {
  const config = loadConfig();
  const clicks = new DynamoClickStore(client, tables.clicks);
  const conversions = new DynamoConversionStore(client, tables.conversions);
  const types = new DynamoConversionTypes(client, tables.conversionTypes, 0);
  const history = new DynamoConversionHistory(client, tables.conversions);
  const ipn = config.digistore24?.ipn ? { ipn: config.digistore24.ipn } : {};
  if (dryRun) {
    return {
      clicks,
      clickStore: {
        putClick: async (c: ClickRecord): Promise<PutResult> => ((await clicks.getClick(c.clickId)) ? 'duplicate' : 'stored'),
        // What the conditional update would find, read instead of written.
        recordLanderClick: async (lc: LanderClick): Promise<LanderClickResult> => {
          const click = await clicks.getClick(lc.clickId);
          if (!click) return { status: 'not_found' };
          return click.lpClickAt === undefined ? { status: 'recorded', click: { ...click, lpClickAt: lc.at, offerId: lc.offerId } } : { status: 'repeat', click };
        },
      },
      conversions: {
        putConversion: async (c: ConversionRecord): Promise<PutConversionResult> => {
          const stored = await conversions.getConversion(c.clickId, c.conversionKey);
          return stored ? { status: 'duplicate', stored } : { status: 'stored' };
        },
      },
      types,
      history,
      defaultCurrency: config.defaults.currency,
      ...ipn,
    };
  }
  // A forward that fails during a replay goes back to the same queue.
  const sink = () => {
    if (!queue) throw new Error('no dead-letter queue to send a failed forward to');
    return queue;
  };
  const forwarding = forwardingFor(config, conversions, sink);
  return { ...conversionDeps(config, { clicks, conversions, types, history }, sink), clickStore: clicks, ...ipn, ...(forwarding ? { forwarding } : {}) };
}
