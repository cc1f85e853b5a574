import type { ArchiveEvents, StoredEvent } from '@triggers/event-store';

/**
 * The retention run's archive: before a round deletes expired events, they are written to the
 * `ARCHIVE` R2 bucket, one object per tenant and day received (per round of a run), as
 * gzip-compressed NDJSON, one event per line as `GET /events/{event_id}` shows it (every column):
 *
 *   archive/<api_key_id>/<yyyy-mm-dd>/<run>.ndjson.gz    <run> = <scheduled time>-<invocation>-<round>
 *
 * e.g. `archive/key_3f…/2026-11-24/20261202T063500Z-9f2c41d8-1.ndjson.gz`. `<invocation>` is
 * random per run: a run the platform retries (same scheduled time) after a round had archived
 * and deleted events writes new objects, never over those, whose events are gone from the store. Objects carry
 * `Content-Type: application/x-ndjson`, `Content-Encoding: gzip`, and the count of events in
 * their custom metadata. A round writes at most {@link ARCHIVE_OBJECTS_PER_ROUND} objects (the
 * events of further tenants and days wait for the next round); a put that fails rejects, and the
 * round deletes nothing.
 */

/**
 * Objects one round writes at most: R2 calls count as subrequests of the run's invocation, so 9
 * rounds write at most 180, far below the 1,000 of Workers Paid.
 */
export const ARCHIVE_OBJECTS_PER_ROUND = 20;

/** One run of the archive: when it was scheduled, and a random id of this invocation. */
export interface ArchiveRun {
  at: Date;
  invocation: string;
}

/** Where one tenant's events of one day go, for round `round` of `run`. */
export function archiveKey(apiKeyId: string, day: string, run: ArchiveRun, round: number): string {
  const at = run.at
    .toISOString()
    .replace(/\.\d{3}/, '')
    .replace(/[-:]/g, '');
  return `archive/${apiKeyId}/${day}/${at}-${run.invocation}-${round}.ndjson.gz`;
}

/** `lines` as gzip-compressed NDJSON bytes (CompressionStream: R2 needs the length up front). */
async function gzipLines(lines: string[]): Promise<ArrayBuffer> {
  const stream = new Blob([lines.join('\n'), '\n']).stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}

/** What one run archived. */
export interface ArchiveStats {
  objects: number;
  events: number;
}

/**
 * An {@link ArchiveEvents} writing to `bucket` for the run scheduled at `runAt`; `stats` counts
 * what it wrote. Each call is a new invocation, with object names of its own.
 */
export function r2Archive(
  bucket: R2Bucket,
  runAt: Date,
  invocation = crypto.randomUUID().slice(0, 8),
): { archive: ArchiveEvents; stats: ArchiveStats } {
  const run: ArchiveRun = { at: runAt, invocation };
  const stats: ArchiveStats = { objects: 0, events: 0 };
  const archive: ArchiveEvents = async (events: StoredEvent[], round: number) => {
    const groups = new Map<string, string[]>();
    const taken: StoredEvent[] = [];
    for (const event of events) {
      const key = archiveKey(event.api_key_id, event.received_at.slice(0, 10), run, round);
      let lines = groups.get(key);
      if (lines === undefined) {
        if (groups.size === ARCHIVE_OBJECTS_PER_ROUND) continue;
        lines = [];
        groups.set(key, lines);
      }
      lines.push(JSON.stringify(event));
      taken.push(event);
    }
    await Promise.all(
      [...groups].map(async ([key, lines]) => {
        // The name is new to this invocation; the condition makes an overwrite fail even so.
        const written = await bucket.put(key, await gzipLines(lines), {
          httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
          customMetadata: { events: String(lines.length) },
          onlyIf: { etagDoesNotMatch: '*' },
        });
        if (written === null) throw new Error(`archive object ${key} exists already: not overwritten`);
      }),
    );
    stats.objects += groups.size;
    stats.events += taken.length;
    return taken;
  };
  return { archive, stats };
}
