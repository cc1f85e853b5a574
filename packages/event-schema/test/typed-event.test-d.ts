import * as v from 'valibot';
import { describe, expectTypeOf, it } from 'vitest';
import { createEventParser, type TypedEvent } from '../src/index.ts';

const schemas = {
  'order.paid': v.object({ order_id: v.string(), amount: v.number() }),
  'order.refunded': v.object({ order_id: v.string() }),
};

describe('TypedEvent', () => {
  it('narrows the payload by type', () => {
    const event = createEventParser(schemas).parse({});
    expectTypeOf(event).toEqualTypeOf<TypedEvent<typeof schemas>>();
    expectTypeOf(event.type).toEqualTypeOf<'order.paid' | 'order.refunded'>();
    if (event.type === 'order.paid') expectTypeOf(event.payload.amount).toEqualTypeOf<number>();
    else expectTypeOf(event.payload).toEqualTypeOf<{ order_id: string }>();
    expectTypeOf(event.event_id).toEqualTypeOf<string>();
  });
});
