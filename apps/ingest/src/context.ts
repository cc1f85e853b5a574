import type { ApiKeyRecord } from '@triggers/api-keys';
import type { Logger } from '@triggers/log';
import type { IRequestStrict } from 'itty-router';
import type { IngestEnv } from './env.ts';

/** What the middleware attach to a request before the route handler sees it. */
export type IngestRequest = IRequestStrict & {
  correlationId: string;
  startedAt: number;
  log: Logger;
  /** Set by `withApiKey` on authenticated routes. */
  apiKey?: ApiKeyRecord;
  /** Set once an event id is assigned, so the request log line carries it. */
  eventId?: string;
};

export type AuthedRequest = IngestRequest & { apiKey: ApiKeyRecord };

/** Arguments every handler receives after the request. */
export type HandlerArgs = [env: IngestEnv, ctx: ExecutionContext];
