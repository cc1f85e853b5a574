import type { ComponentChildren } from 'preact';

/**
 * A message about what just happened. Errors are announced at once (`role="alert"`), other
 * news politely (`role="status"`).
 */
export function Notice({
  kind,
  children,
}: {
  kind: 'error' | 'info' | 'success';
  children: ComponentChildren;
}) {
  return (
    <p class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}
