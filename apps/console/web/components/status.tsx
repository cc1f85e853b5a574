import type { DeliveryStatus, EventStatus } from '@triggers/event-schema';
import type { ComponentChildren } from 'preact';

/** A badge's colour and mark: green circle, red diamond, amber leaf. */
export type Tone = 'delivered' | 'failed' | 'pending';

/** A state as a badge: a word and a shape, never colour alone. */
export function Badge({ tone, children }: { tone: Tone; children: ComponentChildren }) {
  return (
    <span class={`badge badge-${tone}`}>
      <span aria-hidden="true" class="badge-mark" />
      {children}
    </span>
  );
}

const LABEL: Record<EventStatus | DeliveryStatus, string> = {
  pending: 'Pending',
  delivered: 'Delivered',
  succeeded: 'Succeeded',
  failed: 'Failed',
};

/** An event's status, or a webhook delivery's (`succeeded` looks like `delivered`). */
export function StatusBadge({ status }: { status: EventStatus | DeliveryStatus }) {
  return <Badge tone={status === 'succeeded' ? 'delivered' : status}>{LABEL[status]}</Badge>;
}
