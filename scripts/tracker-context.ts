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
import { ENV, TABLE_ENV } from '../lambda/contract';
import type { ClickRecord, ConversionRecord, DeadLetterQueue, LanderClick, LanderClickResult, PutConversionResult, PutResult } from '../lambda/core/model';
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
  const out = await new cfn.CloudFormationClient({}).send(new cfn.DescribeStacksCommand({ StackName: stackName }));
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

/** Queue, tables and client, for replaying. */
export async function openTracker(options: { local: boolean; stack?: string }, env: NodeJS.ProcessEnv = process.env): Promise<TrackerContext & { client: DynamoDBClient; tables: TableNames }> {
  if (options.local) {
    const store = await openLocalStore(env);
    const queue = new FileDeadLetterQueue(dataDir(env));
    return { queue, client: store.client, tables: store.tables, where: queue.dir, close: store.close };
  }
  const needsOutputs = [ENV.deadLetterQueueUrl, TABLE_ENV.clicks, TABLE_ENV.conversions, TABLE_ENV.conversionTypes, TABLE_ENV.inbound, TABLE_ENV.catalog].some((name) => !env[name]);
  const outputs = needsOutputs ? await stackOutputs(options.stack ?? DEFAULT_STACK) : {};
  const pick = (name: string, output: string): string => {
    const value = env[name] || outputs[output];
    if (!value) throw new Error(`cannot find ${output}: the stack has no such output and ${name} is not set`);
    return value;
  };
  const url = pick(ENV.deadLetterQueueUrl, 'DeadLetterQueueUrl');
  const client = createDynamoClient();
  return {
    queue: new SqsDeadLetterQueue(url),
    client,
    tables: {
      clicks: pick(TABLE_ENV.clicks, 'ClicksTableName'),
      conversions: pick(TABLE_ENV.conversions, 'ConversionsTableName'),
      conversionTypes: pick(TABLE_ENV.conversionTypes, 'ConversionTypesTableName'),
      inbound: pick(TABLE_ENV.inbound, 'InboundTableName'),
      catalog: pick(TABLE_ENV.catalog, 'CatalogTableName'),
    },
    where: url,
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
