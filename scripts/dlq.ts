/** `npm run dlq -- --local [--json]`: what waits in the dead-letter queue, and why. */
import { parseArgs } from 'node:util';
import { FileDeadLetterQueue } from '../lambda/adapters/file-dead-letter';
import type { DeadLetterMessage } from '../lambda/core/model';
import { dataDir } from './local-store';

function table(messages: DeadLetterMessage[]): string {
  if (messages.length === 0) return 'The dead-letter queue is empty.';
  const rows = messages.map((m) => [m.receivedAt, m.kind, m.reason, m.clickId ?? '-', m.detail]);
  const header = ['received', 'kind', 'reason', 'click id', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [fmt(header), ...rows.map(fmt), '', `${messages.length} message(s) queued.`].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { local: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write('Usage: npm run dlq -- --local [--json]\n');
    return;
  }
  if (!values.local) {
    throw new Error('Listing reads the local queue for now: add --local. The SQS queue in AWS is read by the redrive tool (issue 4).');
  }
  const messages = await new FileDeadLetterQueue(dataDir()).list();
  process.stdout.write(values.json ? `${JSON.stringify(messages, null, 2)}\n` : `${table(messages)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`dlq: ${(err as Error).message}\n`);
  process.exit(1);
});
