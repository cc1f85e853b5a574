import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A webhook signing secret the API shows this once (create, rotate): a read-only field, a Copy
 * button and a plain warning. The console keeps it nowhere: it is gone once `onDone` runs or the
 * view closes. Focus moves to the panel's heading, so a keyboard or screen reader user lands on it.
 */
export function OneTimeSecret({
  secret,
  title,
  onDone,
  children,
}: {
  secret: string;
  title: string;
  onDone: () => void;
  /** What else to say: for a rotation, how long the previous secret keeps signing. */
  children?: ComponentChildren;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState('');
  useEffect(() => heading.current?.focus(), []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      field.current?.select();
      setCopied('The browser did not allow copying: the secret is selected, copy it with Ctrl+C (⌘C).');
    }
  };

  return (
    <section class="card secret" aria-labelledby="secret-title">
      <h2 id="secret-title" ref={heading} tabIndex={-1}>
        {title}
      </h2>
      <p class="notice notice-warning">
        <strong>You will not see this secret again.</strong> Copy it now and store it where your endpoint can
        read it: it verifies the <code>webhook-signature</code> of each delivery.
      </p>
      {children}
      <label for="secret-value">Signing secret</label>
      <div class="secret-row">
        <input
          id="secret-value"
          ref={field}
          class="mono"
          readOnly
          value={secret}
          autocomplete="off"
          spellcheck={false}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      <p class="hint" role="status">
        {copied}
      </p>
      <div class="actions">
        <button type="button" class="secondary" onClick={onDone}>
          I have stored it: hide the secret
        </button>
      </div>
    </section>
  );
}
