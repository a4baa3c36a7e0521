/**
 * Every client call has a per-attempt timeout, an attempt budget and a per-call abort, and each
 * guard really ends the call on its own — proven against a black hole (accepts, never answers):
 * the call fails with a TimeoutError, and the socket it used is closed. Time bounds here are
 * generous upper bounds of a hanging dependency, not benchmarks.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CALL_BUDGETS, boundToDeadline, sdkClientConfig, type CallBudget } from '../../lambda/adapters/aws-clients';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { CachedSecretReader } from '../../lambda/adapters/secrets';
import { SqsDeadLetterSink } from '../../lambda/adapters/sqs-dead-letter';
import { CallTimeoutError, Deadline, runWithDeadline } from '../../lambda/core/deadline';
import { startBlackHole, type BlackHole } from '../support/black-hole';

const local = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
const put = () => new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' } } });

let hole: BlackHole;
beforeEach(async () => {
  hole = await startBlackHole();
});
afterEach(() => hole.close());

/** The SDK reads AWS_ENDPOINT_URL_<SERVICE> from the process environment, as it would in Lambda. */
async function withEndpoint<T>(variable: string, url: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env[variable];
  process.env[variable] = url;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[variable];
    else process.env[variable] = before;
  }
}

async function timed<T>(work: Promise<T>): Promise<{ ms: number; error: Error }> {
  const start = Date.now();
  try {
    await work;
  } catch (err) {
    return { ms: Date.now() - start, error: err as Error };
  }
  throw new Error('the call against the black hole succeeded');
}

describe('the trap: a request timeout that only warns', () => {
  it('with requestTimeout alone the SDK logs a warning and keeps waiting', async () => {
    const warnings: string[] = [];
    const client = new DynamoDBClient({ ...local, endpoint: hole.url, maxAttempts: 1, requestHandler: { requestTimeout: 150, logger: { ...console, warn: (m: string) => warnings.push(String(m)) } } });
    const call = client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
    call.catch(() => undefined);
    const settled = await Promise.race([call.then(() => 'answered', () => 'failed'), new Promise((r) => setTimeout(() => r('still waiting'), 800))]);
    // This is why sdkClientConfig sets throwOnRequestTimeout, a socket timeout and an abort signal.
    expect(settled).toBe('still waiting');
    expect(warnings.join('\n')).toMatch(/exceeded the configured 150 ms requestTimeout/);
    client.destroy();
  });
});

describe('each guard ends a hanging call on its own', () => {
  const budget: CallBudget = { attemptTimeoutMs: 200, attempts: 2, callTimeoutMs: 5000 };

  it('guard 1, the HTTP handler: each attempt throws after attemptTimeoutMs, then the attempts run out', async () => {
    const client = new DynamoDBClient({ ...local, endpoint: hole.url, ...sdkClientConfig(budget) });
    const { ms, error } = await timed(client.send(put()));
    expect(error.name).toBe('TimeoutError');
    expect(hole.accepted()).toBe(2); // the attempt budget: two connections, no more
    expect(ms).toBeLessThan(2000);
    await hole.drained();
  });

  it('guard 2, the abort signal: a client without any timeout is stopped at the call budget', async () => {
    const client = boundToDeadline(new DynamoDBClient({ ...local, endpoint: hole.url, maxAttempts: 3 }), 'DynamoDB', { attemptTimeoutMs: 0, attempts: 3, callTimeoutMs: 300 });
    const { ms, error } = await timed(client.send(put()));
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error.message).toBe('DynamoDB PutItem: no answer within 300 ms');
    expect(ms).toBeLessThan(1500);
    expect(hole.accepted()).toBe(1); // an aborted call is not retried
    await hole.drained();
  });

  it("guard 2 follows the request's deadline when it is nearer than the call budget", async () => {
    const client = boundToDeadline(new DynamoDBClient({ ...local, endpoint: hole.url }), 'DynamoDB', { attemptTimeoutMs: 0, attempts: 1, callTimeoutMs: 10_000 });
    const deadline = new Deadline(Date.now() + 250);
    const { ms, error } = await timed(runWithDeadline(deadline, () => client.send(put())));
    expect(error.message).toMatch(/^DynamoDB PutItem: no answer within 2\d\d ms \(the request's deadline\)$/);
    expect(ms).toBeLessThan(1500);
    await hole.drained();
  });

  it('a call started after the deadline passed is not sent at all', async () => {
    const client = createDynamoClient(hole.url, CALL_BUDGETS.dynamodb);
    const deadline = new Deadline(Date.now() - 1);
    const { error } = await timed(runWithDeadline(deadline, () => client.send(put())));
    expect(error.name).toBe('TimeoutError');
    expect(hole.accepted()).toBe(0);
  });
});

describe('the budgets the functions use', () => {
  it('DynamoDB (createDynamoClient): two attempts, ended within the 600 ms call budget', async () => {
    const { ms, error } = await timed(createDynamoClient(hole.url, CALL_BUDGETS.dynamodb).send(put()));
    expect(error.name).toBe('TimeoutError');
    expect(hole.accepted()).toBeLessThanOrEqual(CALL_BUDGETS.dynamodb.attempts);
    expect(ms).toBeLessThan(CALL_BUDGETS.dynamodb.callTimeoutMs + 800);
    await hole.drained();
  });

  it('SQS (the dead-letter sink): ended within its call budget', () =>
    withEndpoint('AWS_ENDPOINT_URL_SQS', hole.url, async () => {
      const sink = new SqsDeadLetterSink(`${hole.url}/123456789012/dlq`);
      const { ms, error } = await timed(
        sink.send({ version: 1, id: 'm1', kind: 'click', reason: 'storage_error', detail: 'test', receivedAt: '2026-11-25T10:00:00.000Z', request: { method: 'GET', path: '/click/demo', query: '', body: '', headers: {} } }),
      );
      expect(error.name).toBe('TimeoutError');
      expect(error.message).toMatch(/^SQS SendMessage: no answer within/);
      expect(hole.accepted()).toBeGreaterThanOrEqual(1);
      expect(hole.accepted()).toBeLessThanOrEqual(CALL_BUDGETS.sqs.attempts);
      expect(ms).toBeLessThan(CALL_BUDGETS.sqs.callTimeoutMs + 800);
      await hole.drained();
    }));

  it.each([
    ['Secrets Manager', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', { secretsManager: 'clickvault/ipn' }],
    ['SSM', 'AWS_ENDPOINT_URL_SSM', { ssmParameter: '/clickvault/ipn' }],
  ])('%s (the secret reader): ended within its call budget', (service, variable, ref) =>
    withEndpoint(variable, hole.url, async () => {
      const { ms, error } = await timed(new CachedSecretReader('aws').read(ref));
      expect(error.message).toMatch(new RegExp(`^${service} Get(SecretValue|Parameter): no answer within`));
      expect(hole.accepted()).toBeGreaterThanOrEqual(1);
      expect(ms).toBeLessThan(CALL_BUDGETS.secrets.callTimeoutMs + 800);
      await hole.drained();
    }));
});
