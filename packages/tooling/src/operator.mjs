// @ts-check
// Shared by the operator commands (`pnpm store:migrate`, `pnpm tenant:erase`, `pnpm tenants:list`):
// which ingest Worker they call and with which token, and one call of an `/operator/...` route.
import { ingestDevVars, readDevVar } from './local.mjs';

/**
 * Where the commands send their calls: `--url`, else `$TRIGGERS_URL`, else `pnpm dev`'s
 * http://localhost:8787 (`$PORT`), whose console Worker forwards API paths to the ingest Worker.
 * The token: `$OPERATOR_TOKEN`, else apps/ingest/.dev.vars (which `pnpm dev` writes).
 * @typedef {{ url: string, token: string }} OperatorTarget
 */

/**
 * @param {string | undefined} url the `--url` option.
 * @returns {OperatorTarget}
 */
export function operatorTarget(url) {
  const base = url ?? process.env.TRIGGERS_URL ?? `http://localhost:${process.env.PORT ?? '8787'}`;
  const token = process.env.OPERATOR_TOKEN ?? readDevVar(ingestDevVars, 'OPERATOR_TOKEN');
  if (!token) {
    throw new Error(
      'No operator token: set OPERATOR_TOKEN, or run `pnpm dev` once (it writes apps/ingest/.dev.vars).',
    );
  }
  return { url: base.replace(/\/+$/, ''), token };
}

/**
 * Calls an operator route and answers its `data`; throws with the answer's error message.
 * @param {OperatorTarget} target
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function operatorCall({ url, token }, method, path, body) {
  let response;
  try {
    response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new Error(`The ingest Worker at ${url} does not answer (is \`pnpm dev\` running?): ${err}`);
  }
  const text = await response.text();
  /** @type {any} */
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const message = json?.error?.message ?? text.slice(0, 200);
    throw new Error(`${method} ${path}: ${response.status} ${message}`);
  }
  return json?.data;
}
