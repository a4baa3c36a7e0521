import { link, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeadLetterMessage, DeadLetterQueue, ReceivedMessage } from '../core/model';

/**
 * The dead-letter queue of the local run: one JSON file per message under
 * `<dataDir>/dead-letters/`, written atomically (temp file + hard link, never overwriting), named by message id so
 * a listing is in arrival order.
 */
export class FileDeadLetterQueue implements DeadLetterQueue {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'dead-letters');
  }

  async send(message: DeadLetterMessage): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${message.id}.json`);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(message, null, 2)}\n`, { flag: 'wx' });
    try {
      // link, not rename: it publishes the complete file atomically and fails if the id exists.
      await link(temp, file);
    } finally {
      await unlink(temp);
    }
  }

  async list(): Promise<DeadLetterMessage[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const messages: DeadLetterMessage[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      messages.push(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as DeadLetterMessage);
    }
    return messages;
  }

  private file(id: string): string {
    if (!/^[0-9A-Z]{26}$/.test(id)) throw new Error(`not a message id: ${id}`);
    return join(this.dir, `${id}.json`);
  }

  async delete(id: string): Promise<void> {
    await rm(this.file(id), { force: true });
  }

  async receive(limit: number): Promise<ReceivedMessage[]> {
    return (await this.list()).slice(0, limit).map((message) => ({ handle: message.id, message }));
  }

  remove(handle: string): Promise<void> {
    return this.delete(handle);
  }

  async replace(handle: string, updated: DeadLetterMessage): Promise<void> {
    const file = this.file(handle);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify({ ...updated, id: handle }, null, 2)}\n`, { flag: 'wx' });
    await rename(temp, file);
  }

  async release(): Promise<void> {
    // Files stay where they are until removed.
  }
}
