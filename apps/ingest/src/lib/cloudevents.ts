import {
  ATTRIBUTE_NAME,
  type CloudEvent,
  type CloudEventAttributeValue,
  type CloudEventContext,
  CloudEventRequest,
  type DataEncoding,
  type FieldIssue,
  isPlainObject,
  JsonValue,
  MAX_EVENT_BYTES,
} from '@triggers/event-schema';
import type { StoredEvent } from '@triggers/event-store';
import * as v from 'valibot';
import { mediaTypeOf, parseJsonBytes, readBodyBytes, utf8Text } from './body.ts';
import { echo } from './echo.ts';
import { invalid, validate } from './validate.ts';

/**
 * CloudEvents 1.0 through the HTTP protocol binding: reading an event sent in structured mode
 * (one JSON object), binary mode (`ce-*` headers, the body being the data) or as one item of a
 * batch, into what a queue message carries; and writing a stored event back as a structured
 * CloudEvent. The mapping, for API users, is in docs/api.md ("CloudEvents").
 */

/** A checked CloudEvent, as the fields of the queue message it becomes. */
export interface CloudEventContent {
  type: string;
  source: string;
  subject?: string;
  cloudevent: CloudEventContext;
  /** The data, held as `cloudevent.data_encoding` says; `null` when the event has none. */
  payload: JsonValue;
}

/** Whether data of this media type is JSON: none given, `application/json`, `text/json`, `…+json`. */
function isJsonType(mediaType: string | undefined): boolean {
  if (mediaType === undefined) return true;
  const type = mediaTypeOf(mediaType);
  return type === 'application/json' || type === 'text/json' || type.endsWith('+json');
}

/** Whether data of this media type is text: `text/*`, XML, or any type with a `charset`. */
function isTextType(mediaType: string): boolean {
  const type = mediaTypeOf(mediaType);
  return (
    type.startsWith('text/') ||
    type === 'application/xml' ||
    type.endsWith('+xml') ||
    /;\s*charset=/i.test(mediaType)
  );
}

/** Bytes as standard base64. */
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // In slices, so that a large body does not pass too many arguments at once.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The queue message fields of a checked event, its data already in `payload` form. */
function content(
  event: CloudEvent,
  payload: JsonValue,
  encoding: DataEncoding | undefined,
): CloudEventContent {
  const {
    specversion,
    id,
    source,
    type,
    subject,
    time,
    datacontenttype,
    dataschema,
    data: _data,
    data_base64: _dataBase64,
    ...extensions
  } = event;
  const kept = extensions as Record<string, CloudEventAttributeValue>;
  return {
    type,
    source,
    ...(subject === undefined ? {} : { subject }),
    cloudevent: {
      specversion,
      id,
      ...(time === undefined ? {} : { time }),
      ...(datacontenttype === undefined ? {} : { datacontenttype }),
      ...(dataschema === undefined ? {} : { dataschema }),
      ...(Object.keys(kept).length === 0 ? {} : { extensions: kept }),
      ...(encoding === undefined ? {} : { data_encoding: encoding }),
    },
    payload,
  };
}

const joined = (root: string | undefined, name: string) => (root ? `${root}.${name}` : name);

/**
 * A structured-mode CloudEvent (the JSON object of `application/cloudevents+json`, or one item of
 * a batch), checked: 400 naming each attribute at fault, at `<root>.<attribute>`. `data` is kept
 * as the JSON value it is; `data_base64` as its base64 text; a string `data` of a type that is
 * not JSON (XML, text) as that text.
 */
export function fromStructured(value: unknown, root?: string): CloudEventContent {
  if (!isPlainObject(value))
    throw invalid([{ path: root ?? '', message: 'must be a JSON object (a CloudEvent)' }]);
  const issues: FieldIssue[] = [];
  for (const name of Object.keys(value)) {
    if (name === 'data' || name === 'data_base64' || ATTRIBUTE_NAME.test(name)) continue;
    issues.push({
      path: echo(joined(root, name)),
      message: 'is not an attribute name: lower-case letters and digits only',
    });
  }
  if ('data' in value && 'data_base64' in value) {
    issues.push({ path: joined(root, 'data_base64'), message: 'must not be given together with data' });
  }
  if (issues.length > 0) throw invalid(issues);
  const event = validate(CloudEventRequest, value, root);
  if (event.data_base64 !== undefined) return content(event, event.data_base64, 'base64');
  if (event.data === undefined) return content(event, null, undefined);
  const text = typeof event.data === 'string' && !isJsonType(event.datacontenttype);
  return content(event, event.data, text ? 'text' : 'json');
}

/**
 * A binary-mode CloudEvent: attributes from `ce-<name>` headers (percent-decoded, as the binding
 * requires), `datacontenttype` from `Content-Type`, the body (at most {@link MAX_EVENT_BYTES}) as
 * the data. JSON data is parsed; text (`text/*`, XML, any type with a charset) kept as text when
 * it is UTF-8; anything else kept as base64. 400 names the header at fault.
 */
export async function fromBinary(request: Request): Promise<CloudEventContent> {
  const attributes: Record<string, string> = {};
  const issues: FieldIssue[] = [];
  for (const [header, raw] of request.headers) {
    if (!header.startsWith('ce-')) continue;
    const name = header.slice(3);
    if (!ATTRIBUTE_NAME.test(name)) {
      issues.push({
        path: echo(`headers.${header}`),
        message: 'is not an attribute name: lower-case letters and digits only',
      });
      continue;
    }
    if (name === 'datacontenttype') {
      issues.push({
        path: `headers.${header}`,
        message: 'is not used in binary mode: Content-Type gives the data’s type',
      });
      continue;
    }
    try {
      attributes[name] = decodeURIComponent(raw);
    } catch {
      issues.push({ path: `headers.${header}`, message: 'is not correctly percent-encoded' });
    }
  }
  if (issues.length > 0) throw invalid(issues);
  const contentType = request.headers.get('content-type');
  if (contentType !== null) attributes.datacontenttype = contentType;

  const result = v.safeParse(CloudEventRequest, attributes);
  if (!result.success) {
    throw invalid(
      result.issues.map((issue) => {
        const name = v.getDotPath(issue) ?? '';
        return {
          path: name === 'datacontenttype' ? 'headers.content-type' : `headers.ce-${name}`,
          message: issue.message,
        };
      }),
    );
  }
  const event = result.output;
  const bytes = await readBodyBytes(request, MAX_EVENT_BYTES);
  if (bytes.byteLength === 0) return content(event, null, undefined);
  if (contentType !== null && isJsonType(contentType))
    return content(event, validate(JsonValue, parseJsonBytes(bytes), 'data'), 'json');
  const text = contentType !== null && isTextType(contentType) ? utf8Text(bytes) : null;
  return text === null ? content(event, toBase64(bytes), 'base64') : content(event, text, 'text');
}

/**
 * A stored event as a structured CloudEvent: for one that arrived as a CloudEvent, equal to the
 * one sent (attributes, extensions, data in the form it came in). An event of the JSON API
 * becomes one too: its `event_id` as `id`, `received_at` as `time`, its payload as JSON `data`
 * (its metadata, which has no CloudEvents counterpart, is left out).
 */
export function toStructured(event: StoredEvent): Record<string, JsonValue> {
  const identity = {
    source: event.source,
    type: event.type,
    ...(event.subject === null ? {} : { subject: event.subject }),
  };
  if (event.cloudevent === null) {
    return {
      specversion: '1.0',
      id: event.event_id,
      ...identity,
      time: event.received_at,
      datacontenttype: 'application/json',
      data: event.payload,
    };
  }
  const { specversion, id, extensions, data_encoding, ...optional } = event.cloudevent;
  const out: Record<string, JsonValue> = { specversion, id, ...identity };
  for (const [name, value] of Object.entries(optional)) if (value !== undefined) out[name] = value;
  Object.assign(out, extensions);
  if (data_encoding === 'base64') out.data_base64 = event.payload;
  else if (data_encoding !== undefined) out.data = event.payload;
  return out;
}
