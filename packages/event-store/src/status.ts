import * as v from 'valibot';

/**
 * Where an event stands. What each thing that can happen to an event does to its row:
 *
 * | row is      | stored      | attempt failed, retried      | dead-lettered | replayed (issue 4) |
 * | ----------- | ----------- | ---------------------------- | ------------- | ------------------ |
 * | (no row)    | `delivered` | `pending`                    | `failed`      |                    |
 * | `pending`   | `delivered` | `pending`, attempts updated  | `failed`      |                    |
 * | `delivered` | unchanged   | unchanged                    | unchanged     |                    |
 * | `failed`    | unchanged   | unchanged                    | unchanged     | `pending`          |
 *
 * Queue traffic moves a row only while it is `pending` or absent, so a redelivered or late,
 * stale copy of a message never creates a second row nor undoes a newer outcome. Only an
 * explicit replay brings a `failed` event back to `pending`; its new message then ends
 * `delivered` or `failed` like any other.
 */
export const EventStatus = v.picklist(['pending', 'delivered', 'failed']);
export type EventStatus = v.InferOutput<typeof EventStatus>;
