/**
 * local-files.ts in a browser build (package.json `browser`): a page has no file paths. Each
 * export throws, naming what a page does instead.
 */
const noPaths = (what: string) => (): never => {
  throw new Error(`${what} needs Node's file system; in a browser pass \`lines\` as an array, an async iterable or a File's stream() (file.stream()), and read results() as a stream`);
};
export const createReadStream = noPaths('reading a file path');
export const createWriteStream = noPaths('writing a file path');
export const readFile = noPaths('reading a file path');
export const rename = noPaths('writing a file path');
export const stat = noPaths('reading a file path');
export const unlink = noPaths('writing a file path');
export const writeFile = noPaths('writing a file path');
export const once = noPaths('writing to a Node stream');
export const finished = noPaths('writing to a Node stream');
