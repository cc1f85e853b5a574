/**
 * Where an event stands (`EventStatus`: `pending`, `delivered`, `failed`, shared with the HTTP
 * API through @triggers/event-schema). What moves a row between them, and why each move is a
 * conditional write: docs/architecture.md, "The event state machine" (its one description).
 * Queue traffic moves a row only while it is `pending` or absent (write.ts); only a replay
 * brings `failed` back to `pending` (replay.ts); an ack only marks a final event (ack.ts).
 */
export { EventStatus } from '@triggers/event-schema';
