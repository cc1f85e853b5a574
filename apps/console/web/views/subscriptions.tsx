import { call, describeFailure } from '../api.ts';
import { JsonBlock } from '../components/json.tsx';
import { Notice } from '../components/notice.tsx';
import { useFocusOnMount, useLoad } from '../hooks.ts';
import type { ViewProps } from './view.ts';

/**
 * The slot for webhook subscriptions (issue 11): listed in the navigation only once the API offers
 * `GET /subscriptions`. Until that view (list, create with the secret shown once,
 * enable/disable, recent delivery results) replaces it, it shows the list as the API answers it.
 */
export function Subscriptions({ apiKey }: ViewProps) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const list = useLoad((signal) => call<unknown>(apiKey, 'GET', '/subscriptions', { signal }), [apiKey]);
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Subscriptions
      </h1>
      {list.error !== undefined && <Notice kind="error">{describeFailure(list.error)}</Notice>}
      {list.data !== undefined && <JsonBlock value={list.data} label="Subscriptions" />}
    </>
  );
}
