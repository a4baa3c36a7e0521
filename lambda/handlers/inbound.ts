import type { InboundEntry, InboundLog } from '../core/model';
import { logger } from '../logger';

export interface InboundSink {
  log: InboundLog;
  retentionDays: number;
}

/**
 * Keeps an inbound entry for `npm run trace`. Best effort by design: the answer to the sender
 * never depends on it (the structured log line carries the same facts), so a failure is logged
 * and the request goes on.
 */
export async function keepInbound(sink: InboundSink | undefined, entry: InboundEntry): Promise<void> {
  if (!sink) return;
  const expiresAt = Math.floor(Date.parse(entry.receivedAt) / 1000) + sink.retentionDays * 86400;
  try {
    await sink.log.record(entry, expiresAt);
  } catch (err) {
    logger.warn('inbound log not written', { requestId: entry.requestId, clickId: entry.clickId, error: (err as Error).message });
  }
}
