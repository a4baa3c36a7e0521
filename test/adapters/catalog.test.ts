/** The catalog on dynalite: campaigns retired once, restored when they return, retention history. */
import { readCatalog, syncCatalog } from '../../lambda/adapters/catalog';
import { freshTables, testEndpoint } from '../support/dynamo';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';

const at = (iso: string) => new Date(iso);

it('keeps the first retirement time, clears it when the campaign returns, and keeps every retention', async () => {
  const { client, tables } = await freshTables();
  const demo = { id: 'demo', name: 'Demo' };
  const old = { id: 'old', name: 'Old' };
  expect(await syncCatalog(client, tables.catalog, { campaigns: [demo, old], clickRetentionDays: 90 }, at('2026-01-01T00:00:00Z'))).toMatchObject({ added: ['demo', 'old'], retention: 'recorded' });
  expect(await syncCatalog(client, tables.catalog, { campaigns: [demo], clickRetentionDays: 90 }, at('2026-02-01T00:00:00Z'))).toMatchObject({ retired: ['old'], retention: 'unchanged' });
  // A later deploy without it does not move the retirement time.
  expect(await syncCatalog(client, tables.catalog, { campaigns: [demo], clickRetentionDays: 30 }, at('2026-03-01T00:00:00Z'))).toMatchObject({ retired: [], retention: 'changed' });
  expect((await readCatalog(client, tables.catalog))?.campaigns).toEqual([
    { id: 'demo', name: 'Demo', firstDeployedAt: '2026-01-01T00:00:00.000Z' },
    { id: 'old', name: 'Old', firstDeployedAt: '2026-01-01T00:00:00.000Z', retiredAt: '2026-02-01T00:00:00.000Z' },
  ]);
  expect(await syncCatalog(client, tables.catalog, { campaigns: [demo, old], clickRetentionDays: 365 }, at('2026-04-01T00:00:00Z'))).toMatchObject({ restored: ['old'] });
  const catalog = await readCatalog(client, tables.catalog);
  expect(catalog?.campaigns.find((c) => c.id === 'old')).toEqual({ id: 'old', name: 'Old', firstDeployedAt: '2026-01-01T00:00:00.000Z' });
  expect(catalog?.retention).toEqual([
    { days: 90, since: '2026-01-01T00:00:00.000Z' },
    { days: 30, since: '2026-03-01T00:00:00.000Z' },
    { days: 365, since: '2026-04-01T00:00:00.000Z' },
  ]);
});

it('reads as absent where the table does not exist yet (a data directory from before the catalog)', async () => {
  expect(await readCatalog(createDynamoClient(testEndpoint()), 'no-such-catalog')).toBeUndefined();
});
