/**
 * Time and attempt budgets of every AWS SDK client, and the binding that puts each call under
 * the request's deadline (core/deadline). Two independent guards, so either suffices — the
 * SQS, SSM and Secrets Manager clients come from the Lambda runtime's own SDK, whose version
 * is not ours:
 *
 * 1. the HTTP handler's own timeouts: `connectionTimeout`, `requestTimeout` with
 *    `throwOnRequestTimeout` (since @smithy/node-http-handler 4.x a request timeout only logs
 *    a warning unless told to throw), and `socketTimeout` (an idle socket; what older handlers
 *    used `requestTimeout` for), each per attempt, with `maxAttempts` attempts;
 * 2. an abort signal on every `send`, which ends the whole call — retries and backoff
 *    included — at the call's budget or at the request's deadline, whichever comes first.
 */
import { CallTimeoutError, withCallTimeout } from '../core/deadline';

export interface CallBudget {
  /** One HTTP attempt: connect, send, first byte of the answer. */
  readonly attemptTimeoutMs: number;
  /** Attempts per call: the first one plus retries. */
  readonly attempts: number;
  /** The whole call, retries and backoff included (and never past the request's deadline). */
  readonly callTimeoutMs: number;
}

/**
 * Budgets on the request path (`dynamodb`, `sqs`, `secrets`) sit far above the services'
 * normal latency (single-digit ms for a DynamoDB item, tens of ms for SQS and the secret
 * stores, a cold TLS handshake included) and far below what a visitor or a sender waits. A
 * click's write gets 600 ms, leaving its fallback to the queue enough of the click's 1.2 s
 * deadline (lambda/contract.ts HANDLER_DEADLINE_MS).
 * - `embedded`: the local run's dynalite, which shares the tracker's process: its latency under
 *   a burst (100 concurrent postbacks) is our own event loop's queue, not a network, so it gets
 *   seconds; the handlers' deadlines still apply. createDynamoClient(endpoint) takes it by default
 *   for an endpoint passed in.
 * - `tool`: the CLIs and the deploy-time sync, which read 1 MB pages and long-poll the queue.
 * - `archiver`: the hourly dead-letter archiver, whom nobody waits for: retries matter more than
 *   latency, and its ReceiveMessage long-polls 1 s; still far inside its deadline.
 * - `dashboard`: the dashboard API, whose reports read 1 MB pages for a person waiting at a
 *   page: seconds per attempt, inside its 25 s deadline (HANDLER_DEADLINE_MS.dashboardApi).
 * - `sender`: the sender function (send jobs, the hourly sweep), whom no visitor or sender waits
 *   for either: a throttled claim or a slow queue is retried, not given up at a request's pace;
 *   still inside its deadline (HANDLER_DEADLINE_MS.sender). (The request functions put their
 *   send jobs with the `sqs` budget.)
 */
export const CALL_BUDGETS = {
  dynamodb: { attemptTimeoutMs: 250, attempts: 2, callTimeoutMs: 600 },
  sqs: { attemptTimeoutMs: 400, attempts: 2, callTimeoutMs: 1000 },
  secrets: { attemptTimeoutMs: 400, attempts: 2, callTimeoutMs: 1000 },
  embedded: { attemptTimeoutMs: 2000, attempts: 2, callTimeoutMs: 5000 },
  tool: { attemptTimeoutMs: 15_000, attempts: 4, callTimeoutMs: 60_000 },
  archiver: { attemptTimeoutMs: 5000, attempts: 3, callTimeoutMs: 15_000 },
  /** The rollup upkeep and marker: nobody waits on them, and their reads are pages of up to 1 MB. */
  rollups: { attemptTimeoutMs: 5000, attempts: 3, callTimeoutMs: 15_000 },
  dashboard: { attemptTimeoutMs: 3000, attempts: 3, callTimeoutMs: 8000 },
  sender: { attemptTimeoutMs: 3000, attempts: 3, callTimeoutMs: 10_000 },
} as const satisfies Record<string, CallBudget>;

/** The SDK client settings of a budget (guard 1). */
export function sdkClientConfig(budget: CallBudget) {
  return {
    maxAttempts: budget.attempts,
    requestHandler: {
      connectionTimeout: budget.attemptTimeoutMs,
      requestTimeout: budget.attemptTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: budget.attemptTimeoutMs,
    },
  };
}

interface SdkCommand {
  schema?: unknown;
  constructor: { name: string };
}

type Send = (command: SdkCommand, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;

/** "PutItem" for a PutItemCommand, from its operation schema or (unminified SDKs) its class. */
function operationName(command: SdkCommand): string {
  const schema = command.schema;
  if (Array.isArray(schema) && typeof schema[2] === 'string') return schema[2];
  return command.constructor.name.replace(/Command$/, '');
}

/**
 * Binds a client's `send` to `budget` and the request's deadline (guard 2): every call, also
 * ones added to an adapter later, gets an abort signal; a caller's own signal still counts.
 * The client's class method is looked up at call time, so a test double installed on the
 * class (aws-sdk-client-mock) still answers.
 */
export function boundToDeadline<C extends object>(client: C, service: string, budget: CallBudget): C {
  const target = client as unknown as { send: Send };
  const prototype = Object.getPrototypeOf(client) as { send: Send };
  target.send = async (command, options) => {
    const what = `${service} ${operationName(command)}`;
    try {
      return await withCallTimeout(what, budget.callTimeoutMs, (signal) =>
        prototype.send.call(client, command, {
          ...options,
          abortSignal: options?.abortSignal ? AbortSignal.any([signal, options.abortSignal]) : signal,
        }),
      );
    } catch (err) {
      // Guard 1 fired (the handler's own TimeoutError): name the call, as guard 2 does.
      if ((err as Error).name === 'TimeoutError' && !(err instanceof CallTimeoutError)) {
        throw new CallTimeoutError(`${what}: no answer within ${budget.attemptTimeoutMs} ms per attempt, ${budget.attempts} attempt(s)`, { cause: err });
      }
      throw err;
    }
  };
  return client;
}
