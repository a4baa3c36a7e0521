/**
 * A click's stored conversions, for the rare paths that need them (core/conversion): a Query
 * on the click's partition of the conversions table (page after page, up to `limit` items), projecting only CONVERSION_HISTORY_ATTRIBUTES
 * (the stack grants exactly that), consistent so a refund right after its payment sees it.
 */
import { QueryCommand, type DynamoDBClient, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ConversionHistory, PastConversion } from '../core/model';
import { decimalOf, wrapStoredNumber } from './stored-number';
import { CONVERSION_HISTORY_ATTRIBUTES } from './table-definitions';

const OPTIONAL = ['campaignId', 'offerId', 'landerId', 'channelId', 'channelClickId', 'channelClickIdParam', 'clickCreatedAt', 'country', 'sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const;

export class DynamoConversionHistory implements ConversionHistory {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async conversionsOf(clickId: string, limit: number): Promise<PastConversion[]> {
    const names = Object.fromEntries(CONVERSION_HISTORY_ATTRIBUTES.map((n, i) => [`#a${i}`, n]));
    const items: NonNullable<QueryCommandOutput['Items']> = [];
    let start: QueryCommandOutput['LastEvaluatedKey'];
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: `#a${CONVERSION_HISTORY_ATTRIBUTES.indexOf('clickId')} = :c`,
          // SPECIFIC_ATTRIBUTES with a projection: what the IAM condition on this read requires.
          Select: 'SPECIFIC_ATTRIBUTES',
          ProjectionExpression: Object.keys(names).join(', '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':c': { S: clickId } },
          ConsistentRead: true,
          Limit: limit - items.length,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items.map((raw) => {
      const item = unmarshall(raw, { wrapNumbers: wrapStoredNumber });
      const past: PastConversion = {
        type: String(item.type),
        revenue: decimalOf(item.revenue),
        currency: String(item.currency ?? ''),
        createdAt: String(item.createdAt ?? ''),
      };
      for (const key of OPTIONAL) if (typeof item[key] === 'string') past[key] = item[key];
      // Test orders are stored apart (their index campaign is prefixed, e.g. `~test:<campaign>`):
      // never a campaign to attribute to. Campaign ids never start with `~`.
      if (item.test === true || past.campaignId?.startsWith('~')) {
        past.test = true;
        delete past.campaignId;
      }
      return past;
    });
  }
}
