import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/**
 * A confirmation in a native modal `<dialog>`, shown while `open`: focus starts on Cancel (the
 * safe answer), Escape cancels, and the browser returns focus where it was once it closes.
 * `onClose` runs however it closes; `onConfirm` only for the confirming button.
 */
export function ConfirmDialog({
  id,
  open,
  title,
  confirm,
  onConfirm,
  onClose,
  children,
}: {
  /** Prefix of the ids that name and describe the dialog. */
  id: string;
  open: boolean;
  title: string;
  /** The confirming button's text: the action, not "OK". */
  confirm: string;
  onConfirm: () => void;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (open && !element?.open) element?.showModal();
    if (!open && element?.open) element.close();
  }, [open]);
  return (
    <dialog ref={dialog} aria-labelledby={`${id}-title`} aria-describedby={`${id}-text`} onClose={onClose}>
      <h2 id={`${id}-title`}>{title}</h2>
      <div id={`${id}-text`}>{children}</div>
      <div class="actions">
        <button type="button" class="secondary" autofocus onClick={() => dialog.current?.close()}>
          Cancel
        </button>
        <button
          type="button"
          onClick={() => {
            dialog.current?.close();
            onConfirm();
          }}
        >
          {confirm}
        </button>
      </div>
    </dialog>
  );
}
