/**
 * Eras: a tenant's store past one object. A tenant's events live in its eras, each a store object
 * of its own holding the events received in one span of time, their deliveries and attempts, and
 * a copy of the tenant's subscriptions:
 *
 * - era 0, the head: the object named by the tenant's id, holding everything received before the
 *   first era's start. It also keeps the list of eras and the tenant's subscriptions, the one
 *   copy that is written.
 * - era i ≥ 1: the object named `<tenant>@<from>`, holding what was received from `from` up to
 *   the next era's start.
 *
 * An era opens when the newest one grows past a split size (the consumer's write sees it), always
 * {@link ERA_LEAD_MS} ahead of the head's clock. So a list answered by the head at `asOf` is exact
 * for every instant before `asOf + ERA_LEAD_MS`: an era opened after `asOf` starts at or after
 * that instant. Callers cache the list that long ({@link EraList.asOf}) and route by it.
 *
 * This module is the arithmetic of it: which era holds an instant, which eras an event must claim
 * its id in (the dedup window across an era's start), and the eras' names.
 */

/** How far ahead of its opening an era starts: what a cached era list stays exact for. */
export const ERA_LEAD_MS = 2 * 3_600_000;

/**
 * The dedup window across eras: a copy of an event received within this long after another copy
 * finds it, whichever era each falls in (two copies in one era are found by the era's own day
 * tables, which look further: days.ts).
 */
export const CLAIM_WINDOW_MS = 24 * 3_600_000;

/**
 * How long a claim is kept: the window, and the 14 days a queue may keep the other copy's message
 * (a consumer's backlog) before it arrives.
 */
export const CLAIM_KEEP_MS = CLAIM_WINDOW_MS + 14 * 86_400_000;

/** The eras of a tenant as its head answered them. */
export interface EraList {
  /** Each era's start (ISO 8601, UTC), ascending; era i starts at `starts[i - 1]`. Empty: the head alone. */
  starts: string[];
  /** When the head answered (ms since the epoch): the list is exact for instants before asOf + ERA_LEAD_MS. */
  asOf: number;
}

/** Era `index` of the tenant: the head (0) or the era of `starts[index - 1]`. */
export interface Era {
  index: number;
  /** The object's name: the tenant's id for the head, `<tenant>@<start>` for the others. */
  name: string;
  /** Its start as its name and its delivery messages (`AttemptMessage.era`) carry it; null for the head. */
  start: string | null;
  /** Its first instant, ms since the epoch; -Infinity for the head. */
  from: number;
  /** The first instant of the next era, ms; Infinity for the newest. */
  to: number;
}

/** The object name of the era starting at `start` (null: the head). */
export const eraName = (tenant: string, start: string | null): string =>
  start === null ? tenant : `${tenant}@${start}`;

/** Whether `name` names an era rather than a head: a tenant's id never holds `@` (API_KEY_ID). */
export const isEraName = (name: string): boolean => name.includes('@');

/** The start of the era of `tenant` named `name` ({@link eraName}); null for its head or another name. */
export const eraStartOf = (tenant: string, name: string): string | null =>
  name.startsWith(`${tenant}@`) ? name.slice(tenant.length + 1) : null;

/** Every era of `list`, oldest first: the head, then one per start. */
export function eras(tenant: string, list: EraList): Era[] {
  const starts = list.starts.map((s) => Date.parse(s));
  return [null, ...list.starts].map((start, index) => ({
    index,
    name: eraName(tenant, start),
    start,
    from: index === 0 ? Number.NEGATIVE_INFINITY : (starts[index - 1] as number),
    to: starts[index] ?? Number.POSITIVE_INFINITY,
  }));
}

/** Whether `list` may route an instant `at` (ms), or must be asked again. */
export const listCovers = (list: EraList, at: number): boolean => at < list.asOf + ERA_LEAD_MS;

/** The era holding instant `at` (ms since the epoch). */
export function eraAt(all: readonly Era[], at: number): Era {
  for (let i = all.length - 1; i > 0; i--) {
    const era = all[i] as Era;
    if (at >= era.from) return era;
  }
  return all[0] as Era;
}

/**
 * The older eras an event received at `at` in `era` must claim its id in: those whose span ends
 * less than {@link CLAIM_WINDOW_MS} before `at`, where a copy received up to a window earlier
 * would be. Empty for the head and for an event past the window of its era's start.
 */
export function claimEras(all: readonly Era[], era: Era, at: number): Era[] {
  const older: Era[] = [];
  for (let i = era.index - 1; i >= 0; i--) {
    const candidate = all[i] as Era;
    if (candidate.to <= at - CLAIM_WINDOW_MS) break;
    older.push(candidate);
  }
  return older;
}

/**
 * The start of an era opened at `now`: {@link ERA_LEAD_MS} ahead, so that no cached list routes an
 * instant of it to the era before.
 */
export const nextEraStart = (now: number): string => new Date(now + ERA_LEAD_MS).toISOString();
