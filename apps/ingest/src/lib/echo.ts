/**
 * Client input shown back in an error message is cut to {@link MAX_ECHO_CHARS} characters: enough
 * to recognise the value, too little to turn our answer into a reflector of megabytes of the
 * attacker's text (into logs, proxies and dashboards that show error messages).
 */
export const MAX_ECHO_CHARS = 64;

/** `text` as an error message may quote it: at most {@link MAX_ECHO_CHARS} characters, then `…`. */
export function echo(text: string): string {
  return text.length <= MAX_ECHO_CHARS ? text : `${text.slice(0, MAX_ECHO_CHARS)}…`;
}

/**
 * A validation message with the value it quotes cut by {@link echo}: valibot's default messages
 * end with `received <the value>`, which can be any part of the request.
 */
export function echoReceived(message: string): string {
  return message.replace(/(received )(.*)$/s, (_match, lead: string, value: string) => lead + echo(value));
}
