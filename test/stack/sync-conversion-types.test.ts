/**
 * The deploy-time custom resource handler, on dynalite (a real DynamoDB API): Create and Update
 * make the table equal to the config, an unchanged list writes nothing, Delete touches nothing.
 */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { parseConfig, type ConversionType } from '../../config/schema';
import { CATALOG_TABLE, CONVERSION_TYPES_TABLE, createTableInput } from '../../lambda/adapters/table-definitions';
import { readCatalog } from '../../lambda/adapters/catalog';
import { PROPERTY, createHandler, physicalResourceId } from '../../lambda/handlers/sync-conversion-types';
import { logger } from '../../lambda/logger';
import { countingClient, scanAll } from '../support/dynamo';
import { testConfig } from '../support/config';

const TYPES = testConfig().conversionTypes;

let client: DynamoDBClient;
let calls: string[];
let table: string;

beforeEach(async () => {
  ({ client, calls } = countingClient());
  table = `types-${randomBytes(5).toString('hex')}`;
  await client.send(new CreateTableCommand(createTableInput(CONVERSION_TYPES_TABLE, table)));
  calls.length = 0;
});

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  types: readonly ConversionType[] | string,
  physicalId = physicalResourceId(table),
): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/Clickvault/1',
    RequestId: 'req-1',
    LogicalResourceId: 'ConversionTypesF668120E',
    ResourceType: 'Custom::ClickvaultConversionTypes',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider',
      [PROPERTY.tableName]: table,
      [PROPERTY.types]: typeof types === 'string' ? types : JSON.stringify(types),
    },
  };
  if (requestType === 'Create') return { ...base, RequestType: 'Create' };
  if (requestType === 'Update') return { ...base, RequestType: 'Update', PhysicalResourceId: physicalId, OldResourceProperties: base.ResourceProperties };
  return { ...base, RequestType: 'Delete', PhysicalResourceId: physicalId };
}

const stored = async () => (await scanAll(client, table)).sort((a, b) => String(a.name).localeCompare(String(b.name)));
const asItems = (types: readonly ConversionType[]) =>
  types
    .map((t) => ({ name: t.name, countsAsConversion: t.countsAsConversion, revenue: t.revenue, forwardToChannel: t.forwardToChannel }))
    .sort((a, b) => a.name.localeCompare(b.name));

it('Create writes every type and returns a stable physical id with counts', async () => {
  const handler = createHandler(client, logger);
  const out = await handler(event('Create', TYPES));
  expect(out).toEqual({
    PhysicalResourceId: physicalResourceId(table),
    Data: { Created: String(TYPES.length), Updated: '0', Deleted: '0', Unchanged: '0' },
  });
  expect(await stored()).toEqual(asItems(TYPES));
});

it('Update changes what changed and deletes what the config dropped', async () => {
  const handler = createHandler(client, logger);
  await handler(event('Create', TYPES));
  const [first, second, ...rest] = TYPES;
  const next = [{ ...first!, revenue: 'ignore' as const }, ...rest, parseConfig({ ...testConfig(), conversionTypes: [{ name: 'newtype' }] }).conversionTypes[0]!];
  const out = await handler(event('Update', next));
  expect(out.PhysicalResourceId).toBe(physicalResourceId(table));
  expect(out.Data).toEqual({ Created: '1', Updated: '1', Deleted: '1', Unchanged: String(rest.length) });
  expect(await stored()).toEqual(asItems(next));
  expect((await stored()).some((i) => i.name === second!.name)).toBe(false);
});

it('an Update with the same list writes nothing (reads only)', async () => {
  const handler = createHandler(client, logger);
  await handler(event('Create', TYPES));
  calls.length = 0;
  const out = await handler(event('Update', TYPES));
  expect(out.Data).toMatchObject({ Created: '0', Updated: '0', Deleted: '0' });
  expect(new Set(calls)).toEqual(new Set(['ScanCommand']));
});

it('Delete does nothing: the table is retained with its types', async () => {
  const handler = createHandler(client, logger);
  await handler(event('Create', TYPES));
  calls.length = 0;
  const out = await handler(event('Delete', TYPES, 'some-old-id'));
  expect(out).toEqual({ PhysicalResourceId: 'some-old-id' });
  expect(calls).toEqual([]);
  expect(await stored()).toHaveLength(TYPES.length);
});

it.each([
  ['not JSON', '{nope', /Types is not valid JSON/],
  ['not a type list', JSON.stringify([{ name: 'bad|name' }]), /Types is not a valid conversion type list: \[0\]\.name/],
])('rejects a Types property that is %s, writing nothing', async (_what, types, message) => {
  const handler = createHandler(client, logger);
  await expect(handler(event('Create', types))).rejects.toThrow(message);
  expect(calls).toEqual([]);
});

describe('the catalog (campaigns ever deployed, click retention history)', () => {
  let catalog: string;
  beforeEach(async () => {
    catalog = `catalog-${randomBytes(5).toString('hex')}`;
    await client.send(new CreateTableCommand(createTableInput(CATALOG_TABLE, catalog)));
    calls.length = 0;
  });

  const deploy = (requestType: 'Create' | 'Update', campaigns: { id: string; name: string }[], days: number, extra: Record<string, unknown> = {}) => {
    const e = event(requestType, TYPES);
    Object.assign(e.ResourceProperties, {
      [PROPERTY.catalogTableName]: catalog,
      [PROPERTY.campaigns]: JSON.stringify(campaigns),
      [PROPERTY.clickRetentionDays]: String(days),
      ...extra,
    });
    return createHandler(client, logger)(e);
  };

  it('records the deployed campaigns and retention, marks a removed campaign retired, appends a retention change', async () => {
    const first = await deploy('Create', [{ id: 'demo', name: 'Demo' }, { id: 'old', name: 'Old promo' }], 90);
    expect(first.Data).toMatchObject({ CampaignsAdded: '2', CampaignsRetired: '0', ClickRetention: 'recorded' });
    const second = await deploy('Update', [{ id: 'demo', name: 'Demo' }], 30);
    expect(second.Data).toMatchObject({ CampaignsAdded: '0', CampaignsRetired: '1', ClickRetention: 'changed' });

    const read = await readCatalog(client, catalog);
    expect(read?.campaigns.map((c) => [c.id, c.retiredAt !== undefined])).toEqual([
      ['demo', false],
      ['old', true],
    ]);
    expect(read?.retention.map((e) => e.days)).toEqual([90, 30]);
    const items = await scanAll(client, catalog);
    expect(items.find((i) => i.id === 'clickRetention')).toMatchObject({ kind: 'setting', days: 30, maxDays: 90 });

    // The same config again writes nothing to the catalog.
    calls.length = 0;
    const third = await deploy('Update', [{ id: 'demo', name: 'Demo' }], 30);
    expect(third.Data).toMatchObject({ CampaignsAdded: '0', CampaignsRetired: '0', ClickRetention: 'unchanged' });
    expect(calls.filter((c) => c === 'PutItemCommand')).toEqual([]);
  });

  it('a rollback (the previous deploy\'s properties, without the catalog) still syncs the types', async () => {
    const out = await createHandler(client, logger)(event('Update', TYPES));
    expect(out.Data).toEqual({ Created: String(TYPES.length), Updated: '0', Deleted: '0', Unchanged: '0' });
  });

  it.each([
    ['campaigns that are not JSON', { [PROPERTY.campaigns]: '{nope' }, /Campaigns is not valid JSON/],
    ['a campaign id that is not one', { [PROPERTY.campaigns]: JSON.stringify([{ id: 'a b', name: 'x' }]) }, /campaigns\[0\]\.id/],
    ['a retention that is not a number of days', { [PROPERTY.clickRetentionDays]: 'ninety' }, /clickRetentionDays/],
  ])('rejects %s', async (_what, extra, message) => {
    await expect(deploy('Create', [{ id: 'demo', name: 'Demo' }], 90, extra)).rejects.toThrow(message);
    expect(await scanAll(client, catalog)).toEqual([]);
  });
});
