import type { JsonObject, Subscription, SubscriptionWithSecret, TestedEvent } from '@triggers/event-schema';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeFailure, fieldProblems } from '../api.ts';
import { ConfirmDialog } from '../components/confirm.tsx';
import { TextField } from '../components/field.tsx';
import { JsonBlock } from '../components/json.tsx';
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

/** The confirmation dialog's words for each action. */
const DIALOG = {
  rotate: { title: 'Rotate the signing secret?', confirm: 'Rotate secret' },
  delete: { title: 'Delete this subscription?', confirm: 'Delete subscription' },
  recover: { title: 'Recover failed deliveries?', confirm: 'Recover deliveries' },
} as const;

/** `date` as a `datetime-local` input's value, in local time to the second. */
const localInput = (date: Date) =>
  new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);

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
  const [confirming, setConfirming] = useState<{
    action: 'delete' | 'rotate' | 'recover';
    sub: Subscription;
  } | null>(null);
  const [since, setSince] = useState('');

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

  const recover = (sub: Subscription) =>
    change(async () => {
      const from = new Date(since);
      // An emptied field is the user's to fix, not the API being down (toISOString throws).
      if (Number.isNaN(from.getTime()))
        return { kind: 'error', text: 'Enter the time to recover failed deliveries since.' };
      const recovered = await api(apiKey).subscriptions.recover(sub.id, {
        since: from.toISOString(),
      });
      const more =
        recovered.remaining === 0
          ? ''
          : ` ${recovered.remaining} more failed ones are in that window: recover again to take them.`;
      return recovered.recovered === 0
        ? { kind: 'info', text: `No failed deliveries to ${sub.url} since then.${more}` }
        : `Recovering ${recovered.recovered} failed ${recovered.recovered === 1 ? 'delivery' : 'deliveries'} to ${sub.url}: each starts a new round of attempts now.${more}`;
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
                        disabled={busy || !sub.enabled}
                        aria-label={`Recover failed deliveries to ${sub.url}`}
                        onClick={() => {
                          setSince(localInput(new Date(Date.now() - 86_400_000)));
                          setConfirming({ action: 'recover', sub });
                        }}
                      >
                        Recover…
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
        title={DIALOG[confirming?.action ?? 'delete'].title}
        confirm={DIALOG[confirming?.action ?? 'delete'].confirm}
        onClose={() => setConfirming(null)}
        onConfirm={() => {
          if (confirming === null) return;
          ({ rotate, delete: remove, recover })[confirming.action](confirming.sub);
        }}
      >
        {confirming?.action === 'rotate' ? (
          <p>
            A new secret for <span class="mono">{confirming.sub.url}</span> is shown once. The current one
            keeps signing beside it for a while (the next screen says until when), so your endpoint can switch
            without losing a delivery.
          </p>
        ) : confirming?.action === 'recover' ? (
          <>
            <p>
              Every failed delivery to <span class="mono">{confirming.sub.url}</span> created since this time
              starts a new round of attempts, as a retry by hand does. Succeeded and pending ones are left
              alone.
            </p>
            <label>
              Failed since
              <input
                type="datetime-local"
                step="1"
                name="since"
                value={since}
                onInput={(e) => setSince(e.currentTarget.value)}
              />
            </label>
          </>
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

/** What the create form's rule fields say, or why the filter cannot be read (not JSON, not an object). */
type Draft =
  | { eventTypes: string[]; filter: JsonObject | null; transform: string | null; filterProblem?: undefined }
  | { filterProblem: string };

function draftOf(types: string, filter: string, transform: string): Draft {
  let parsed: JsonObject | null = null;
  if (filter.trim() !== '') {
    try {
      parsed = JSON.parse(filter);
    } catch {
      return { filterProblem: 'The filter is not JSON yet.' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return { filterProblem: 'The filter must be a JSON object.' };
  }
  return {
    eventTypes: parseTypes(types),
    filter: parsed,
    transform: transform.trim() === '' ? null : transform,
  };
}

/** The rules of a draft as the API's body: only what is set. */
const rulesOf = (draft: Exclude<Draft, { filterProblem: string }>) => ({
  ...(draft.eventTypes.length === 0 ? {} : { event_types: draft.eventTypes }),
  ...(draft.filter === null ? {} : { filter: draft.filter }),
  ...(draft.transform === null ? {} : { transform: draft.transform }),
});

/** The API's problems with a draft's rules, by field: `filter.payload.$gtx` is the filter's. */
function ruleProblems(found: Map<string, string>) {
  const filter = [...found].filter(([at]) => at === 'filter' || at.startsWith('filter.'));
  const transform = found.get('transform');
  return {
    ...(filter.length === 0
      ? {}
      : {
          filter: `The filter ${filter.map(([at, message]) => (at === 'filter' ? message : `at ${at.slice(7)} ${message}`)).join('; ')}.`,
        }),
    ...(transform === undefined ? {} : { transform: `The transformation ${transform}.` }),
  };
}

/** What the live tester answered for the draft, or why it could not. */
interface Trial {
  results?: TestedEvent[];
  matched?: number;
  problems?: { filter?: string; transform?: string };
  error?: string;
}

/**
 * `POST /subscriptions/test` on the key's latest stored events, as the draft changes (half a
 * second after the last keystroke; a newer draft aborts the older one's request): the same code
 * decides as for deliveries, so what it shows is what would be delivered.
 */
function useTrial(apiKey: string, draft: Draft): Trial | null {
  const [trial, setTrial] = useState<Trial | null>(null);
  const key = JSON.stringify(draft);
  useEffect(() => {
    if (draft.filterProblem !== undefined) {
      setTrial({ problems: { filter: draft.filterProblem } });
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      try {
        const tried = await api(apiKey).subscriptions.test(rulesOf(draft), { signal: controller.signal });
        setTrial({ results: tried.results, matched: tried.matched });
      } catch (err) {
        if (controller.signal.aborted) return;
        const problems = ruleProblems(fieldProblems(err));
        setTrial(Object.keys(problems).length > 0 ? { problems } : { error: describeFailure(err) });
      }
    }, 500);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [apiKey, key]);
  return trial;
}

/** The live tester's answer: which of the latest events would be delivered, and with what body. */
function TrialPanel({ trial }: { trial: Trial | null }) {
  let summary: string;
  if (trial === null) summary = 'Trying on your latest events…';
  else if (trial.error !== undefined) summary = trial.error;
  else if (trial.problems !== undefined) summary = 'Fix the rules above to try them.';
  else if ((trial.results ?? []).length === 0) summary = 'No stored events to try yet: send one first.';
  else summary = `${trial.matched} of your latest ${trial.results?.length} events would be delivered.`;
  return (
    <section class="trial" aria-labelledby="trial-title">
      <h3 id="trial-title">Try it on your latest events</h3>
      <p data-testid="trial-summary" aria-live="polite">
        {summary}
      </p>
      {trial?.results !== undefined && trial.results.length > 0 && (
        <ol class="trial-results">
          {trial.results.map((r) => (
            <li key={r.event.event_id} data-event-id={r.event.event_id}>
              <p>
                {r.matched ? (
                  <Badge tone="delivered">Delivered</Badge>
                ) : (
                  <Badge tone="pending">Not delivered</Badge>
                )}{' '}
                <span class="mono">{r.event.type}</span>{' '}
                <span class="mono">{r.event.event_id.slice(0, 8)}</span>
                {r.excluded_by !== null && (
                  <span class="hint">
                    {' '}
                    (left out by its {r.excluded_by === 'filter' ? 'filter' : 'event types'})
                  </span>
                )}
              </p>
              {r.error !== null && <p class="field-error">{r.error}</p>}
              {r.body !== null && (
                <JsonBlock value={r.body} label={`Body for ${r.event.event_id.slice(0, 8)}`} />
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/**
 * `POST /subscriptions`: a URL and optional event types, filter and transformation, tried live on
 * the key's latest events as they are typed ({@link useTrial}). A refusal at a field (the URL's
 * SSRF rules, a malformed type, an unknown filter operator) is shown under that field in the API's
 * words, and focus moves there.
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
  const [filter, setFilter] = useState('');
  const [transform, setTransform] = useState('');
  const [problems, setProblems] = useState<{
    url?: string;
    types?: string;
    filter?: string;
    transform?: string;
    other?: string;
  }>({});
  const draft = draftOf(types, filter, transform);
  const trial = useTrial(apiKey, draft);
  const [busy, setBusy] = useState(false);
  const urlField = useRef<HTMLInputElement>(null);
  const typesField = useRef<HTMLInputElement>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblems({});
    const eventTypes = parseTypes(types);
    if (draft.filterProblem !== undefined) {
      setProblems({ filter: draft.filterProblem });
      setBusy(false);
      return;
    }
    try {
      const created = await api(apiKey).subscriptions.create({ url: url.trim(), ...rulesOf(draft) });
      setUrl('');
      setTypes('');
      setFilter('');
      setTransform('');
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
        ...ruleProblems(found),
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
      <TextField
        id="subscription-filter"
        name="filter"
        label="Filter (optional)"
        rows={4}
        hint={
          <>
            A JSON object: only events it matches are delivered, such as{' '}
            <code>{'{"payload.total": {"$gte": 100}}'}</code> (operators{' '}
            <code>$eq $neq $gt $gte $lt $lte $in $nin $exist $regex $or $and</code>).
          </>
        }
        problem={problems.filter ?? trial?.problems?.filter}
        value={filter}
        onValue={setFilter}
      />
      <TextField
        id="subscription-transform"
        name="transform"
        label="Transformation (optional)"
        rows={3}
        hint={
          <>
            A JSONata expression over the webhook body whose result is delivered instead, such as{' '}
            <code>{'{"total": payload.total}'}</code>.
          </>
        }
        problem={problems.transform ?? trial?.problems?.transform}
        value={transform}
        onValue={setTransform}
      />
      <TrialPanel trial={trial} />
      {problems.other !== undefined && <Notice kind="error">{problems.other}</Notice>}
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create subscription
        </button>
      </div>
    </form>
  );
}
