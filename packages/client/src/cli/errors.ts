/**
 * PURE: any error → what the user reads on stderr and the exit code. The goal is a message
 * that says what to do next: the API's own title and detail, each rejected input, and for the
 * common setup mistakes (API not started, no key) the fix.
 */
import {
  MaasApiError, MaasConnectionError, MaasJobFailedError, MaasProtocolError, MaasTimeoutError, MaasWaitTimeoutError,
} from '../errors.js';
import { Interrupted, UsageError } from './command.js';

/** the API refused, could not be reached, or the work failed */
export const EXIT_FAILED = 1;
/** the command line itself is wrong (unknown option, missing argument, unreadable input file) */
export const EXIT_USAGE = 2;
/** interrupted with Ctrl-C */
export const EXIT_INTERRUPTED = 130;

export interface Described {
  message: string;
  code: number;
}

const CONNECTION_HINTS: Record<string, string> = {
  ECONNREFUSED: 'is the API running? (npm start)',
  ENOTFOUND: 'unknown host (ENOTFOUND)',
  EAI_AGAIN: 'host name lookup failed (EAI_AGAIN)',
  ECONNRESET: 'the connection was reset (ECONNRESET)',
  UND_ERR_SOCKET: 'the API closed the connection mid-answer (did it restart?)',
};

const FS_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on device',
  EPIPE: 'output closed',
};

/** `command`: the command being run, whose help a usage error points to. */
export function describeError(err: unknown, url: string, command?: string): Described {
  if (err instanceof UsageError) {
    const name = err.command ?? command;
    const help = name ? `maas ${name} --help` : 'maas --help';
    return { message: `error: ${err.message}\n(see "${help}")`, code: EXIT_USAGE };
  }
  if (err instanceof Interrupted) return { message: `interrupted: ${err.message}`, code: EXIT_INTERRUPTED };
  if (err instanceof MaasApiError) {
    const lines = [`error: ${err.title}${err.detail ? `: ${err.detail}` : ''}`];
    // The detail already joins the issues; listed one a line they are easier to scan.
    if (err.errors && err.errors.length > 1) for (const i of err.errors) lines.push(`  - ${i.path ? `${i.path}: ` : ''}${i.message}`);
    if (err.status === 401) {
      // The server says whether a key came and was not known, or none came.
      lines.push(/not recognised/i.test(err.detail ?? '') ? 'hint: the key given (--api-key or MAAS_API_KEY) is not one this server knows' : 'hint: pass --api-key KEY or set MAAS_API_KEY');
    }
    // A base URL given with the API's prefix (`--url http://host:8080/v1`) doubles it.
    if (err.status === 404 && /\/v[12]\/v[12](\/|\b)/.test(err.detail ?? '')) lines.push('hint: --url (or MAAS_URL) is the server\'s root, without /v1 or /v2');
    if (err.retryAfter !== undefined) lines.push(`(the server asks to retry after ${err.retryAfter} s)`);
    return { message: lines.join('\n'), code: EXIT_FAILED };
  }
  if (err instanceof MaasTimeoutError) {
    const within = `within ${Math.round(err.timeoutMs / 1000)} s`;
    return { message: err.awaited === 'answer' ? `error: no answer from ${url} ${within}` : `error: ${url} answered, then its body did not finish ${within}`, code: EXIT_FAILED };
  }
  if (err instanceof MaasConnectionError) {
    const why = CONNECTION_HINTS[err.code ?? ''] ?? err.reason;
    return { message: `error: ${err.lost ? 'lost the connection to' : 'cannot reach'} ${url}: ${why}`, code: EXIT_FAILED };
  }
  if (err instanceof MaasJobFailedError || err instanceof MaasWaitTimeoutError || err instanceof MaasProtocolError) {
    return { message: `error: ${err.message}`, code: EXIT_FAILED };
  }
  const sys = err as NodeJS.ErrnoException;
  if (sys && typeof sys.code === 'string' && FS_ERRORS[sys.code]) {
    return { message: `error: ${sys.path ? `${sys.path}: ` : ''}${FS_ERRORS[sys.code]}`, code: EXIT_FAILED };
  }
  return { message: `error: ${err instanceof Error ? err.message : String(err)}`, code: EXIT_FAILED };
}
