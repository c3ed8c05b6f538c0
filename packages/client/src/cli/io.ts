/**
 * Where the CLI reads and writes. Commands never touch `process` directly, so they can be run
 * in-process by tests with captured streams and a stub fetch.
 */
import type { Readable } from 'node:stream';

export interface OutStream extends NodeJS.WritableStream {
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  stdin: Readable;
  env: Record<string, string | undefined>;
  /** aborts on Ctrl-C: long waits stop and say how to pick up again */
  signal: AbortSignal;
  /** the fetch the client uses (tests); default the global one */
  fetch?: typeof fetch | undefined;
  /** the clock, for progress rates (tests) */
  now?: (() => number) | undefined;
}
