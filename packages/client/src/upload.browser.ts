/**
 * upload.ts in a browser build (package.json `browser`): a browser streams a request body only
 * over HTTP/2 (Chromium: "ERR_ALPN_NEGOTIATION_FAILED" over HTTP/1.1, which the API speaks), so
 * a streamed upload (the NDJSON the SDK makes of the lines) is collected into a Blob first, the
 * whole upload in the page's memory, and sent with fetch: `onUploadProgress` reaches its end
 * before the first byte leaves.
 */
export interface UploadInit {
  method: string;
  headers: Record<string, string>;
  body: ReadableStream<Uint8Array>;
  signal?: AbortSignal | undefined;
}

export async function uploadStream(url: string, init: UploadInit): Promise<Response> {
  const body = await new Response(init.body).blob();
  return globalThis.fetch(url, { method: init.method, headers: init.headers, body, ...(init.signal ? { signal: init.signal } : {}) });
}
