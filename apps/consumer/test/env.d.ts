// Bindings that exist only in the test runtime (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    /** The optional archive bucket (src/archive.ts), a local R2 bucket in tests. */
    ARCHIVE: R2Bucket;
    /** Producers to two shards of event-queue, which this Worker consumes (vitest.config.ts). */
    EVENT_QUEUE: Queue;
    EVENT_QUEUE_1: Queue;
  }
}
