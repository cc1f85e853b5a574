import type { Capabilities } from '../capabilities.ts';

/** What every signed-in view is given. */
export interface ViewProps {
  apiKey: string;
  caps: Capabilities;
  /** The route's segments after the view's name (`#/events/<id>` → `[id]`). */
  params: string[];
}
