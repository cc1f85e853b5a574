import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized } from './api.ts';
import { type Capabilities, loadCapabilities } from './capabilities.ts';
import { href, useRoute } from './route.ts';
import { maskKey, session } from './session.ts';
import { DeadLetters } from './views/dead-letters.tsx';
import { EventView } from './views/event.tsx';
import { Inbox } from './views/inbox.tsx';
import { Overview } from './views/overview.tsx';
import { SendEvent } from './views/send.tsx';
import { SignIn } from './views/sign-in.tsx';
import { Subscriptions } from './views/subscriptions.tsx';
import type { ViewProps } from './views/view.ts';

interface ViewSpec {
  id: string;
  label: string;
  component: ComponentType<ViewProps>;
  /** Shown in the navigation; views opened from others (one event) are not. */
  nav: boolean;
  /** An API operation the view needs (`GET /subscriptions`): hidden while the API lacks it. */
  requires?: string;
}

/**
 * Every view, in navigation order: the one place a new view (webhook subscriptions, issue 11) is
 * added. A view that `requires` an operation appears once the API's OpenAPI document lists it.
 */
const VIEWS: ViewSpec[] = [
  { id: 'overview', label: 'Overview', component: Overview, nav: true },
  { id: 'inbox', label: 'Inbox', component: Inbox, nav: true },
  { id: 'dead-letters', label: 'Dead letters', component: DeadLetters, nav: true },
  { id: 'send', label: 'Send test event', component: SendEvent, nav: true },
  {
    id: 'subscriptions',
    label: 'Subscriptions',
    component: Subscriptions,
    nav: true,
    requires: 'GET /subscriptions',
  },
  { id: 'events', label: 'Event', component: EventView, nav: false },
];

const offered = (view: ViewSpec, caps: Capabilities) =>
  view.requires === undefined || caps.has(view.requires);

export function App() {
  const [apiKey, setApiKey] = useState(session.key);
  const [reason, setReason] = useState<string | null>(null);
  const [caps, setCaps] = useState<Capabilities>(new Set());
  const route = useRoute();

  useEffect(() => {
    loadCapabilities().then(setCaps);
    return onUnauthorized((refused) => {
      // A key being tried on the sign-in form is not the session's: the form says why itself.
      if (refused !== session.key()) return;
      session.signOut();
      setApiKey(null);
      setReason('The API no longer accepts this key (revoked or changed). Sign in again.');
    });
  }, []);

  if (apiKey === null) {
    return (
      <SignIn
        reason={reason}
        onSignedIn={(key) => {
          session.signIn(key);
          setReason(null);
          // Stay on the view the address names: a link to one event opens that event once signed in.
          setApiKey(key);
        }}
      />
    );
  }

  const view = VIEWS.find((v) => v.id === route.view && offered(v, caps));
  const signOut = () => {
    session.signOut();
    setReason('Signed out.');
    setApiKey(null);
  };

  return (
    <>
      <button type="button" class="skip-link" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href={href('overview')}>
          Triggers <span>console</span>
        </a>
        <nav aria-label="Views">
          <ul>
            {VIEWS.filter((v) => v.nav && offered(v, caps)).map((v) => (
              <li key={v.id}>
                <a href={href(v.id)} aria-current={v.id === route.view ? 'page' : undefined}>
                  {v.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="mono" title="The API key of this session">
            {maskKey(apiKey)}
          </span>
          <button type="button" class="secondary small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {view ? (
          <view.component
            key={`${view.id}/${route.params.join('/')}`}
            apiKey={apiKey}
            caps={caps}
            params={route.params}
          />
        ) : (
          <>
            <h1>No such view</h1>
            <p>
              <a href={href('overview')}>Go to the overview</a>
            </p>
          </>
        )}
      </main>
    </>
  );
}
