/** `npm run report -- --local [--json]`: clicks, conversions per type and revenue per campaign. */
import { parseArgs } from 'node:util';
import { collect, reportClicks, reportConversions } from '../lambda/adapters/report-source';
import { campaignReport, formatCampaignTable } from '../lambda/core/report';
import { openLocalStore } from './local-store';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { local: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write('Usage: npm run report -- --local [--json]\n');
    return;
  }
  if (!values.local) {
    throw new Error('Reports read the local tracker for now: add --local. Reporting against the deployed stack is tracked in issue 5.');
  }
  const store = await openLocalStore();
  try {
    const [clicks, conversions] = await Promise.all([
      collect(reportClicks(store.client, store.tables.clicks)),
      collect(reportConversions(store.client, store.tables.conversions)),
    ]);
    const rows = campaignReport(clicks, conversions);
    process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatCampaignTable(rows)}\n`);
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`report: ${(err as Error).message}\n`);
  process.exit(1);
});
