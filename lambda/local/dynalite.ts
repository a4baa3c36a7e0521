import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
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
export async function startDynalite(options: { port?: number; path?: string } = {}): Promise<EmbeddedDynamo> {
  const path = options.path;
  if (path) {
    mkdirSync(path, { recursive: true });
    if (!(await lockIsFree(path))) throw new DataDirInUse(path, dataDirOwner(path));
  }
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
