/**
 * `npm run dlq -- [--local] [--json] [--limit N] [--stack NAME]`: what waits in the dead-letter
 * queue, and why. In AWS the messages are read and released at once (they stay queued).
 */
import './cli-setup';
import { parseArgs } from 'node:util';
import type { DeadLetterMessage } from '../lambda/core/model';
import { terminalJson, terminalSafe } from '../lambda/core/terminal-safe';
import { openQueue } from './tracker-context';

/** The table `npm run dlq` prints; every cell is terminal-safe (details quote requests). */
export function table(messages: DeadLetterMessage[]): string {
  if (messages.length === 0) return 'The dead-letter queue is empty.';
  const rows = messages.map((m) => [m.receivedAt, m.kind, m.reason, m.clickId ?? '-', String(m.attempts ?? 0), m.detail].map(terminalSafe));
  const header = ['received', 'kind', 'reason', 'click id', 'replays', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [fmt(header), ...rows.map(fmt), '', `${messages.length} message(s) queued.`].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { local: { type: 'boolean' }, json: { type: 'boolean' }, limit: { type: 'string' }, stack: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write('Usage: npm run dlq -- [--local] [--json] [--limit N] [--stack NAME]\n');
    return;
  }
  const limit = values.limit === undefined ? 1000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a whole number >= 1, got "${values.limit}"`);
  const { queue } = await openQueue({ local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) });
  const received = await queue.receive(limit);
  await Promise.all(received.map((r) => queue.release(r.handle)));
  const messages = received.map((r) => r.message);
  process.stdout.write(values.json ? `${terminalJson(messages)}\n` : `${table(messages)}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`dlq: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
