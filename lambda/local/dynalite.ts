import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';

export interface EmbeddedDynamo {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** Who has a data directory's DynamoDB open: written beside it while a dynalite serves it. */
export interface DataDirOwner {
  pid: number;
  port: number;
  startedAt: string;
}

/**
 * The DynamoDB files under `path` are open in another process (LevelDB allows one). `owner` is
 * that process when it is a dynalite started here (`npm start`, a `--local` CLI) and still runs.
 */
export class DataDirInUse extends Error {
  constructor(
    readonly path: string,
    readonly owner: DataDirOwner | undefined,
  ) {
    super(
      owner
        ? `${path} is open in process ${owner.pid}, which serves it as DynamoDB on port ${owner.port}`
        : `${path} is open in another process (LevelDB allows one at a time)`,
    );
    this.name = 'DataDirInUse';
  }
}

/** The owner file beside a data directory's DynamoDB files. */
export function ownerFile(path: string): string {
  return `${path}.owner.json`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running process that serves `path`, if one recorded itself and is still alive. */
export function dataDirOwner(path: string): DataDirOwner | undefined {
  let owner: Partial<DataDirOwner>;
  try {
    owner = JSON.parse(readFileSync(ownerFile(path), 'utf8')) as Partial<DataDirOwner>;
  } catch {
    return undefined;
  }
  if (typeof owner.pid !== 'number' || typeof owner.port !== 'number' || typeof owner.startedAt !== 'string') return undefined;
  return alive(owner.pid) ? (owner as DataDirOwner) : undefined;
}

type LevelDb = { open(): Promise<void>; close(): Promise<void> };

/**
 * Whether LevelDB's lock on `path` is free. dynalite opens its database in the background and
 * crashes the process with "Database is closed" on the first request when the lock is taken, so
 * the lock is tried first, with the same LevelDB dynalite uses.
 */
async function lockIsFree(path: string): Promise<boolean> {
  const { Level } = createRequire(require.resolve('dynalite'))('level') as { Level: new (path: string) => LevelDb };
  const db = new Level(path);
  try {
    await db.open();
    return true;
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    if (e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED') return false;
    throw err;
  } finally {
    await db.close().catch(() => undefined);
  }
}

/**
 * Starts dynalite (a real DynamoDB API implemented on LevelDB) on loopback. With `path` the
 * data persists in that directory — refused with DataDirInUse while another process has it
 * open — and the owner file beside it says which process and port serve it; without, it lives
 * in memory (tests).
 */
export async function startDynalite(options: { port?: number; path?: string; ownProcess?: boolean } = {}): Promise<EmbeddedDynamo> {
  const path = options.path;
  if (path) {
    mkdirSync(path, { recursive: true });
    if (!(await lockIsFree(path))) throw new DataDirInUse(path, dataDirOwner(path));
  }
  if (options.ownProcess) return startChild(options.port ?? 0, path);
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  if (path) writeFileSync(ownerFile(path), `${JSON.stringify({ pid: process.pid, port, startedAt: new Date().toISOString() } satisfies DataDirOwner)}\n`);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (path && dataDirOwner(path)?.pid === process.pid) rmSync(ownerFile(path), { force: true });
        server.close(() => resolve());
      }),
  };
}

/** What the child says when it listens, or why it could not. */
type ChildMessage = { port: number } | { error: string };

/**
 * dynalite in a child process (`npm start`): the store's work — request parsing, LevelDB, the
 * answer's JSON — runs on another core than the handlers and the dashboard's API that wait for
 * it. The child ends with its parent (it exits when the IPC channel closes), so no orphan keeps
 * the LevelDB lock; the owner file names this process, which the child ends with.
 */
async function startChild(port: number, path: string | undefined): Promise<EmbeddedDynamo> {
  const child = fork(join(__dirname, 'dynalite-child.cjs'), [], {
    env: { ...process.env, CLICKVAULT_DYNALITE: JSON.stringify({ port, ...(path ? { path } : {}), module: require.resolve('dynalite') }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let listening: number;
  let early: ((code: number | null) => void) | undefined;
  try {
    listening = await new Promise<number>((resolve, reject) => {
      early = (code) => reject(new Error(`the embedded DynamoDB (dynalite) exited with ${code} before it listened`));
      child.once('error', reject);
      child.once('exit', early);
      child.once('message', (m: ChildMessage) => ('port' in m ? resolve(m.port) : reject(new Error(`the embedded DynamoDB (dynalite) could not start: ${m.error}`))));
    });
  } catch (err) {
    child.kill();
    throw err;
  } finally {
    if (early) child.off('exit', early);
  }
  // The owner is this process (the tracker a user would stop); the child ends with it.
  if (path) writeFileSync(ownerFile(path), `${JSON.stringify({ pid: process.pid, port: listening, startedAt: new Date().toISOString() } satisfies DataDirOwner)}\n`);
  return {
    endpoint: `http://127.0.0.1:${listening}`,
    port: listening,
    close: async () => {
      if (path && dataDirOwner(path)?.pid === process.pid) rmSync(ownerFile(path), { force: true });
      // The child closes its server and LevelDB when the channel closes, then exits.
      if (child.connected) child.disconnect();
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
