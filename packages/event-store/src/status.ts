/**
 * Where an event stands (`EventStatus`: `pending`, `delivered`, `failed`, shared with the HTTP
 * API through @triggers/event-schema), and what each thing that can happen to it does to its row:
 *
 * | row is      | stored      | attempt failed, retried      | dead-lettered | replayed  | acked          |
 * | ----------- | ----------- | ---------------------------- | ------------- | --------- | -------------- |
 * | (no row)    | `delivered` | `pending`                    | `failed`      |           |                |
 * | `pending`   | `delivered` | `pending`, attempts updated  | `failed`      | refused   | refused        |
 * | `delivered` | unchanged   | unchanged                    | unchanged     | refused   | `acked_at` set |
 * | `failed`    | unchanged   | unchanged                    | unchanged     | `pending` | `acked_at` set |
 *
 * Queue traffic moves a row only while it is `pending` or absent, so a redelivered or late,
 * stale copy of a message never creates a second row nor undoes a newer outcome. Only an
 * explicit replay (replay.ts) brings a `failed` event back to `pending`, with attempts at 0 and
 * its ack cleared; its new message then ends `delivered` or `failed` like any other. An ack
 * (ack.ts) only marks a final event; the first ack's time stays.
 */
export { EventStatus } from '@triggers/event-schema';
