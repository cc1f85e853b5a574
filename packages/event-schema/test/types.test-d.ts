import { describe, expectTypeOf, it } from 'vitest';
import type {
  CloudEventContext,
  DebugMarker,
  ErrorCode,
  EventAccepted,
  EventRequest,
  JsonObject,
  JsonValue,
  PackedEvents,
  QueuedEvent,
} from '../src/index.ts';

describe('exported types', () => {
  it('QueuedEvent has the documented fields', () => {
    expectTypeOf<QueuedEvent>().toEqualTypeOf<{
      event_id: string;
      payload: JsonValue;
      metadata?: JsonObject | undefined;
      type?: string | undefined;
      source?: string | undefined;
      subject?: string | undefined;
      cloudevent?: CloudEventContext | undefined;
      timestamp: string;
      correlation_id: string;
      api_key_id: string;
      debug?: DebugMarker | undefined;
    }>();
  });

  it('PackedEvents carries whole QueuedEvents', () => {
    expectTypeOf<PackedEvents>().toEqualTypeOf<{ events: QueuedEvent[] }>();
  });

  it('EventRequest carries a JSON object payload, optional metadata and optional identity', () => {
    expectTypeOf<EventRequest>().toEqualTypeOf<{
      payload: JsonObject;
      metadata?: JsonObject | undefined;
      type?: string | undefined;
      source?: string | undefined;
      subject?: string | undefined;
    }>();
  });

  it('DebugMarker never includes validation_error, which is never enqueued', () => {
    expectTypeOf<'validation_error'>().not.toExtend<DebugMarker>();
    expectTypeOf<DebugMarker>().toEqualTypeOf<'processing_error' | 'dlq_routing' | 'queue_delay'>();
  });

  it('JsonObject values are JSON values only', () => {
    expectTypeOf<JsonObject[string]>().toEqualTypeOf<JsonValue>();
    expectTypeOf<{ f: () => void }>().not.toExtend<JsonObject>();
  });

  it('EventAccepted is the success envelope', () => {
    expectTypeOf<EventAccepted>().toEqualTypeOf<{
      data: { event_id: string; status: 'accepted'; timestamp: string };
      timestamp: string;
    }>();
  });

  it('ErrorCode is a closed set', () => {
    expectTypeOf<'NOT_FOUND'>().toExtend<ErrorCode>();
    expectTypeOf<'TEAPOT'>().not.toExtend<ErrorCode>();
  });
});
