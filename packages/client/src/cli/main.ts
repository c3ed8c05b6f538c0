#!/usr/bin/env node
/**
 * `maas`: the CLI's process entry. Everything else is in run.ts, which works on an `Io` so it
 * can be tested in-process; here are only the things that need the real process.
 */
import { runCli } from './run.js';

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  // The first Ctrl-C stops waiting politely (and says how to resume); a second one exits now.
  if (++interrupts > 1) process.exit(130);
  controller.abort(new Error('interrupted'));
});
// `maas batch results ID | head`: the reader went away; that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  signal: controller.signal,
});
