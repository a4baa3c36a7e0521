/**
 * `npm run redrive -- [--local] [--dry-run] [--limit N] [--reason R] [--stack NAME]`
 *
 * Replays the dead-letter queue and its archive through the same core: a message that now
 * succeeds is deleted, one that still fails stays with one more attempt and its new reason. Two
 * redrives at once (or a redrive beside the archiver) share the work through leases in the
 * dead-letter ledger: no message is replayed twice or left in two copies.
 */
import './cli-setup';
import { parseArgs } from 'node:util';
import type { DeadLetterPlace } from '../lambda/core/model';
import { redrive, type RedriveProgress, type RedriveSummary } from '../lambda/core/replay';
import { terminalJson, terminalSafe } from '../lambda/core/terminal-safe';
import { CLI_NEEDS, DEFAULT_STACK, neededVariables, openTracker, replayDeps } from './tracker-context';

const USAGE = `Usage: npm run redrive -- [--local] [--dry-run] [--limit N] [--reason R] [--discard ID ...] [--stack NAME]
  --local      the local run's queue (.data/dead-letters), archive and tables
  --dry-run    show what would happen; write and delete nothing
  --limit N    replay at most N messages (default 1000)
  --reason R   only messages queued for R (unknown_type, unknown_click, storage_error, forward_failed,
               forward_unknown, invalid_input); without it, all but forward_unknown (a forward
               that got no answer may have arrived: check the channel, then name it)
  --discard ID delete the message with this id (from npm run dlq) instead of replaying it, once
               a person decided it must not be recorded; repeatable; nothing else is touched
               (it is found among the --limit messages read)
  --stack NAME the deployed stack to read outputs from (default ${DEFAULT_STACK}), unless
               ${neededVariables(CLI_NEEDS.redrive).join(', ')} are all set
  --json       print the summary as JSON`;

export function formatSummary(s: RedriveSummary): string {
  const lines = [
    `${s.dryRun ? 'Dry run: ' : ''}${s.received} message(s) read (${s.fromArchive} from the archive), ${s.replayed} ${s.dryRun ? 'would be replayed' : 'replayed'}, ${Object.values(s.stillFailing).reduce((a, b) => a + b, 0)} still failing, ${s.skipped} skipped by --reason.`,
  ];
  if (s.discarded > 0) lines.push(`  ${s.dryRun ? 'would be ' : ''}discarded (--discard): ${s.discarded}`);
  if (s.staleCopies > 0) lines.push(`  older copies of updated messages ${s.dryRun ? 'that would be ' : ''}dropped without a replay: ${s.staleCopies}`);
  if (s.heldUnknownForwards > 0) {
    lines.push(`  forwards that may have arrived, left queued (check the channel, then --reason forward_unknown): ${s.heldUnknownForwards}`);
  }
  if (s.busy > 0) lines.push(`  held by another redrive until the end of this one (left to it): ${s.busy}`);
  for (const [outcome, n] of Object.entries(s.outcomes)) lines.push(`  ${s.dryRun ? 'would be ' : ''}${outcome}: ${n}`);
  for (const [reason, n] of Object.entries(s.stillFailing)) lines.push(`  still failing (${reason}): ${n}`);
  return lines.map(terminalSafe).join('\n');
}

/**
 * One progress line (stderr): the message, where it waited (queue or archive) and what its
 * replay did; details quote requests, so terminal-safe.
 */
export function progressLine(
  m: { id: string; kind: string; reason: string; clickId?: string },
  result: RedriveProgress,
  place: DeadLetterPlace = 'queue',
): string {
  const what =
    result === 'skipped'
      ? 'skipped'
      : result === 'stale'
        ? 'older copy of an updated message: dropped'
        : result === 'busy'
          ? 'held by another redrive: left to it'
          : result.done
            ? `ok (${result.outcome})`
            : `still failing: ${result.reason}: ${result.detail}`;
  return terminalSafe(`${m.id} ${place} ${m.kind} ${m.reason} ${m.clickId ?? '-'} -> ${what}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      local: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      limit: { type: 'string' },
      reason: { type: 'string' },
      discard: { type: 'string', multiple: true },
      stack: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const limit = values.limit === undefined ? 1000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a whole number >= 1, got "${values.limit}"`);
  // Replaying reads clicks, conversions (and their history) and types; writes conversions; and
  // works through the queue and its archive with leases in the ledger (CLI_NEEDS.redrive).
  const tracker = await openTracker({ local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) }, CLI_NEEDS.redrive);
  try {
    const dryRun = values['dry-run'] === true;
    const summary = await redrive(tracker.queue, replayDeps(tracker.client, tracker.tables, dryRun, tracker.queue, values.local === true), {
      limit,
      dryRun,
      archive: tracker.archive,
      ledger: tracker.ledger,
      ...(values.reason ? { reason: values.reason } : {}),
      ...(values.discard && values.discard.length > 0 ? { discard: new Set(values.discard) } : {}),
      onProgress: (received, result) => {
        if (values.json) return;
        process.stderr.write(`${progressLine(received.message, result, received.place)}\n`);
      },
    });
    process.stdout.write(values.json ? `${terminalJson(summary)}\n` : `${formatSummary(summary)}\n`);
  } finally {
    await tracker.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`redrive: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
