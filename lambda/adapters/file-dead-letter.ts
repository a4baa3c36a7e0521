import { link, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeadLetterMessage, DeadLetterQueue, DeadLetterSendResult, ReceivedMessage } from '../core/model';

/**
 * The dead-letter queue of the local run: one JSON file per message under
 * `<dataDir>/dead-letters/`, written atomically (temp file + hard link, never overwriting), named by message id so
 * a listing is in arrival order. One file per id, so there are never two copies of a message;
 * a handle names the revision it was read at, and removing an older revision does nothing.
 */
export class FileDeadLetterQueue implements DeadLetterQueue {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'dead-letters');
  }

  async send(message: DeadLetterMessage): Promise<DeadLetterSendResult> {
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
    return { status: 'queued', messageId: message.id };
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
    const out: ReceivedMessage[] = [];
    for (const message of (await this.list()).slice(0, limit)) {
      // The file's time is when this copy was written: what the archive move counts from.
      const written = await stat(this.file(message.id)).then((st) => st.mtime.toISOString(), () => undefined);
      out.push({ handle: `${message.id}#${message.revision ?? ''}`, message, place: 'queue', ...(written ? { sentAt: written } : {}) });
    }
    return out;
  }

  private async stored(id: string): Promise<DeadLetterMessage | undefined> {
    try {
      return JSON.parse(await readFile(this.file(id), 'utf8')) as DeadLetterMessage;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async stillCurrent(handle: string): Promise<boolean> {
    const [id = '', revision = ''] = handle.split('#');
    const current = await this.stored(id);
    return current !== undefined && (current.revision ?? '') === revision;
  }

  /** Deletes the message if the file still holds the revision the handle was read at. */
  async remove(handle: string): Promise<void> {
    if (await this.stillCurrent(handle)) await this.delete(handle.split('#')[0] ?? '');
  }

  async replace(handle: string, updated: DeadLetterMessage): Promise<void> {
    const [id = ''] = handle.split('#');
    const file = this.file(id);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify({ ...updated, id }, null, 2)}\n`, { flag: 'wx' });
    await rename(temp, file);
  }

  async release(): Promise<void> {
    // Files stay where they are until removed.
  }
}
