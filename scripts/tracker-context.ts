/**
 * What the operator CLIs (report, trace, redrive, dlq) work on: the local run's data
 * (`--local`), or the deployed stack — table names and queue URL from its outputs (standard AWS
 * credentials and region; `--stack` names it), each overridable by the same environment
 * variable the functions use. Each command declares what it reads (CLI_NEEDS), only that is
 * looked up, and only that can be used: the types allow nothing else, and at run time (local
 * or AWS) anything else is an error naming it.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../config/load';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { CALL_BUDGETS, boundToDeadline, sdkClientConfig } from '../lambda/adapters/aws-clients';
import { FileDeadLetterQueue } from '../lambda/adapters/file-dead-letter';
import { DynamoConversionHistory } from '../lambda/adapters/conversion-history';
import { DynamoRollupStore } from '../lambda/adapters/rollup-store';
import { markingClickStore, markingConversionStore } from '../lambda/core/rollup-marks';
import { logger } from '../lambda/logger';
import { SqsDeadLetterQueue } from '../lambda/adapters/sqs-dead-letter';
import { DynamoDeadLetterArchive } from '../lambda/adapters/dead-letter-archive';
import { DynamoDeadLetterLedger } from '../lambda/adapters/dead-letter-ledger';
import { ArchiveQueue } from '../lambda/core/archive';
import { ENV, TABLE_ENV } from '../lambda/contract';
import type { ClickRecord, ConversionRecord, DeadLetterQueue, LanderClick, LanderClickResult, PutConversionResult, PutResult } from '../lambda/core/model';
import type { ReplayDeps } from '../lambda/core/replay';
import type { TableNames } from '../lambda/local/tables';
import { dataDir, openLocalStore } from './local-store';
import { conversionDeps, forwardingFor, sendDeps } from '../lambda/handlers/runtime';
import { CachedSecretReader } from '../lambda/adapters/secrets';
import { configSends, processSend } from '../lambda/core/send';
import type { SendQueue } from '../lambda/core/send-model';

export const DEFAULT_STACK = 'Clickvault';

export type TableId = keyof TableNames;

/** What a CLI reads: the dead-letter queue and/or tables. */
export type TrackerNeed = 'queue' | TableId;

/** The stack output that names a table: `ClicksTableName`, `DeadLetterLedgerTableName`, ... */
export function tableOutput(id: TableId): string {
  return `${id.charAt(0).toUpperCase()}${id.slice(1)}TableName`;
}

/**
 * Where each is found: the variable the functions use, else the stack output of that name
 * (lib/clickvault-stack.ts; test/stack/tracker-stack.test.ts checks the stack has each one).
 */
export const TRACKER_SOURCES: Record<TrackerNeed, { env: string; output: string }> = {
  queue: { env: ENV.deadLetterQueueUrl, output: 'DeadLetterQueueUrl' },
  ...(Object.fromEntries((Object.keys(TABLE_ENV) as TableId[]).map((id) => [id, { env: TABLE_ENV[id], output: tableOutput(id) }])) as Record<TableId, { env: string; output: string }>),
};

/**
 * What each command reads — only that is looked up (README, "Dead-letter queue", lists the
 * variables per command; test/reporting/cli-context.test.ts keeps the two equal, and the CLI
 * tests run every command with only these open).
 */
export const CLI_NEEDS = {
  /** The queue and its archive (messages older than 10 days). */
  dlq: ['queue', 'deadLetterArchive'],
  /** Replays read clicks, conversions (and their history) and types, write conversions, and work through the queue and the archive with leases in the ledger; they mark the rollup hours they change. */
  redrive: ['queue', 'deadLetterArchive', 'deadLetterLedger', 'clicks', 'conversions', 'conversionTypes', 'ipKeys', 'rollups'],
  /** Sends what is due: conversions (send state, due index), clicks (and their sealed address, opened with the day keys), the queue for sends that run out of retries. */
  sweep: ['queue', 'clicks', 'conversions', 'ipKeys'],
  /** Google Ads' import file: the catalog's campaigns and their conversions. */
  export: ['catalog', 'conversions'],
  /** No queue; rollups hold the report's numbers (and imported spend). */
  report: ['clicks', 'conversions', 'catalog', 'rollups'],
  /** The rollup upkeep: raw clicks and conversions, the catalog, the rollups. */
  rollups: ['clicks', 'conversions', 'catalog', 'rollups'],
  /** Imported ad spend lives in the rollups table; the catalog names the campaigns. */
  spend: ['catalog', 'rollups'],
  /** A click's story: its click, inbound requests, conversions and the dead letters (queue and archive) that name it. */
  trace: ['inbound', 'clicks', 'conversions', 'queue', 'deadLetterArchive'],
  /** `trace --recent N`: the inbound log only. */
  traceRecent: ['inbound'],
} as const satisfies Record<string, readonly TrackerNeed[]>;

export type CliName = keyof typeof CLI_NEEDS;

/** How a user runs each entry of CLI_NEEDS (the first column of the README's table). */
export const CLI_COMMANDS: Record<CliName, string> = {
  dlq: 'npm run dlq',
  redrive: 'npm run redrive',
  report: 'npm run report',
  rollups: 'npm run rollups',
  spend: 'npm run spend',
  trace: 'npm run trace -- <clickid>',
  traceRecent: 'npm run trace -- --recent N',
  sweep: 'npm run sweep',
  export: 'npm run export -- --google-ads',
};

/** The environment variables (or stack outputs) a command with these needs reads, for its usage text. */
export function neededVariables(needs: readonly TrackerNeed[]): string[] {
  return needs.map((need) => TRACKER_SOURCES[need].env);
}

/** The outputs of the deployed stack (DescribeStacks with the standard AWS credentials and region). */
export async function stackOutputs(stackName: string): Promise<Record<string, string>> {
  const cfn = await import('@aws-sdk/client-cloudformation');
  const client = boundToDeadline(new cfn.CloudFormationClient(sdkClientConfig(CALL_BUDGETS.tool)), 'CloudFormation', CALL_BUDGETS.tool);
  try {
    const out = await client.send(new cfn.DescribeStacksCommand({ StackName: stackName }));
    const outputs: Record<string, string> = {};
    for (const o of out.Stacks?.[0]?.Outputs ?? []) if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
    return outputs;
  } finally {
    client.destroy();
  }
}

/**
 * The names of what a CLI reads, from the environment, else the stack's outputs (read only when
 * a variable is missing). Each is required; nothing else is asked for, so e.g. `report` runs
 * with its three table variables and no queue URL.
 */
export async function resolveNeeds<N extends TrackerNeed>(
  needs: readonly N[],
  options: { stack?: string },
  env: NodeJS.ProcessEnv = process.env,
  outputsOf: (stack: string) => Promise<Record<string, string>> = stackOutputs,
): Promise<Record<N, string>> {
  const stack = options.stack ?? DEFAULT_STACK;
  const outputs = needs.some((need) => !env[TRACKER_SOURCES[need].env]) ? await outputsOf(stack) : {};
  const found = {} as Record<N, string>;
  for (const need of needs) {
    const { env: name, output } = TRACKER_SOURCES[need];
    const value = env[name] || outputs[output];
    if (!value) throw new Error(`cannot find ${output}: the stack ${stack} has no such output and ${name} is not set`);
    found[need] = value;
  }
  return found;
}

/** What a command with `needs` gets: those tables, and the queue, archive and ledger only if it reads them. */
export type OpenedTracker<N extends TrackerNeed> = {
  client: DynamoDBClient;
  tables: Pick<TableNames, Extract<N, TableId>>;
  where: string;
  close(): Promise<void>;
} & ('queue' extends N ? { queue: DeadLetterQueue } : unknown) &
  ('deadLetterArchive' extends N ? { archive: ArchiveQueue } : unknown) &
  ('deadLetterLedger' extends N ? { ledger: DynamoDeadLetterLedger } : unknown);

/**
 * Opens what a command reads. Locally: the running `npm start`'s DynamoDB (or the data
 * directory) and the file queue. Against the stack: each of `needs` from its variable, else the
 * stack's outputs; a DynamoDB client with the tools' budget. Either way, reaching for a table,
 * the queue, the archive or the ledger that is not in `needs` throws an error naming it (only a
 * cast gets past the types), so a command cannot quietly depend on what it did not declare.
 */
export async function openTracker<N extends TrackerNeed>(
  options: { local: boolean; stack?: string },
  needs: readonly N[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<OpenedTracker<N>> {
  const wanted = new Set<TrackerNeed>(needs);
  let names: Partial<Record<TrackerNeed, string>>;
  let client: DynamoDBClient;
  let close: () => Promise<void>;
  let where: string;
  let makeQueue: (name: string) => DeadLetterQueue;
  if (options.local) {
    const store = await openLocalStore(env);
    names = { ...store.tables, queue: dataDir(env) };
    client = store.client;
    close = store.close;
    where = dataDir(env);
    makeQueue = (dir) => new FileDeadLetterQueue(dir);
  } else {
    names = await resolveNeeds(needs, options, env);
    const dynamo = createDynamoClient(undefined, CALL_BUDGETS.tool);
    client = dynamo;
    close = async () => dynamo.destroy();
    where = names.queue ?? `stack ${options.stack ?? DEFAULT_STACK}`;
    makeQueue = (url) => new SqsDeadLetterQueue(url);
  }
  const name = (need: TrackerNeed): string => {
    const value = wanted.has(need) ? names[need] : undefined;
    if (value === undefined) throw new Error(`this command did not look up ${TRACKER_SOURCES[need].output} (${TRACKER_SOURCES[need].env})`);
    return value;
  };
  const tables = {} as TableNames;
  for (const id of Object.keys(TABLE_ENV) as TableId[]) {
    Object.defineProperty(tables, id, { enumerable: wanted.has(id), get: () => name(id) });
  }
  let queue: DeadLetterQueue | undefined;
  let archive: ArchiveQueue | undefined;
  let ledger: DynamoDeadLetterLedger | undefined;
  const opened = {
    get queue() {
      return (queue ??= makeQueue(name('queue')));
    },
    get archive() {
      return (archive ??= new ArchiveQueue(new DynamoDeadLetterArchive(client, name('deadLetterArchive'))));
    },
    get ledger() {
      return (ledger ??= new DynamoDeadLetterLedger(client, name('deadLetterLedger')));
    },
    client,
    tables,
    where,
    close,
  };
  return opened as unknown as OpenedTracker<N>;
}

/**
 * The replay dependencies on the tracker's tables. With `dryRun` nothing is written: a click
 * "stores" if it is not there yet, a conversion would be recorded (types and clicks are read
 * for real, so a dry run shows whether the cause is fixed).
 */
export function replayDeps(
  client: DynamoDBClient,
  tables: Pick<TableNames, 'clicks' | 'conversions' | 'conversionTypes' | 'ipKeys' | 'rollups'>,
  dryRun: boolean,
  queue?: DeadLetterQueue,
  local = false,
): ReplayDeps {
  const config = loadConfig();
  const clicks = new DynamoClickStore(client, tables.clicks);
  const conversions = new DynamoConversionStore(client, tables.conversions);
  // A replay keeps the time its request first arrived: the hour it lands in may be rolled up
  // already, so the stores mark it for the rollup upkeep.
  const marks = new DynamoRollupStore(client, tables.rollups);
  const markingClicks = markingClickStore(clicks, marks, logger);
  const markingConversions = markingConversionStore(conversions, marks, logger);
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
  const forwarding = forwardingFor(config, markingConversions, sink);
  // Conversion API sends: retried from the queue (kind forward), and sent at once for conversions
  // a replay records (no send queue here: the CLI is the sender).
  const sending = configSends(config) ? sendDeps(config, { client, tables, secrets: new CachedSecretReader(local ? 'local' : 'aws'), deadLetters: sink }) : undefined;
  const inline: SendQueue | undefined = sending ? { enqueue: async (job) => void (await processSend(job, sending, 'queue')) } : undefined;
  return {
    ...conversionDeps(config, { clicks, conversions: markingConversions, types, history }, sink, inline),
    clickStore: markingClicks,
    ...ipn,
    ...(forwarding ? { forwarding } : {}),
    ...(sending ? { sending } : {}),
  };
}
