/**
 * PURE: what the queue board (`/admin/queues`) shows of a job: its shape, never the data a
 * tenant sent or got back. The board is for operators reading queue states; a job's inputs,
 * outputs, `metadata`, a webhook's body and its URL's path and query (which may hold a token)
 * are the tenants' own, and the admin key showed every tenant's (a privacy audit). Tensors keep
 * their name, datatype and shape; members their id and rows; a webhook its origin.
 */

import { urlOrigin } from '@maas/shared';

const WITHHELD = '[withheld]';

/** A job's `data` as the board shows it (bull-board's `data` formatter). */
export function boardData(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return WITHHELD;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) out[key] = boardField(key, value);
  return out;
}

/** A job's return value as the board shows it (bull-board's `returnValue` formatter). */
export function boardReturnValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value === null || value === undefined ? value : WITHHELD;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = key === 'outputs' ? tensorShapes(v) : key === 'payload' || key === 'rowErrors' ? WITHHELD : v;
  return out;
}

function boardField(key: string, value: unknown): unknown {
  switch (key) {
    case 'inputs':
    case 'outputs':
      return tensorShapes(value);
    case 'members':
      return Array.isArray(value) ? value.map((m: { id?: unknown; rows?: unknown }) => ({ id: m?.id, rows: m?.rows })) : WITHHELD;
    case 'webhook':
      return typeof value === 'object' && value !== null ? { ...value, url: originOf((value as { url?: unknown }).url) } : WITHHELD;
    case 'url':
      return originOf(value);
    case 'metadata':
    case 'body':
    case 'payload':
      return WITHHELD;
    default:
      return value;
  }
}

/** Requested outputs ({name, parameters}) keep their names; tensors only name, datatype and shape. */
function tensorShapes(value: unknown): unknown {
  if (!Array.isArray(value)) return value === undefined ? value : WITHHELD;
  return value.map((t: { name?: unknown; datatype?: unknown; shape?: unknown }) => {
    const shown: Record<string, unknown> = { name: t?.name };
    if (t?.datatype !== undefined) shown['datatype'] = t.datatype;
    if (t?.shape !== undefined) shown['shape'] = t.shape;
    return shown;
  });
}

function originOf(url: unknown): string {
  const origin = urlOrigin(url);
  return origin !== undefined ? `${origin} ${WITHHELD}` : WITHHELD;
}
