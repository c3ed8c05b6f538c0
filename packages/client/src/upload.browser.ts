/**
 * upload.ts in a browser build (package.json `browser`): a browser streams a request body only
 * over HTTP/2 (Chromium: "ERR_ALPN_NEGOTIATION_FAILED" over HTTP/1.1, which the API speaks), so
 * a streamed upload is collected into a Blob first (a File's bytes stay where the browser keeps
 * them) and sent whole with fetch.
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
