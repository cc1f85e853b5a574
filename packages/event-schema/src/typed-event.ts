import * as v from 'valibot';
import { InboxEvent } from './inbox.ts';

/**
 * An event as a receiving service gets it (from `GET /events/{event_id}`, the inbox or, later, a
 * webhook): the inbox's event plus its `type`, which names the payload's schema (`order.paid`).
 */
export const IncomingEvent = v.object({
  ...InboxEvent.entries,
  type: v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty')),
});
export type IncomingEvent = v.InferOutput<typeof IncomingEvent>;

/** The payload schema of each event type a service handles, by type. */
export type PayloadSchemas = Record<string, v.GenericSchema>;

/** An incoming event of one of the types in `S`, its payload typed by its `type`. */
export type TypedEvent<S extends PayloadSchemas> = {
  [K in keyof S & string]: Omit<IncomingEvent, 'type' | 'payload'> & {
    type: K;
    payload: v.InferOutput<S[K]>;
  };
}[keyof S & string];

/**
 * Why an incoming event was refused: `INVALID_EVENT` (not an event: a field missing or of the
 * wrong kind), `UNKNOWN_TYPE` (a type the service declared no schema for) or `INVALID_PAYLOAD`
 * (the payload does not match its type's schema). `issues` says where (`payload.amount`) and what.
 */
export class EventParseError extends Error {
  override readonly name = 'EventParseError';
  readonly code: 'INVALID_EVENT' | 'UNKNOWN_TYPE' | 'INVALID_PAYLOAD';
  readonly issues: { path: string; message: string }[];
  /** The event's id and type, when it had readable ones. */
  readonly eventId: string | undefined;
  readonly type: string | undefined;

  constructor(
    code: EventParseError['code'],
    message: string,
    issues: { path: string; message: string }[],
    event: { eventId?: string; type?: string } = {},
  ) {
    super(message);
    this.code = code;
    this.issues = issues;
    this.eventId = event.eventId;
    this.type = event.type;
  }
}

export type ParsedEvent<S extends PayloadSchemas> =
  | { success: true; event: TypedEvent<S> }
  | { success: false; error: EventParseError };

/** Parses incoming events into {@link TypedEvent}s; see {@link createEventParser}. */
export interface EventParser<S extends PayloadSchemas> {
  /** The typed, validated event; throws an {@link EventParseError} otherwise. */
  parse(input: unknown): TypedEvent<S>;
  /** The same, as a result instead of a throw. */
  safeParse(input: unknown): ParsedEvent<S>;
  /** The types this parser knows. */
  readonly types: readonly (keyof S & string)[];
}

const issuesOf = (issues: readonly v.BaseIssue<unknown>[], prefix: string) =>
  issues.map((issue) => {
    const path = v.getDotPath(issue);
    return {
      path: path === null ? prefix : prefix === '' ? path : `${prefix}.${path}`,
      message: issue.message,
    };
  });

/**
 * A parser for the events a service receives: give it a payload schema per event type, and it
 * checks an incoming event against the shared event schema, then its payload against its type's
 * schema, and answers the event typed by `type` (or a clear {@link EventParseError}).
 *
 * @example
 *   const parseEvent = createEventParser({
 *     'order.paid': v.object({ order_id: v.string(), amount: v.number() }),
 *     'order.refunded': v.object({ order_id: v.string() }),
 *   });
 *   const event = parseEvent.parse(await triggers.getEvent(id));
 *   if (event.type === 'order.paid') charge(event.payload.amount); // typed: number
 */
export function createEventParser<const S extends PayloadSchemas>(schemas: S): EventParser<S> {
  const types = Object.keys(schemas) as (keyof S & string)[];
  const safeParse = (input: unknown): ParsedEvent<S> => {
    const event = v.safeParse(IncomingEvent, input);
    if (!event.success) {
      const fields = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
      const known = {
        ...(typeof fields.event_id === 'string' ? { eventId: fields.event_id } : {}),
        ...(typeof fields.type === 'string' ? { type: fields.type } : {}),
      };
      const issues = issuesOf(event.issues, '');
      const summary = issues.map((issue) => `${issue.path || 'event'} ${issue.message}`).join('; ');
      return {
        success: false,
        error: new EventParseError('INVALID_EVENT', `Not a valid event: ${summary}`, issues, known),
      };
    }
    const { type, event_id: eventId } = event.output;
    const schema = Object.hasOwn(schemas, type) ? schemas[type] : undefined;
    if (schema === undefined) {
      const message = `Event ${eventId} has type ${type}, which this service has no schema for (known: ${types.join(', ')}).`;
      return {
        success: false,
        error: new EventParseError('UNKNOWN_TYPE', message, [{ path: 'type', message }], { eventId, type }),
      };
    }
    const payload = v.safeParse(schema, event.output.payload);
    if (!payload.success) {
      const issues = issuesOf(payload.issues, 'payload');
      const summary = issues.map((issue) => `${issue.path} ${issue.message}`).join('; ');
      const message = `Event ${eventId} of type ${type} has an invalid payload: ${summary}`;
      return {
        success: false,
        error: new EventParseError('INVALID_PAYLOAD', message, issues, { eventId, type }),
      };
    }
    return { success: true, event: { ...event.output, payload: payload.output } as TypedEvent<S> };
  };
  return {
    types,
    safeParse,
    parse(input) {
      const result = safeParse(input);
      if (!result.success) throw result.error;
      return result.event;
    },
  };
}
