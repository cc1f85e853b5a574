// End to end: send N events, then wait until the consumer has stored all of them in D1.
export async function drain() {
  throw new Error('the end-to-end phase needs the consumer Worker');
}
