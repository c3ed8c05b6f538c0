/**
 * The Node APIs behind what reads or writes a path: a batch submitted from a file
 * (`ndjsonFile`/`npyFile`), results saved to a file and resumed from its partial copy. Kept in
 * one module so the browser build (package.json `browser`) swaps it for local-files.browser.ts,
 * which says what to use in a page instead; everything else in the SDK needs no Node API.
 */
export { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
export { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
export { once } from 'node:events';
export { finished } from 'node:stream/promises';
