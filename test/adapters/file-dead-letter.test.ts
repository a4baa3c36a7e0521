import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDeadLetterQueue } from '../../lambda/adapters/file-dead-letter';
import { mintId } from '../../lambda/core/ids';
import type { DeadLetterMessage } from '../../lambda/core/model';

const message = (time: number, reason: DeadLetterMessage['reason']): DeadLetterMessage => ({
  version: 1,
  id: mintId(time),
  kind: 'postback',
  reason,
  detail: reason,
  receivedAt: new Date(time).toISOString(),
  request: { method: 'GET', path: '/postback', query: 'clickid=A&type=x', body: '', headers: {} },
});

describe('FileDeadLetterQueue', () => {
  it('keeps messages as files, lists them in arrival order, deletes by id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-dlq-'));
    const queue = new FileDeadLetterQueue(dir);
    expect(await queue.list()).toEqual([]);
    const later = message(2000, 'unknown_type');
    const earlier = message(1000, 'unknown_click');
    await queue.send(later);
    await queue.send(earlier);
    expect(await queue.list()).toEqual([earlier, later]);
    expect(readdirSync(queue.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await queue.delete(earlier.id);
    expect(await queue.list()).toEqual([later]);
    await expect(queue.delete('../../etc/passwd')).rejects.toThrow('not a message id');
  });

  it('never overwrites a message', async () => {
    const queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'cv-dlq-')));
    const m = message(1000, 'unknown_type');
    await queue.send(m);
    await expect(queue.send({ ...m, detail: 'other' })).rejects.toThrow();
    expect((await queue.list())[0]?.detail).toBe('unknown_type');
  });
});
