/** Small fetch helpers for tests: JSON in, status + headers + parsed body out. */
export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
  /** the body as text, as it came (`body` is it parsed, when it parses as JSON) */
  text: string;
}

export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  /** abort the request after this long (none: wait as long as fetch does) */
  timeoutMs?: number,
): Promise<Reply<T>> {
  const init: RequestInit = { method, headers: { ...headers }, ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** A deterministic pseudo-random row generator (mulberry32), so failures reproduce. */
export function rows(seed: number, count: number, width: number): number[][] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => Array.from({ length: width }, () => Math.fround(next() * 4 - 2)));
}
