#!/usr/bin/env node
// @ts-check
// `pnpm webhook:listen [--port 8788] [--secret whsec_…] [--fail N]`: receives webhooks on
// http://127.0.0.1:<port>/ and prints each one, its signature checked when a secret is given.
import { startReceiver, verifyWebhook } from './webhook.mjs';

const args = process.argv.slice(2);
const flag = (/** @type {string} */ name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const port = Number(flag('--port') ?? process.env.WEBHOOK_PORT ?? 8788);
const secret = flag('--secret') ?? process.env.WEBHOOK_SECRET;
const fail = Number(flag('--fail') ?? 0);
const receiver = await startReceiver({
  port,
  respond: (request, index) => {
    let verdict = 'not verified (no --secret)';
    if (secret) {
      try {
        verifyWebhook(secret, request);
        verdict = 'signature valid';
      } catch (err) {
        verdict = `SIGNATURE INVALID: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    const status = index < fail ? 500 : 204;
    console.log(
      `${new Date().toISOString()} ${request.method} ${request.path} webhook-id=${request.headers['webhook-id']} ` +
        `${verdict}; answering ${status}\n${request.body}\n`,
    );
    return { status };
  },
});
console.log(
  `Listening on ${receiver.url}/ (Ctrl-C to stop). Subscribe it with:\n` +
    `  curl -X POST http://127.0.0.1:8787/subscriptions -H "authorization: Bearer $KEY" ` +
    `-H 'content-type: application/json' -d '{"url": "${receiver.url}/"}'\n` +
    'then run again with --secret whsec_… (the secret it answers) to verify signatures; ' +
    '--fail N answers 500 to the first N requests.',
);
