import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type TrackerConfig } from '../config/schema';

/**
 * Writes the validated config as JSON for the function bundles (copied in as
 * `tracker-config.json` by the bundling hook) and returns the file path.
 *
 * The file name is the content hash, so repeated synths reuse one file and a config change
 * yields a new file - and, through the bundle's output hash, a new function version.
 */
export function writeBundledConfig(config: TrackerConfig, dir: string = join(tmpdir(), 'clickvault-synth')): string {
  const json = `${JSON.stringify(config, null, 2)}\n`;
  // What the function will read must validate exactly as the config did.
  parseConfig(JSON.parse(json), 'bundled tracker config');
  const hash = createHash('sha256').update(json).digest('hex').slice(0, 16);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `tracker-config-${hash}.json`);
  writeFileSync(file, json);
  return file;
}
