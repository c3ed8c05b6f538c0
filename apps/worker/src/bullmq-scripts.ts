/**
 * Running the worker's own Lua scripts on BullMQ's connections (its fetch, its hand-backs), as
 * BullMQ runs its own: defined once on the connection and sent by SHA.
 */

/** A script: its command name on a connection, its number of keys and its text. */
export interface Script { name: string; numberOfKeys: number; lua: string }

/** A command connection as BullMQ wraps ioredis (BullMQ's wrapper passes these through to it). */
export interface CommandClient {
  runCommand(name: string, args: (string | number | Buffer)[]): Promise<unknown>;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

/**
 * Runs `script` on `client` with `args` (its keys, then its arguments): defined on the
 * connection once, so that ioredis sends it by its SHA (`EVALSHA`, the text only when Redis has
 * not seen it yet).
 */
export function runScript(client: CommandClient, script: Script, args: (string | number)[]): Promise<unknown> {
  if (typeof (client as unknown as Record<string, unknown>)[script.name] !== 'function') client.defineCommand(script.name, script);
  return client.runCommand(script.name, args);
}
