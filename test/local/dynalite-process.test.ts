/**
 * `npm start`'s store in a child process (lambda/local/dynalite.ts ownProcess): it answers, the
 * owner file names the tracker, and when the tracker dies — even by SIGKILL, with no chance to
 * close anything — the child goes too, so no orphan keeps the data directory's LevelDB lock.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { DataDirInUse, dataDirOwner, ownerFile, startDynalite } from '../../lambda/local/dynalite';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe('the embedded store in its own process', () => {
  it('answers, names this process as the owner, and refuses a second opener', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cv-dyn-proc-')), 'dynamodb');
    const store = await startDynalite({ path, ownProcess: true });
    try {
      const client = createDynamoClient(store.endpoint);
      expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      client.destroy();
      expect(dataDirOwner(path)).toMatchObject({ pid: process.pid, port: store.port });
      await expect(startDynalite({ path })).rejects.toBeInstanceOf(DataDirInUse);
    } finally {
      await store.close();
    }
    expect(existsSync(ownerFile(path))).toBe(false);
    // Closed cleanly: the files open again.
    const again = await startDynalite({ path });
    await again.close();
  });

  it('ends with a tracker that is killed outright, releasing the data directory', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cv-dyn-orphan-')), 'dynamodb');
    const code = `import(${JSON.stringify(join(__dirname, '../../lambda/local/dynalite.ts'))}).then((m) => (m.startDynalite ?? m.default.startDynalite)({ path: ${JSON.stringify(path)}, ownProcess: true })).then((d) => console.log(d.port))`;
    const tracker = spawn(process.execPath, ['--import', 'tsx', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      tracker.once('exit', (c) => reject(new Error(`exited with ${c}`)));
      tracker.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    });
    expect(port).toBeGreaterThan(0);
    expect(dataDirOwner(path)?.pid).toBe(tracker.pid);
    tracker.kill('SIGKILL');
    // The child saw its channel close and went: the lock is free again.
    const freed = await until(async () => {
      try {
        const store = await startDynalite({ path });
        await store.close();
        return true;
      } catch (err) {
        if (err instanceof DataDirInUse) return false;
        throw err;
      }
    }, 15_000);
    expect(freed).toBe(true);
    expect(alive(tracker.pid ?? 0)).toBe(false);
  }, 30_000);
});
