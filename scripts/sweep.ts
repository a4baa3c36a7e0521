/**
 * `npm run sweep -- [--local] [--min-click-age 6h] [--limit N] [--json] [--stack NAME]`
 *
 * Runs the sender's sweep now, as the hourly schedule does in AWS: uploads the Google Ads
 * conversions that are due (their click at least `--min-click-age` old, default 6h; `0` takes
 * every one, for tests), and sends any Meta, TikTok or postback send whose job was lost. Prints
 * what became of each, and what finding them read.
 */
import './cli-setup';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load';
import { CachedSecretReader } from '../lambda/adapters/secrets';
import { DynamoIpKeyStore } from '../lambda/adapters/ip-keys';
import { maintainIpKeys } from '../lambda/core/sealed-ip';
import { configSends, sweep } from '../lambda/core/send';
import { terminalJson, terminalSafe } from '../lambda/core/terminal-safe';
import { sendDeps } from '../lambda/handlers/runtime';
import { CLI_NEEDS, DEFAULT_STACK, openTracker } from './tracker-context';

const USAGE = `Usage: npm run sweep -- [--local] [--min-click-age 6h] [--limit N] [--json] [--stack NAME]
  --local              the local tracker's data (npm start), tokens from the environment
  --min-click-age AGE  Google Ads: only clicks at least this old (default 6h; 0 = all; units s, m, h, d)
  --limit N            at most N conversions per target (default 10000)
  --json               the summary and every send as JSON
  --stack NAME         the deployed stack (default ${DEFAULT_STACK}); tokens from Secrets Manager / SSM`;

/** `6h`, `30m`, `90s`, `1d`, `0` -> milliseconds. */
export function parseAge(text: string): number {
  if (text.trim() === '0') return 0;
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`--min-click-age takes a number with a unit (s, m, h, d) such as 6h, or 0; got "${text}"`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      local: { type: 'boolean' },
      'min-click-age': { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      stack: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const minClickAgeMs = values['min-click-age'] === undefined ? undefined : parseAge(values['min-click-age']);
  const limit = values.limit === undefined ? 10_000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a whole number >= 1, got "${values.limit}"`);
  const config = loadConfig();
  if (!configSends(config)) {
    process.stdout.write('Nothing to sweep: the config has no conversionApi and no postbackUrl with a type to forward.\n');
    return;
  }
  const local = values.local === true;
  // Sending reads and updates conversions, reads clicks (and removes their sealed address), opens
  // addresses with the day keys, and queues what runs out of retries for redrive.
  const tracker = await openTracker({ local, ...(values.stack ? { stack: values.stack } : {}) }, CLI_NEEDS.sweep);
  try {
    const deps = sendDeps(config, { client: tracker.client, tables: tracker.tables, secrets: new CachedSecretReader(local ? 'local' : 'aws'), deadLetters: () => tracker.queue });
    await maintainIpKeys(new DynamoIpKeyStore(tracker.client, tracker.tables.ipKeys), new Date());
    const summary = await sweep(deps, { ...(minClickAgeMs !== undefined ? { minClickAgeMs } : {}), limit });
    const read = deps.state.stats;
    if (values.json) {
      process.stdout.write(`${terminalJson({ targets: summary.targets, sends: summary.results, read })}\n`);
      return;
    }
    for (const r of summary.results) {
      process.stderr.write(`${terminalSafe(r.clickId)} ${terminalSafe(r.conversionKey)} -> ${r.to ?? '-'}: ${r.outcome}${r.detail ? ` (${terminalSafe(r.detail)})` : ''}\n`);
    }
    const lines = Object.entries(summary.targets).map(([to, counts]) => `  ${to}: ${Object.entries(counts ?? {}).map(([o, n]) => `${o} ${n}`).join(', ')}`);
    process.stdout.write(
      [
        summary.results.length === 0 ? 'Nothing was due.' : `${summary.results.length} send(s):`,
        ...lines,
        `Finding them read ${read.items} index item(s) in ${read.queries} query(ies): ${read.capacityUnits} read unit(s).`,
      ].join('\n') + '\n',
    );
  } finally {
    await tracker.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`sweep: ${terminalSafe((err as Error).message)}\n`);
    process.exit(1);
  });
}
