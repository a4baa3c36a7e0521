import { readFileSync } from 'node:fs';
import type { TrackerConfig } from './schema';

/**
 * Reads the config a function bundle carries (`tracker-config.json`). The stack wrote it from
 * the validated config and validated the written JSON again at synth (lib/bundled-config.ts),
 * so at function start-up a cheap structural check is enough — and it keeps the validator
 * (zod, ~450 KB minified) out of the bundles, where it would add ~40% to every cold start.
 */
export function readBundledConfig(path: string): TrackerConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the bundled tracker config ${path}: ${(err as Error).message}`);
  }
  const c = raw as Partial<Record<keyof TrackerConfig, unknown>> | null;
  const problems: string[] = [];
  if (c === null || typeof c !== 'object') problems.push('not an object');
  else {
    for (const key of ['trafficChannels', 'offers', 'campaigns', 'conversionTypes'] as const) {
      if (!Array.isArray(c[key]) || c[key].length === 0) problems.push(`${key} must be a non-empty list`);
    }
    const d = c.defaults as Partial<TrackerConfig['defaults']> | undefined;
    if (!d || typeof d.currency !== 'string' || typeof d.clickRetentionDays !== 'number' || typeof d.ipStorage !== 'string') {
      problems.push('defaults must have currency, clickRetentionDays and ipStorage (was it written by cdk synth?)');
    }
  }
  if (problems.length > 0) throw new Error(`the bundled tracker config ${path} is not one cdk synth wrote: ${problems.join('; ')}`);
  return raw as TrackerConfig;
}
