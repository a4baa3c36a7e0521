/**
 * The clicks-stream marker against a real DynamoDB API (dynalite): a change of a click after its
 * hour closed marks the hour only when it was a lander click; the removal of a sealed address
 * once the sends are done (the other change a stored click sees) marks nothing, so a sale sent
 * to a conversion API does not make the upkeep recompute its click's hour.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoClickStore, clickKey } from '../../lambda/adapters/dynamodb-store';
import { DynamoRollupStore } from '../../lambda/adapters/rollup-store';
import { mintClickId } from '../../lambda/core/ids';
import { closesAt, markSortKey } from '../../lambda/core/rollup-marks';
import { createMarkerHandler } from '../../lambda/handlers/rollup-marker';
import { freshTables } from '../support/dynamo';

const HOUR = 3600_000;
const context = { getRemainingTimeInMillis: () => 30_000 };

function modify(clickId: string, at: number): DynamoDBStreamEvent {
  return {
    Records: [
      {
        eventName: 'MODIFY',
        dynamodb: { Keys: { pk: { S: 'x' }, clickId: { S: clickId } }, ApproximateCreationDateTime: Math.floor(at / 1000) },
      },
    ],
  } as DynamoDBStreamEvent;
}

describe('rollup marker', () => {
  let env: Awaited<ReturnType<typeof freshTables>>;
  let marker: ReturnType<typeof createMarkerHandler>;
  let rollups: DynamoRollupStore;
  const hour = Math.floor((Date.now() - 5 * HOUR) / HOUR) * HOUR;
  const made = hour + 10 * 60_000;
  const late = closesAt(hour) + 60_000;

  beforeAll(async () => {
    env = await freshTables();
    marker = createMarkerHandler({ client: env.client, rollupsTable: env.tables.rollups, clicksTable: env.tables.clicks });
    rollups = new DynamoRollupStore(env.client, env.tables.rollups);
  });

  async function storeClick(campaignId: string, random: number): Promise<string> {
    const clickId = mintClickId(campaignId, made, Buffer.alloc(10, random));
    const store = new DynamoClickStore(env.client, env.tables.clicks);
    const result = await store.putClick({ clickId, campaignId, offerId: 'ds24', channelId: 'facebook', createdAt: new Date(made).toISOString(), expiresAt: Math.floor(made / 1000) + 90 * 86400, subs: {}, sealedIp: 'sealed' });
    expect(result).toBe('stored');
    return clickId;
  }
  const setLanderClick = (clickId: string, at: number) =>
    env.client.send(new UpdateItemCommand({ TableName: env.tables.clicks, Key: clickKey(clickId), UpdateExpression: 'SET lpClickAt = :t', ExpressionAttributeValues: { ':t': { S: new Date(at).toISOString() } } }));
  const dropSealedIp = (clickId: string) =>
    env.client.send(new UpdateItemCommand({ TableName: env.tables.clicks, Key: clickKey(clickId), UpdateExpression: 'REMOVE sealedIp' }));
  const marked = async () => (await rollups.marks()).map((m) => markSortKey(m));

  it('marks nothing for a sealed address removed after the hour closed', async () => {
    const clickId = await storeClick('sealed-only', 1);
    await dropSealedIp(clickId);
    expect(await marker(modify(clickId, late), context)).toEqual({ marked: 0 });
    expect(await marked()).toEqual([]);
  });

  it('marks nothing for a lander click made before the hour closed, whenever its record is read', async () => {
    const clickId = await storeClick('early-lander', 2);
    await setLanderClick(clickId, hour + 30 * 60_000);
    await dropSealedIp(clickId);
    expect(await marker(modify(clickId, late), context)).toEqual({ marked: 0 });
  });

  it('marks the hour of a lander click made after the hour closed (and of nothing else)', async () => {
    const clickId = await storeClick('late-lander', 3);
    await setLanderClick(clickId, late);
    expect(await marker(modify(clickId, late), context)).toEqual({ marked: 1 });
    expect(await marked()).toEqual([markSortKey({ kind: 'clicks', code: clickId.slice(26), hour })]);
  });

  it('marks nothing for a change before the hour closed (the hour is read when it closes)', async () => {
    const clickId = await storeClick('open-hour', 4);
    await setLanderClick(clickId, closesAt(hour) - 60_000);
    expect(await marker(modify(clickId, closesAt(hour) - 60_000), context)).toEqual({ marked: 0 });
  });
});
