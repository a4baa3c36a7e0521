/**
 * `npm run dlq -- [--local] [--json] [--limit N] [--stack NAME]`: what waits in the dead-letter
 * queue and its archive (messages older than 10 days), and why. In AWS the queue's messages are
 * read and released at once (they stay queued). Copies of one message (an update interrupted
 * before its old copy was deleted) are shown once: the newest.
 */
import './cli-setup';
import { parseArgs } from 'node:util';
import type { DeadLetterMessage, DeadLetterPlace } from '../lambda/core/model';
import { terminalJson, terminalSafe } from '../lambda/core/terminal-safe';
import { traceSafeMessage } from '../lambda/core/trace';
import { CLI_NEEDS, DEFAULT_STACK, neededVariables, openTracker } from './tracker-context';

import { collapseCopies } from '../lambda/core/dead-letter-list';
export { collapseCopies, type ListedMessage } from '../lambda/core/dead-letter-list';

/** The table `npm run dlq` prints; every cell is terminal-safe (details quote requests). A message without `place` is in the queue. */
export function table(messages: readonly (DeadLetterMessage & { place?: DeadLetterPlace })[]): string {
  if (messages.length === 0) return 'The dead-letter queue and its archive are empty.';
  const rows = messages.map((m) => [m.receivedAt, m.place ?? 'queue', m.kind, m.reason, m.clickId ?? '-', String(m.attempts ?? 0), m.detail].map(terminalSafe));
  const header = ['received', 'where', 'kind', 'reason', 'click id', 'replays', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  const archived = messages.filter((m) => m.place === 'archive').length;
  return [fmt(header), ...rows.map(fmt), '', `${messages.length} message(s) waiting${archived > 0 ? `, ${archived} of them in the archive` : ''}.`].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { local: { type: 'boolean' }, json: { type: 'boolean' }, limit: { type: 'string' }, stack: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run dlq -- [--local] [--json] [--limit N] [--stack NAME]\n' +
        `In AWS the queue and the archive come from the stack's outputs (--stack, default ${DEFAULT_STACK}),\n` +
        `unless ${neededVariables(CLI_NEEDS.dlq).join(', ')} are set.\n`,
    );
    return;
  }
  const limit = values.limit === undefined ? 1000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a whole number >= 1, got "${values.limit}"`);
  // The queue and its archive, nothing else (CLI_NEEDS.dlq).
  const context = await openTracker({ local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) }, CLI_NEEDS.dlq);
  try {
    const received = await context.queue.receive(limit);
    await Promise.all(received.map((r) => context.queue.release(r.handle)));
    const archived = received.length < limit ? await context.archive.receive(limit - received.length) : [];
    const messages = collapseCopies([...received, ...archived]);
    process.stdout.write(values.json ? `${terminalJson(messages.map(traceSafeMessage))}\n` : `${table(messages)}\n`);
  } finally {
    await context.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`dlq: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
