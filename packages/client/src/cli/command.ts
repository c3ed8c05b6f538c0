/**
 * The shape of a CLI command, and the helpers commands use to read their arguments. Commands
 * are data (usage, options, help) plus a `run`, so `--help` and argument checking are written
 * once, in `run.ts`, for all of them.
 */
import type { MaasClient } from '../client.js';
import type { Io } from './io.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** shown in help: `--wait N` */
  value?: string;
  help: string;
}

export interface Context {
  /** positional arguments after the command words */
  args: string[];
  opts: Record<string, string | boolean | string[] | undefined>;
  io: Io;
  /** the API base URL in use */
  url: string;
  /** the client, made on first use (so `--help` and usage errors need no URL) */
  client(): MaasClient;
}

export interface Command {
  /** command words: `jobs get` */
  name: string;
  summary: string;
  /** `ID [--wait N]`, after `maas <name> ` */
  usage: string;
  /** positional arguments: at least `min`, at most `max` (default min) */
  args?: { min: number; max?: number };
  options?: Record<string, OptionSpec>;
  /** extra help text and examples */
  details?: string;
  /** resolves to the exit code (default 0) */
  run(ctx: Context): Promise<number | void>;
}

/** A mistake in how the CLI was invoked: exit code 2, with a pointer to `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

export function stringOpt(ctx: Context, name: string): string | undefined {
  const v = ctx.opts[name];
  return typeof v === 'string' ? v : undefined;
}

export function requiredOpt(ctx: Context, name: string): string {
  const v = stringOpt(ctx, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export function listOpt(ctx: Context, name: string): string[] {
  const v = ctx.opts[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function flag(ctx: Context, name: string): boolean {
  return ctx.opts[name] === true;
}

/** A non-negative number of seconds (`--wait 30`). */
export function secondsOpt(ctx: Context, name: string): number | undefined {
  const v = stringOpt(ctx, name);
  if (v === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new UsageError(`--${name} must be a number of seconds, not ${JSON.stringify(v)}`);
  return Number(v);
}

/** A model version: a positive integer. */
export function versionOpt(ctx: Context): string | undefined {
  const v = stringOpt(ctx, 'version');
  if (v !== undefined && !/^[1-9]\d*$/.test(v)) throw new UsageError(`--version must be a positive integer, not ${JSON.stringify(v)}`);
  return v;
}

/** The user pressed Ctrl-C: exit 130 with a note on how to pick up again. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}
