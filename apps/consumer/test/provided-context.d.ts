// What vitest's global setup hands the tests (test/node/receiver.ts).
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the webhook receiver the dispatcher's tests deliver to. */
    receiverUrl: string;
  }
}
