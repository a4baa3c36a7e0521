/**
 * The local server's memory of rollup day items (adapters/rollup-store): the decoded columns of
 * the `<campaign>#m` / `#s` / `#v` items its reports read, so a dashboard report reads from the
 * store only the days that changed since the last one (a month's report: ~30 items per campaign
 * and group, each inflated and parsed, were most of its time).
 *
 * It keeps the spend a report read too (`<campaign>#spend`, per range read).
 *
 * Never stale, by these rules (docs/architecture.md, "Rollups"):
 * - **Own writes.** Only the upkeep writes day items, under its lease. A middleware on the
 *   server's DynamoDB client (local/change-feed attachRollupPartWatch) calls `writing(pk, sk)`
 *   before every write of the rollups table is sent and again once it is answered: the day is
 *   dropped and its item's generation moves, so a read that overlapped the write is not kept.
 * - **Other processes' runs** (`npm run rollups -- --local`). Every lease taken and every release
 *   adds one to the upkeep state's `runs`; the middleware tells the cache which numbers its own
 *   process made. A report's state read (`sync`) that finds a number the cache did not see made
 *   by its own process forgets everything.
 * - **A lease held by another process**, past its `leaseUntil` too (a run may outlive it and go
 *   on writing): its writes are under way, unseen; while the state names it, nothing is kept or
 *   served, and the cache forgets again when it serves again (a read begun during the lease may
 *   answer after it).
 * - **An own write that failed** (a timeout: the store may still apply it later), or **a lease
 *   taken over** from another process (its run may have outlived its lease, still writing):
 *   nothing is served or kept until this process takes the lease again.
 * Entries are frozen (a reader cannot change what the next report reads) and bounded: the least
 * recently used days go past `maxBytes` of column JSON (plus a fixed cost per day and column).
 */

/** What the cache needs of the upkeep's state item. */
export interface StateStamp {
  runs: number;
  leaseOwner?: string;
}

/** A day item's columns by name (`null`: the item has no such column); absent item: every column null. */
export type CachedColumns = ReadonlyMap<string, Readonly<Record<string, unknown>> | null>;

interface DayEntry {
  absent: boolean;
  columns: Map<string, Readonly<Record<string, unknown>> | null>;
  bytes: number;
}

/**
 * Default bound: 16 MB of column JSON (the inflated text, which parsed objects take a few times
 * over; the compressed size is no guide: repetitive columns inflate hundreds of times).
 */
export const PART_CACHE_MAX_BYTES = 16 * 1024 * 1024;
/** What a day and each of its columns count besides their JSON (absent days and columns too). */
const ENTRY_BYTES = 64;
/** Owners of this process's leases remembered (one per run; a run's lease is its last). */
const OWNERS_KEPT = 16;
/** A gap in `runs` wider than this is not checked number by number: it is someone else's. */
const MAX_RUN_GAP = 1000;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

export class RollupPartCache {
  private readonly entries = new Map<string, DayEntry>();
  private readonly generations = new Map<string, number>();
  private everything = 0;
  private runs: number | undefined;
  private readonly ownRuns = new Set<number>();
  private readonly ownOwners = new Set<string>();
  private usable = false;
  private poisoned = false;
  private bytes = 0;
  /**
   * Days and spend ranges answered from memory (hits), days not held (misses: spend is kept per
   * range read, so another range is simply read), and the times it forgot everything.
   */
  readonly counts = { hits: 0, misses: 0, flushes: 0 };

  constructor(private readonly maxBytes: number = PART_CACHE_MAX_BYTES) {}

  /** A write of the rollups table at (pk, sk) starts or ends; no pk: a write whose keys are not known. */
  writing(pk?: string, sk?: string): void {
    if (pk === undefined) {
      this.flush();
      return;
    }
    this.generations.set(pk, (this.generations.get(pk) ?? 0) + 1);
    // A spend partition is kept by the ranges reports read, not by sort key.
    if (sk !== undefined && !pk.endsWith(SPEND_SUFFIX)) this.drop(entryKey(pk, sk));
    else for (const key of [...this.entries.keys()]) if (key.startsWith(`${pk}\u0000`)) this.drop(key);
  }

  /**
   * This process changed the upkeep's state to `runs` (took the lease as `owner`, or released it):
   * a lease taken ends a quarantine, unless it was taken over from another process (`previous`),
   * whose run may have outlived its lease and still be writing: then one begins, until this
   * process's next lease.
   */
  ownRun(runs: number, owner?: string, previous?: string): void {
    this.ownRuns.add(runs);
    if (owner === undefined) return;
    const takenOver = previous !== undefined && previous !== owner && !this.ownOwners.has(previous);
    this.ownOwners.delete(owner);
    this.ownOwners.add(owner);
    for (const old of this.ownOwners) {
      if (this.ownOwners.size <= OWNERS_KEPT) break;
      this.ownOwners.delete(old);
    }
    if (takenOver) this.writeFailed();
    else if (this.poisoned) {
      this.poisoned = false;
      this.flush();
    }
  }

  /** A write of the rollups table through this process failed: the store may apply it later. */
  writeFailed(): void {
    this.poisoned = true;
    this.usable = false;
    this.flush();
  }

  /**
   * A report read the upkeep's state (consistently): forgets everything if another process ran
   * the upkeep since the last read, and serves nothing while another holds the lease.
   */
  sync(stamp: StateStamp | undefined): void {
    const runs = stamp?.runs ?? 0;
    if (this.runs !== runs) {
      let own = this.runs !== undefined && runs > this.runs && runs - this.runs <= MAX_RUN_GAP;
      for (let r = (this.runs ?? 0) + 1; own && r <= runs; r++) own = this.ownRuns.has(r);
      if (!own) this.flush();
      this.runs = runs;
      for (const r of this.ownRuns) if (r <= runs) this.ownRuns.delete(r);
    }
    // Another's lease counts until it is released or taken over, whatever its leaseUntil.
    const held = (stamp?.leaseOwner !== undefined && !this.ownOwners.has(stamp.leaseOwner)) || this.poisoned;
    // Forget when a hold begins, and again when it ends: a read that began while the other
    // process wrote may answer after it released.
    if (held || !this.usable) this.flush();
    this.usable = !held;
  }

  /** Changes whenever a write that may touch pk's items starts or ends, or the cache forgets. */
  generation(pk: string): string {
    return `${this.everything}:${this.generations.get(pk) ?? 0}`;
  }

  /** The day's columns if every one of `names` is known (and the cache may serve). */
  get(pk: string, day: string, names: readonly string[]): CachedColumns | undefined {
    if (!this.usable) return undefined;
    const key = entryKey(pk, day);
    const entry = this.entries.get(key);
    if (!entry || !(entry.absent || names.every((n) => entry.columns.has(n)))) {
      this.counts.misses++;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.counts.hits++;
    return entry.absent ? new Map(names.map((n) => [n, null])) : entry.columns;
  }

  /**
   * Keeps what a read that began at `generation` found of the day: `columns` (unpacked, with
   * the length of their JSON) or undefined for no item. Dropped if a write or a forget came between.
   */
  put(pk: string, day: string, generation: string, columns: ReadonlyMap<string, { json: Record<string, unknown> | null; bytes: number }> | undefined): void {
    if (!this.usable || generation !== this.generation(pk)) return;
    const key = entryKey(pk, day);
    const entry = this.entries.get(key) ?? { absent: false, columns: new Map(), bytes: ENTRY_BYTES };
    this.drop(key);
    if (columns === undefined) {
      entry.absent = true;
      entry.columns.clear();
      entry.bytes = ENTRY_BYTES;
    } else {
      entry.absent = false;
      for (const [name, { json, bytes }] of columns) {
        if (!entry.columns.has(name)) entry.bytes += bytes + ENTRY_BYTES;
        entry.columns.set(name, json === null ? null : deepFreeze(json));
      }
    }
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    for (const [oldest, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= e.bytes;
    }
  }

  /** The spend rows a read of `pk` from..to (days, both included) found, if held. */
  getSpend<T>(pk: string, from: string, to: string): readonly T[] | undefined {
    if (!this.usable) return undefined;
    const entry = this.entries.get(entryKey(pk, `${from}..${to}`));
    const rows = entry?.columns.get(SPEND_COLUMN);
    if (!entry || !rows) return undefined;
    this.entries.delete(entryKey(pk, `${from}..${to}`));
    this.entries.set(entryKey(pk, `${from}..${to}`), entry);
    this.counts.hits++;
    return (rows as unknown as { rows: readonly T[] }).rows;
  }

  /** Keeps what a spend read that began at `generation` found (dropped if a write or a forget came between). */
  putSpend(pk: string, from: string, to: string, generation: string, rows: readonly unknown[]): void {
    const json = { rows: [...rows] };
    this.put(pk, `${from}..${to}`, generation, new Map([[SPEND_COLUMN, { json, bytes: JSON.stringify(json).length }]]));
  }

  /** What the held days count against maxBytes (column JSON, plus ENTRY_BYTES per day and column). */
  size(): number {
    return this.bytes;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  private flush(): void {
    this.everything++;
    this.entries.clear();
    this.bytes = 0;
    this.counts.flushes++;
  }
}

const entryKey = (pk: string, day: string) => `${pk}\u0000${day}`;
const SPEND_SUFFIX = '#spend';
const SPEND_COLUMN = 'spend';
