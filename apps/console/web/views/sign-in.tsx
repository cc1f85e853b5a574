import { useState } from 'preact/hooks';
import { api, describeFailure, isStatus } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { useFocusOnMount } from '../hooks.ts';

/**
 * Asks for an API key and checks it with one authenticated call (`GET /inbox?limit=1`) before
 * keeping it for this tab's session. A refused key is said to be refused, and not kept.
 */
export function SignIn({ onSignedIn, reason }: { onSignedIn: (key: string) => void; reason: string | null }) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const candidate = key.trim();
    if (candidate === '') return setError('Enter an API key.');
    setChecking(true);
    setError(null);
    try {
      await api(candidate).inbox.list({ limit: 1 });
      onSignedIn(candidate);
    } catch (err) {
      setError(
        isStatus(err, 401)
          ? 'This API key was not accepted. Check that it is complete (sk_test_… or sk_live_…) and not revoked.'
          : describeFailure(err),
      );
    } finally {
      setChecking(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1 ref={heading} tabIndex={-1}>
        Sign in to the Triggers console
      </h1>
      <p class="lede">
        The console shows the events of one API key. The key stays in this browser tab only and is forgotten
        when the tab closes.
      </p>
      {reason !== null && <Notice kind="info">{reason}</Notice>}
      <form class="card" onSubmit={submit} noValidate>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          placeholder="sk_test_…"
          value={key}
          aria-invalid={error !== null}
          aria-describedby={error === null ? undefined : 'sign-in-error'}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        {error !== null && (
          <p class="field-error" id="sign-in-error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="submit" disabled={checking}>
            {checking ? 'Checking…' : 'Sign in'}
          </button>
        </div>
      </form>
      <p class="hint">
        Running locally? <code>npm start</code> prints the seeded test key.
      </p>
    </main>
  );
}
