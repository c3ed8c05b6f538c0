/** PURE: how the CLI prints things: JSON for pipes, tables and counts for people. */

import { stringifyJson } from '../json.js';

/**
 * JSON, indented, with arrays of plain values kept on one line: a tensor's `data` of 1000
 * numbers stays one line instead of a thousand. Still valid JSON, so `| jq` works; a `bigint`
 * (an INT64 past 2^53) is written as its digits.
 */
export function formatJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => stringifyJson(v) ?? 'null').join(', ')}]`;
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + formatJson(v === undefined ? null : v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function');
    if (entries.length === 0) return '{}';
    const inner = indent + '  ';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return stringifyJson(value) ?? 'null';
}

/** Columns padded to their widest cell; the last column is not padded. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** 1234567 → `1,234,567` (the same in every locale, so logs compare). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Seconds → `39s`, `4m05s`, `2h03m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Bytes → `512 B`, `14.2 MB` (decimal units, as file sizes are usually shown). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * A word a POSIX shell (sh, bash, zsh) reads back as itself: bare when it holds only characters
 * no shell treats specially, else in single quotes (a `'` inside written `'\''`).
 */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word) && !word.startsWith('=')) return word; // zsh expands a leading `=word` to a command's path
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
