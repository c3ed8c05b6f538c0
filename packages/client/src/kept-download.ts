/**
 * A results download to a file that a later run may finish: the bytes so far in
 * `<file>.partial`, and beside them `<file>.partial.json`, naming what they are the start of
 * (the batch, the form asked for, the results' ETag). A run that finds both, naming the same
 * batch and form, asks only for the rest (`Range`), and goes on only if the part that comes is
 * tagged as they were; else it starts over. A partial without its note, or with one naming
 * something else, is overwritten.
 */
import { readFile, stat, unlink, writeFile } from './local-files.js';

/** What a download asks for: the same batch in the same form, or its partial bytes are not a start of it. */
export interface ResultsForm {
  batch: string;
  format: 'ndjson' | 'npy';
  failedOnly: boolean;
  output: string;
}

interface Note extends ResultsForm {
  /** the opaque part of the results' ETag (`"…"`, without `W/`) when the partial's first byte was written */
  etag: string;
}

export const partialPath = (destination: string): string => `${destination}.partial`;
const notePath = (destination: string): string => `${partialPath(destination)}.json`;

/** PURE: whether `note` (parsed JSON of unknown shape) names `form`. */
export function noteNames(note: unknown, form: ResultsForm): note is Note {
  const n = note as Partial<Note> | null;
  return typeof n === 'object' && n !== null && typeof n.etag === 'string' && n.etag.startsWith('"')
    && n.batch === form.batch && n.format === form.format && n.failedOnly === form.failedOnly && n.output === form.output;
}

/** The partial bytes a previous run kept of `form` at `destination`: their length and tag; undefined when there are none to go on from. */
export async function keptPartial(destination: string, form: ResultsForm): Promise<{ bytes: number; etag: string } | undefined> {
  const note = await readFile(notePath(destination), 'utf8').then((t) => JSON.parse(t) as unknown, () => undefined);
  if (!noteNames(note, form)) return undefined;
  const s = await stat(partialPath(destination)).catch(() => undefined);
  return s?.isFile() && s.size > 0 ? { bytes: s.size, etag: note.etag } : undefined;
}

/** Notes that `<destination>.partial` holds the start of `form`'s results tagged `etag`. */
export async function noteKept(destination: string, form: ResultsForm, etag: string): Promise<void> {
  await writeFile(notePath(destination), `${JSON.stringify({ ...form, etag } satisfies Note)}\n`);
}

/** Removes the note (and with `partial`, the partial bytes too). */
export async function forgetKept(destination: string, partial: boolean): Promise<void> {
  await unlink(notePath(destination)).catch(() => undefined);
  if (partial) await unlink(partialPath(destination)).catch(() => undefined);
}
