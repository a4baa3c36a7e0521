/**
 * `npm run cost` on a fresh clone: without bench/results.json it measures what it needs (the
 * benchmark's warm phase) instead of failing. No timing is asserted: only that it measures.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measurements } from '../../bench/cost';

jest.setTimeout(120_000);

const dirs: string[] = [];
const missing = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cv-cost-'));
  dirs.push(dir);
  return join(dir, 'results.json');
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

it('measures the handlers (click, postback, /go, JSON click, t.js) and the click items itself when there are no benchmark results', async () => {
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const results = await measurements(missing(), false, 40);
    // The click path stays one write and no read; a postback reads its click and writes two items.
    expect(results.handlers.click).toMatchObject({ dynamoWrites: 1, dynamoReads: 0 });
    expect(results.handlers.postback.dynamoWrites).toBeGreaterThanOrEqual(2);
    expect(results.handlers.postback.dynamoReads).toBeGreaterThanOrEqual(1);
    expect(results.handlers.click.ownP50Ms).toBeGreaterThan(0);
    // Landers and direct tracking too: /go is one update, the JSON click one write; the click
    // items it measured are each one write unit.
    expect(results.funnel?.landerClick).toMatchObject({ dynamoWrites: 1, dynamoReads: 0 });
    expect(results.funnel?.jsonClick).toMatchObject({ dynamoWrites: 1, dynamoReads: 0 });
    expect(results.funnel?.script).toMatchObject({ dynamoWrites: 0, dynamoReads: 0 });
    for (const kind of ['plain', 'lander', 'direct'] as const) {
      expect(results.clickItems?.[kind].items).toBeGreaterThan(0);
      expect(results.clickItems?.[kind].p95Bytes).toBeGreaterThan(200);
      expect(results.clickItems?.[kind].p95Bytes).toBeLessThanOrEqual(1024);
    }
    expect(String(stderr.mock.calls[0]?.[0])).toMatch(/^cost: no .*results\.json \(npm run bench writes it\); measuring the handlers and click items now \(40 requests each\)/);
  } finally {
    stderr.mockRestore();
  }
});

it('reads the benchmark results when they are there, and refuses a named file that is not', async () => {
  const file = missing();
  await expect(measurements(file, true)).rejects.toThrow(`--results ${file}: no such file`);
  const handlers = { click: { ownP50Ms: 0.2, logBytesPerRequest: 2, dynamoWrites: 1, dynamoReads: 0 }, postback: { ownP50Ms: 0.4, logBytesPerRequest: 800, dynamoWrites: 2, dynamoReads: 1 } };
  writeFileSync(file, JSON.stringify({ date: '2026-11-25T00:00:00.000Z', handlers }));
  await expect(measurements(file, true)).resolves.toEqual({ date: '2026-11-25T00:00:00.000Z', handlers });
});
