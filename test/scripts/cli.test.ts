/**
 * The command-line tools as a user runs them — `tsx scripts/<command>.ts` in a fresh process,
 * on a temporary data directory, with an environment of its own (not jest's): the output is the
 * command's own, errors still show, each command reads only what it uses, and a `--local`
 * command pointed at the wrong DYNAMODB_PORT while `npm start` holds the data says what to do.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CALL_BUDGETS } from '../../lambda/adapters/aws-clients';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { ENV, TABLE_ENV } from '../../lambda/contract';
import { startDynalite } from '../../lambda/local/dynalite';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { ensureTables, localTableNames } from '../../lambda/local/tables';
import { CLI_COMMANDS, CLI_NEEDS, type CliName, neededVariables } from '../../scripts/tracker-context';
import { testConfig } from '../support/config';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cv-cli-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Runs a command as `npm run <command> -- args` would, with only the given environment. */
function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), join(ROOT, 'scripts', `${command}.ts`), ...args], {
      cwd: ROOT,
      env: { PATH: String(process.env.PATH), HOME: String(process.env.HOME ?? tmpdir()), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a --local command on a data directory no tracker is running on', () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    const dataDir = tempDir();
    const dynamo = await startDynalite({ port: 0, path: join(dataDir, 'dynamodb') });
    const client = createDynamoClient(dynamo.endpoint, CALL_BUDGETS.embedded);
    await ensureTables(client, localTableNames());
    client.destroy();
    await dynamo.close();
    env = { TRACKER_DATA_DIR: dataDir, DYNAMODB_PORT: String(await freePort()) };
  });

  it.each([
    ['report', ['--local', '--json']],
    ['trace', ['--recent', '5', '--local']],
    ['redrive', ['--local', '--dry-run']],
    ['dlq', ['--local']],
  ])('%s prints its own output and nothing else (no AWS SDK Node.js version notice)', async (command, args) => {
    const { code, stdout, stderr } = await run(command, args, env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.length).toBeGreaterThan(0);
  });

  it('still shows errors, on stderr, with a failing exit code', async () => {
    const { code, stdout, stderr } = await run('report', ['--local', '--tz', 'Nowhere/Else'], env);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('report: --tz: "Nowhere/Else" is not a time zone (e.g. UTC, Europe/Berlin, America/New_York)\n');
  });
});

describe('while npm start holds the data directory', () => {
  let tracker: LocalTracker;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = tempDir();
    tracker = await startLocalTracker({ config: testConfig(), dataDir, port: 0, dynamoPort: 0 });
  });
  afterAll(() => tracker.close());

  it('a --local command on another DYNAMODB_PORT says which port to use, instead of crashing', async () => {
    const wrong = await freePort();
    const { code, stderr } = await run('report', ['--local'], { TRACKER_DATA_DIR: dataDir, DYNAMODB_PORT: String(wrong) });
    expect(code).toBe(1);
    expect(stderr).not.toMatch(/Database is closed/);
    expect(stderr).toBe(
      `report: the local data in ${dataDir} is in use by a running tracker (process ${process.pid}, DynamoDB on port ${tracker.dynamo.port}), ` +
        `and this command looked for it at DYNAMODB_PORT=${wrong}, where nothing answers. ` +
        `Run the command with DYNAMODB_PORT=${tracker.dynamo.port} (the port \`npm start\` printed), or stop that tracker first.\n`,
    );
  });

  it('on the port npm start uses it reads the running tracker', async () => {
    const { code, stderr } = await run('report', ['--local', '--json'], { TRACKER_DATA_DIR: dataDir, DYNAMODB_PORT: String(tracker.dynamo.port) });
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('in AWS mode a report asks for its tables only (clicks, conversions, catalog): no queue, no inbound table, no stack lookup', async () => {
    const tables = localTableNames();
    // Any stack lookup would fail: CloudFormation points at a closed port.
    const cloudFormation = `http://127.0.0.1:${await freePort()}`;
    const base = { DYNAMODB_ENDPOINT: tracker.dynamo.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation };
    const report = await run('report', ['--json'], { ...base, [TABLE_ENV.clicks]: tables.clicks, [TABLE_ENV.conversions]: tables.conversions, [TABLE_ENV.catalog]: tables.catalog });
    expect(report.stderr).toBe('');
    expect(report.code).toBe(0);
    // A trace needs the inbound log and the queue too: without INBOUND_TABLE it goes to the stack.
    const trace = await run('trace', ['--recent', '5', '--json'], {
      ...base,
      [TABLE_ENV.clicks]: tables.clicks,
      [TABLE_ENV.conversions]: tables.conversions,
      [ENV.deadLetterQueueUrl]: 'http://127.0.0.1:9/1/q',
    });
    expect(trace.code).toBe(1);
    expect(trace.stderr).toMatch(/^trace: /m);
  });
});

it("README's table of variables per command is what each command reads", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const [name, needs] of Object.entries(CLI_NEEDS)) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${CLI_COMMANDS[name as CliName]}\` |`));
    expect(row).toBeDefined();
    const variables = [...String(row?.split('|')[3]).matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]);
    expect(variables.sort()).toEqual(neededVariables(needs).sort());
  }
});
