/**
 * `npm run trace -- <clickid> [--local] [--json]`: the whole story of one click.
 * `npm run trace -- --recent 50 [--local] [--json]`: the latest inbound postbacks and outcomes.
 */
import './cli-setup';
import { parseArgs } from 'node:util';
import { readTrace, recentInbound } from '../lambda/adapters/trace-source';
import { terminalJson, terminalSafe } from '../lambda/core/terminal-safe';
import { formatRecent, formatTrace } from '../lambda/core/trace';
import { CLI_NEEDS, DEFAULT_STACK, neededVariables, openTracker } from './tracker-context';

const USAGE = `Usage: npm run trace -- <clickid> [--local] [--json] [--stack NAME]
       npm run trace -- --recent N [--local] [--json] [--stack NAME]
In AWS the tables and the queue come from the stack's outputs (--stack, default ${DEFAULT_STACK}),
unless ${neededVariables(CLI_NEEDS.trace).join(', ')} are set
(--recent: ${neededVariables(CLI_NEEDS.traceRecent).join(', ')}).`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { local: { type: 'boolean' }, json: { type: 'boolean' }, recent: { type: 'string' }, stack: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help || (positionals.length === 0 && values.recent === undefined)) {
    process.stdout.write(`${USAGE}\n`);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const options = { local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) };
  if (values.recent !== undefined) {
    const count = Number(values.recent);
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw new Error(`--recent takes a number from 1 to 1000, got "${values.recent}"`);
    // --recent reads the inbound log only (CLI_NEEDS.traceRecent).
    const tracker = await openTracker(options, CLI_NEEDS.traceRecent);
    try {
      const entries = await recentInbound(tracker.client, tracker.tables.inbound, count, new Date());
      process.stdout.write(values.json ? `${terminalJson(entries)}\n` : `${formatRecent(entries)}\n`);
    } finally {
      await tracker.close();
    }
    return;
  }
  const clickId = positionals[0] ?? '';
  if (!/^[A-Za-z0-9._,~-]{1,64}$/.test(clickId)) throw new Error(`"${terminalSafe(clickId.slice(0, 64))}" is not a click id`);
  // A click's story: its click, inbound requests, conversions and the dead letters (queue and
  // archive) that name it (CLI_NEEDS.trace).
  const tracker = await openTracker(options, CLI_NEEDS.trace);
  try {
    const trace = await readTrace(tracker.client, tracker.tables, tracker.queue, tracker.archive, clickId);
    process.stdout.write(values.json ? `${terminalJson(trace)}\n` : `${formatTrace(trace)}\n`);
  } finally {
    await tracker.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`trace: ${(err as Error).message}\n`);
  process.exit(1);
});
