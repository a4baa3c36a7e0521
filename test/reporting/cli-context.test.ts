/**
 * What the operator CLIs look up against a deployed stack: each only what it reads, so e.g.
 * `report` runs with its three table variables and no queue URL, and a stack output is read only
 * when a variable is missing.
 */
import { openTracker, resolveNeeds, TRACKER_SOURCES } from '../../scripts/tracker-context';

const noStack = async (): Promise<Record<string, string>> => {
  throw new Error('the stack was asked although every variable was set');
};

describe('resolveNeeds', () => {
  it('takes the variables and never asks the stack when they are all set', async () => {
    const env = { CLICKS_TABLE: 'c', CONVERSIONS_TABLE: 'v', CATALOG_TABLE: 'k' };
    expect(await resolveNeeds(['clicks', 'conversions', 'catalog'], {}, env, noStack)).toEqual({ clicks: 'c', conversions: 'v', catalog: 'k' });
  });

  it('reads the stack outputs for what is missing, and names the variable when neither has it', async () => {
    const asked: string[] = [];
    const outputs = async (stack: string) => {
      asked.push(stack);
      return { DeadLetterArchiveTableName: 'archive-from-stack' };
    };
    expect(await resolveNeeds(['queue', 'deadLetterArchive'], { stack: 'Mine' }, { DEAD_LETTER_QUEUE_URL: 'https://q' }, outputs)).toEqual({
      queue: 'https://q',
      deadLetterArchive: 'archive-from-stack',
    });
    expect(asked).toEqual(['Mine']);
    await expect(resolveNeeds(['deadLetterLedger'], {}, {}, async () => ({}))).rejects.toThrow(
      'cannot find DeadLetterLedgerTableName: the stack Clickvault has no such output and DEAD_LETTER_LEDGER_TABLE is not set',
    );
  });

  it('knows a variable and an output for every table and the queue', () => {
    expect(Object.keys(TRACKER_SOURCES).sort()).toEqual(['catalog', 'clicks', 'conversionTypes', 'conversions', 'deadLetterArchive', 'deadLetterLedger', 'inbound', 'ipKeys', 'queue', 'rollups']);
  });
});

describe('openTracker against a stack', () => {
  it('opens what a report reads without a queue URL, and refuses to use what it did not look up', async () => {
    const env = { CLICKS_TABLE: 'c', CONVERSIONS_TABLE: 'v', CATALOG_TABLE: 'k' };
    const tracker = await openTracker({ local: false }, ['clicks', 'conversions', 'catalog'], env);
    try {
      expect([tracker.tables.clicks, tracker.tables.conversions, tracker.tables.catalog]).toEqual(['c', 'v', 'k']);
      // The types already refuse these; at run time (a cast, a JS caller) each is an error naming it.
      const untyped = tracker as unknown as { tables: Record<string, string>; queue: unknown; archive: unknown };
      expect(() => untyped.tables.inbound).toThrow('this command did not look up InboundTableName (INBOUND_TABLE)');
      expect(() => untyped.queue).toThrow('this command did not look up DeadLetterQueueUrl (DEAD_LETTER_QUEUE_URL)');
      expect(() => untyped.archive).toThrow('DeadLetterArchiveTableName');
    } finally {
      await tracker.close();
    }
  });
});
