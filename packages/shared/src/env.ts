/** zod helpers for environment variables, and the one way to parse them. */
import { z } from 'zod';
import { ConfigError } from './errors.js';

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/** A boolean flag: true/false/1/0/yes/no/on/off. (`z.coerce.boolean()` would read "false" as true.) */
export const BoolEnv = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  return v;
}, z.boolean({ error: 'expected true or false (also 1/0, yes/no, on/off)' }));

/** A comma-separated list; blanks dropped. */
export const CsvEnv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0));

/** Decimal notation only: `z.coerce.number()` also read `0x1F9B` (PORT=0x1F9B listened on 8091), `1e3` and `Infinity`. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;
const decimal = (v: unknown) => (typeof v === 'string' && DECIMAL.test(v.trim()) ? Number(v.trim()) : v);
/** What a number's problem line says: what was expected, beside what was given. */
function numberProblem(i: z.core.$ZodRawIssue): string | undefined {
  if (i.input === undefined) return 'required';
  const given = `not '${String(i.input)}'`;
  if (i.code === 'invalid_type') return i.expected === 'int' ? `a whole number, ${given}` : `a decimal number, ${given}`;
  if (i.code === 'too_small') return `${i.inclusive === false ? 'more than' : 'at least'} ${String(i.minimum)}, ${given}`;
  if (i.code === 'too_big') return `${i.inclusive === false ? 'less than' : 'at most'} ${String(i.maximum)}, ${given}`;
  return undefined;
}
const aNumber = () => z.number({ error: numberProblem });

/** A number written in decimal notation (`2`, `0.5`); `checks` adds bounds (`(n) => n.positive().max(64)`). */
export function numberEnv(checks: (n: z.ZodNumber) => z.ZodNumber = (n) => n) {
  return z.preprocess(decimal, checks(aNumber()));
}

/** An integer written in decimal notation, with bounds. */
export function intEnv(min: number, max: number) {
  return numberEnv((n) => n.int().min(min).max(max));
}

export const PortEnv = intEnv(0, 65535);

/** An address to listen on: a name, an IPv4 address or an IPv6 one with or without brackets (`::`, `[::]`), kept bare. */
export const ListenHostEnv = z.string().min(1).transform((h) => h.replace(/^\[(.*)\]$/, '$1'));

/** `host:port` as a URL or gRPC target writes it: an IPv6 address in brackets (`[::1]:8081`). */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A size in megabytes (`MAX_BODY_MB=0.01`) as whole bytes: what limits compare against and their messages say. */
export const megabytes = (mb: number): number => Math.floor(mb * 1024 * 1024);

/** A text read by `parse`, whose thrown message (naming what is expected) becomes the variable's problem line. */
export function parsedEnv<T>(parse: (text: string) => T) {
  return z.string().transform((s, ctx) => {
    try {
      return parse(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
}

/**
 * Parses `env` with `schema`; on failure throws a ConfigError listing every issue by
 * variable name. A variable set to nothing (or blanks), as `PORT=` or a compose file's
 * `PORT=${PORT}` with PORT unset, is read as unset: its default applies. Nothing parses at
 * import time: callers pass `process.env` explicitly.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const result = schema.safeParse(set);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(env)'}: ${i.message}`),
  );
}
