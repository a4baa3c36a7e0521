/**
 * What the operator CLIs (report, trace, redrive, dlq) work on: the local run's data
 * (`--local`), or the deployed stack — table names and queue URL from its outputs (standard AWS
 * credentials and region; `--stack` names it), each overridable by the same environment
 * variables the functions use. Each command names what it reads, and only that is looked up.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../config/load';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { CALL_BUDGETS, boundToDeadline, sdkClientConfig } from '../lambda/adapters/aws-clients';
import { FileDeadLetterQueue } from '../lambda/adapters/file-dead-letter';
import { DynamoConversionHistory } from '../lambda/adapters/conversion-history';
import { SqsDeadLetterQueue } from '../lambda/adapters/sqs-dead-letter';
import { ENV, TABLE_ENV } from '../lambda/contract';
import type { ClickRecord, ConversionRecord, DeadLetterQueue, PutConversionResult, PutResult } from '../lambda/core/model';
import type { ReplayDeps } from '../lambda/core/replay';
import type { TableNames } from '../lambda/local/tables';
import { dataDir, openLocalStore } from './local-store';
import { conversionDeps, forwardingFor } from '../lambda/handlers/runtime';

export const DEFAULT_STACK = 'Clickvault';

export interface TrackerContext {
  queue: DeadLetterQueue;
  client?: DynamoDBClient;
  tables?: TableNames;
  where: string;
  close(): Promise<void>;
}

/** The outputs of the deployed stack (DescribeStacks with the standard AWS credentials and region). */
export async function stackOutputs(stackName: string): Promise<Record<string, string>> {
  const cfn = await import('@aws-sdk/client-cloudformation');
  const client = boundToDeadline(new cfn.CloudFormationClient(sdkClientConfig(CALL_BUDGETS.tool)), 'CloudFormation', CALL_BUDGETS.tool);
  const out = await client.send(new cfn.DescribeStacksCommand({ StackName: stackName }));
  const outputs: Record<string, string> = {};
  for (const o of out.Stacks?.[0]?.Outputs ?? []) if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
  return outputs;
}

/** The queue only (listing needs no tables). */
export async function openQueue(options: { local: boolean; stack?: string }, env: NodeJS.ProcessEnv = process.env): Promise<TrackerContext> {
  if (options.local) {
    const queue = new FileDeadLetterQueue(dataDir(env));
    return { queue, where: queue.dir, close: async () => undefined };
  }
  let url = env[ENV.deadLetterQueueUrl];
  if (!url) url = (await stackOutputs(options.stack ?? DEFAULT_STACK)).DeadLetterQueueUrl;
  if (!url) throw new Error(`stack ${options.stack ?? DEFAULT_STACK} has no DeadLetterQueueUrl output; set ${ENV.deadLetterQueueUrl}`);
  return { queue: new SqsDeadLetterQueue(url), where: url, close: async () => undefined };
}

export type TableId = keyof TableNames;

/** What a command reads: only these are looked up, so a command never asks for what it does not use. */
export interface TrackerNeeds<K extends TableId, Q extends boolean> {
  tables: readonly K[];
  queue: Q;
}

export type OpenedTracker<K extends TableId, Q extends boolean> = {
  client: DynamoDBClient;
  tables: Pick<TableNames, K>;
  where: string;
  close(): Promise<void>;
} & (Q extends true ? { queue: DeadLetterQueue } : unknown);

/**
 * What each command reads — only that is looked up (README, "Dead-letter queue", lists the
 * variables per command; a test keeps the two equal).
 */
export const CLI_NEEDS = {
  dlq: { tables: [], queue: true },
  redrive: { tables: ['clicks', 'conversions', 'conversionTypes'], queue: true },
  report: { tables: ['clicks', 'conversions', 'catalog'], queue: false },
  trace: { tables: ['clicks', 'inbound', 'conversions'], queue: true },
} as const satisfies Record<string, TrackerNeeds<TableId, boolean>>;

/** The stack output that names a table: `ClicksTableName`, `ConversionTypesTableName`, ... */
export function tableOutput(id: TableId): string {
  return `${id.charAt(0).toUpperCase()}${id.slice(1)}TableName`;
}

/** The environment variables (or stack outputs) a command with these needs reads, for its usage text. */
export function neededVariables(needs: TrackerNeeds<TableId, boolean>): string[] {
  return [...(needs.queue ? [ENV.deadLetterQueueUrl] : []), ...needs.tables.map((id) => TABLE_ENV[id])];
}

/**
 * The tables (and the queue, if asked for) a command reads. In AWS each comes from its
 * environment variable (the functions' names: CLICKS_TABLE, ..., DEAD_LETTER_QUEUE_URL) or, when
 * one of them is unset, from the stack's outputs (`--stack`, default Clickvault).
 */
export async function openTracker<K extends TableId, Q extends boolean>(
  options: { local: boolean; stack?: string },
  needs: TrackerNeeds<K, Q>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OpenedTracker<K, Q>> {
  const pickTables = (all: Record<TableId, string>) => Object.fromEntries(needs.tables.map((id) => [id, all[id]])) as Pick<TableNames, K>;
  if (options.local) {
    const store = await openLocalStore(env);
    const queue = needs.queue ? { queue: new FileDeadLetterQueue(dataDir(env)) } : {};
    return { ...queue, client: store.client, tables: pickTables(store.tables), where: dataDir(env), close: store.close } as OpenedTracker<K, Q>;
  }
  const stack = options.stack ?? DEFAULT_STACK;
  const wanted: [string, string][] = [
    ...(needs.queue ? ([[ENV.deadLetterQueueUrl, 'DeadLetterQueueUrl']] as [string, string][]) : []),
    ...needs.tables.map((id): [string, string] => [TABLE_ENV[id], tableOutput(id)]),
  ];
  const outputs = wanted.some(([name]) => !env[name]) ? await stackOutputs(stack) : {};
  const pick = (name: string, output: string): string => {
    const value = env[name] || outputs[output];
    if (!value) throw new Error(`cannot find ${output}: stack ${stack} has no such output and ${name} is not set`);
    return value;
  };
  const tables = Object.fromEntries(needs.tables.map((id) => [id, pick(TABLE_ENV[id], tableOutput(id))])) as Pick<TableNames, K>;
  const url = needs.queue ? pick(ENV.deadLetterQueueUrl, 'DeadLetterQueueUrl') : undefined;
  const client = createDynamoClient(undefined, CALL_BUDGETS.tool);
  return {
    ...(url ? { queue: new SqsDeadLetterQueue(url) } : {}),
    client,
    tables,
    where: url ?? `stack ${stack}`,
    close: async () => client.destroy(),
  } as OpenedTracker<K, Q>;
}

/**
 * The replay dependencies on the tracker's tables. With `dryRun` nothing is written: a click
 * "stores" if it is not there yet, a conversion would be recorded (types and clicks are read
 * for real, so a dry run shows whether the cause is fixed).
 */
export function replayDeps(client: DynamoDBClient, tables: Pick<TableNames, 'clicks' | 'conversions' | 'conversionTypes'>, dryRun: boolean, queue?: DeadLetterQueue): ReplayDeps {
  const config = loadConfig();
  const clicks = new DynamoClickStore(client, tables.clicks);
  const conversions = new DynamoConversionStore(client, tables.conversions);
  const types = new DynamoConversionTypes(client, tables.conversionTypes, 0);
  const history = new DynamoConversionHistory(client, tables.conversions);
  const ipn = config.digistore24?.ipn ? { ipn: config.digistore24.ipn } : {};
  if (dryRun) {
    return {
      clicks,
      clickStore: { putClick: async (c: ClickRecord): Promise<PutResult> => ((await clicks.getClick(c.clickId)) ? 'duplicate' : 'stored') },
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
