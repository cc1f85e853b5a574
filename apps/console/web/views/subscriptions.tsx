import type { Subscription, SubscriptionWithSecret } from '@triggers/event-schema';
import { useRef, useState } from 'preact/hooks';
import { api, describeFailure, fieldProblems } from '../api.ts';
import { ConfirmDialog } from '../components/confirm.tsx';
import { TextField } from '../components/field.tsx';
import { Notice } from '../components/notice.tsx';
import { OneTimeSecret } from '../components/secret.tsx';
import { Badge } from '../components/status.tsx';
import { Time } from '../components/time.tsx';
import { useChange, useFocusOnMount, useLoad } from '../hooks.ts';
import type { ViewProps } from './view.ts';

/**
 * "24 hours": how long from now the previous secret keeps signing, read from the API's answer
 * (`previous_secret_expires_at`). Not from the constant in @triggers/event-schema: that module
 * would bring its valibot schemas into the bundle.
 */
const hoursUntil = (iso: string) => {
  const hours = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 3_600_000));
  return `${hours} ${hours === 1 ? 'hour' : 'hours'}`;
};

/** "order.created, invoice.*" or "order.created invoice.*" as the API's list; empty: every event. */
const parseTypes = (text: string) => text.split(/[\s,]+/).filter((type) => type !== '');

/** A secret the API just answered, to show once. */
interface Shown {
  secret: string;
  url: string;
  /** After a rotation: until when the previous secret still signs. */
  previousUntil?: string;
}

/**
 * The key's webhook subscriptions (docs/webhooks.md): create one (its signing secret shown once),
 * enable or disable, rotate the secret, delete. The API's validation errors (an SSRF refusal at
 * `url`) are shown next to their field.
 */
export function Subscriptions({ apiKey }: ViewProps) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const listHeading = useRef<HTMLHeadingElement>(null);
  const list = useLoad((signal) => api(apiKey).subscriptions.list({ signal }), [apiKey]);
  const [shown, setShown] = useState<Shown | null>(null);
  const { busy, outcome, setOutcome, run: change } = useChange(list.reload);
  const [confirming, setConfirming] = useState<{ action: 'delete' | 'rotate'; sub: Subscription } | null>(
    null,
  );

  const setEnabled = (sub: Subscription, enabled: boolean) =>
    change(async () => {
      await api(apiKey).subscriptions.update(sub.id, { enabled });
      return enabled
        ? `Enabled ${sub.url}: new events are delivered to it again.`
        : `Disabled ${sub.url}: it gets no new deliveries.`;
    });

  const remove = (sub: Subscription) =>
    change(async () => {
      await api(apiKey).subscriptions.delete(sub.id);
      // Its row (and the button that had focus) is gone: focus the list instead of the page's top.
      listHeading.current?.focus();
      return `Deleted the subscription to ${sub.url}. Its past deliveries stay in each event's log.`;
    });

  const rotate = (sub: Subscription) =>
    change(async () => {
      const rotated = await api(apiKey).subscriptions.rotateSecret(sub.id);
      setShown({
        secret: rotated.secret,
        url: rotated.url,
        ...(rotated.previous_secret_expires_at === null
          ? {}
          : { previousUntil: rotated.previous_secret_expires_at }),
      });
      return `Rotated the signing secret of ${sub.url}.`;
    });

  const subscriptions = list.data;
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Subscriptions
      </h1>
      <p class="lede">
        Webhook endpoints this key's stored events are POSTed to, signed (Standard Webhooks) and retried until
        they answer 2xx. Each event's page lists its deliveries.
      </p>

      {shown ? (
        <OneTimeSecret
          secret={shown.secret}
          title={`Signing secret of ${shown.url}`}
          onDone={() => {
            setShown(null);
            listHeading.current?.focus();
          }}
        >
          {shown.previousUntil !== undefined && (
            <p>
              The previous secret keeps signing for {hoursUntil(shown.previousUntil)}, until{' '}
              <Time iso={shown.previousUntil} />: each delivery carries a signature of each secret meanwhile.
              Deploy the new one before then.
            </p>
          )}
        </OneTimeSecret>
      ) : (
        <CreateForm
          apiKey={apiKey}
          onCreated={(sub) => {
            setOutcome(null);
            setShown({ secret: sub.secret, url: sub.url });
            list.reload();
          }}
        />
      )}

      <h2 ref={listHeading} tabIndex={-1}>
        Your subscriptions
      </h2>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
      {list.error !== undefined && <Notice kind="error">{describeFailure(list.error)}</Notice>}
      {subscriptions === undefined ? (
        list.error === undefined && <p>Loading…</p>
      ) : subscriptions.length === 0 ? (
        <p class="empty">No subscriptions yet: events are not pushed anywhere.</p>
      ) : (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable to scroll by keyboard.
        <section class="table-scroll" tabIndex={0} aria-label="Subscriptions">
          <table>
            <caption class="visually-hidden">Subscriptions</caption>
            <thead>
              <tr>
                <th scope="col">Endpoint URL</th>
                <th scope="col">Event types</th>
                <th scope="col">State</th>
                <th scope="col">Failed in a row</th>
                <th scope="col">Secret</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {subscriptions.map((sub) => (
                <tr key={sub.id} data-subscription-id={sub.id}>
                  <td class="mono">{sub.url}</td>
                  <td class={sub.event_types ? 'mono' : undefined}>
                    {sub.event_types?.join(', ') ?? 'All events'}
                  </td>
                  <td>
                    {sub.enabled ? (
                      <Badge tone="delivered">Enabled</Badge>
                    ) : (
                      <>
                        <Badge tone="failed">Disabled</Badge>
                        {sub.disabled_reason && <p class="hint">{sub.disabled_reason}</p>}
                      </>
                    )}
                  </td>
                  <td>{sub.consecutive_failures}</td>
                  <td class="mono">{sub.secret_prefix}</td>
                  <td>
                    <Time iso={sub.created_at} />
                  </td>
                  <td>
                    <div class="row-actions">
                      <button
                        type="button"
                        class="small secondary"
                        disabled={busy}
                        aria-label={`${sub.enabled ? 'Disable' : 'Enable'} ${sub.url}`}
                        onClick={() => setEnabled(sub, !sub.enabled)}
                      >
                        {sub.enabled ? 'Disable' : 'Enable'}
                      </button>
                      <button
                        type="button"
                        class="small secondary"
                        disabled={busy}
                        aria-label={`Rotate secret of ${sub.url}`}
                        onClick={() => setConfirming({ action: 'rotate', sub })}
                      >
                        Rotate secret
                      </button>
                      <button
                        type="button"
                        class="small secondary"
                        disabled={busy}
                        aria-label={`Delete ${sub.url}`}
                        onClick={() => setConfirming({ action: 'delete', sub })}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}

      <ConfirmDialog
        id="confirm-subscription"
        open={confirming !== null}
        title={confirming?.action === 'rotate' ? 'Rotate the signing secret?' : 'Delete this subscription?'}
        confirm={confirming?.action === 'rotate' ? 'Rotate secret' : 'Delete subscription'}
        onClose={() => setConfirming(null)}
        onConfirm={() => {
          if (confirming === null) return;
          (confirming.action === 'rotate' ? rotate : remove)(confirming.sub);
        }}
      >
        {confirming?.action === 'rotate' ? (
          <p>
            A new secret for <span class="mono">{confirming.sub.url}</span> is shown once. The current one
            keeps signing beside it for a while (the next screen says until when), so your endpoint can switch
            without losing a delivery.
          </p>
        ) : (
          <p>
            <span class="mono">{confirming?.sub.url}</span> gets no more deliveries, and its pending ones end
            failed. Deliveries already made stay in each event's log. This cannot be undone.
          </p>
        )}
      </ConfirmDialog>
    </>
  );
}

/**
 * `POST /subscriptions`: a URL and optional event types. A refusal at a field (the URL's SSRF
 * rules, a malformed type) is shown under that field in the API's words, and focus moves there.
 */
function CreateForm({
  apiKey,
  onCreated,
}: {
  apiKey: string;
  onCreated: (sub: SubscriptionWithSecret) => void;
}) {
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState('');
  const [problems, setProblems] = useState<{ url?: string; types?: string; other?: string }>({});
  const [busy, setBusy] = useState(false);
  const urlField = useRef<HTMLInputElement>(null);
  const typesField = useRef<HTMLInputElement>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblems({});
    const eventTypes = parseTypes(types);
    try {
      const created = await api(apiKey).subscriptions.create({
        url: url.trim(),
        ...(eventTypes.length === 0 ? {} : { event_types: eventTypes }),
      });
      setUrl('');
      setTypes('');
      onCreated(created);
    } catch (err) {
      const found = fieldProblems(err);
      const urlProblem = found.get('url');
      const typeProblems = [...found]
        .filter(([at]) => at.startsWith('event_types'))
        .map(([at, message]) => {
          const type = eventTypes[Number(at.split('.')[1])];
          return type === undefined ? `The event types ${message}` : `"${type}" ${message}`;
        });
      const next = {
        ...(urlProblem === undefined ? {} : { url: `This URL ${urlProblem}.` }),
        ...(typeProblems.length === 0 ? {} : { types: `${typeProblems.join('; ')}.` }),
      };
      setProblems(Object.keys(next).length > 0 ? next : { other: describeFailure(err) });
      // Focus on the field at fault makes a screen reader read its problem (aria-describedby).
      (urlProblem !== undefined ? urlField : typesField).current?.focus();
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card create-subscription" aria-labelledby="create-title" onSubmit={submit}>
      <h2 id="create-title">New subscription</h2>
      <TextField
        id="subscription-url"
        name="url"
        inputMode="url"
        required
        label="Endpoint URL"
        hint={
          <>
            Where each event is POSTed: an <code>https</code> URL on a public host (in local development also{' '}
            <code>http://127.0.0.1:&lt;port&gt;</code>).
          </>
        }
        problem={problems.url}
        value={url}
        onValue={setUrl}
        inputRef={urlField}
      />
      <TextField
        id="subscription-types"
        name="event_types"
        label="Event types (optional)"
        hint={
          <>
            Separated by commas or spaces: exact types (<code>order.created</code>) or prefixes (
            <code>invoice.*</code>). Empty: all events.
          </>
        }
        problem={problems.types}
        value={types}
        onValue={setTypes}
        inputRef={typesField}
      />
      {problems.other !== undefined && <Notice kind="error">{problems.other}</Notice>}
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create subscription
        </button>
      </div>
    </form>
  );
}
