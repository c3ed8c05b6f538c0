import type { IncomingMessage } from 'node:http';

/**
 * The path of a request's target, as express routes it: without its query, and also for a
 * target in absolute form (`POST http://host/v1/jobs`, RFC 9112 §3.2.2); '' when unreadable.
 */
export function targetPath(req: IncomingMessage): string {
  const url = req.url ?? '';
  if (url.startsWith('/')) {
    const q = url.indexOf('?');
    return q < 0 ? url : url.slice(0, q);
  }
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}
