import type { EventStatus } from '@triggers/event-schema';

const LABEL: Record<EventStatus, string> = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed' };

/** An event's status as a badge: a word and a shape, never colour alone. */
export function StatusBadge({ status }: { status: EventStatus }) {
  return (
    <span class={`badge badge-${status}`}>
      <span aria-hidden="true" class="badge-mark" />
      {LABEL[status]}
    </span>
  );
}
