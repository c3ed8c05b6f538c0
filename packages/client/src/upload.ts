/**
 * Streamed uploads over node:http(s), answering with a fetch `Response`.
 *
 * Why not fetch: Node's fetch (undici) keeps every chunk of a streamed request body in memory
 * until the request ends (https://github.com/nodejs/undici/issues/4058, open at the time of
 * writing). Measured here: uploading a 67 MB batch grew the process by ~65 MB, a 200 MB one by
 * ~200 MB — exactly what streaming is meant to avoid. node:http with `pipeline` keeps it flat
 * (the socket's backpressure paces the reads). Only streamed bodies take this path; everything
 * else, and every request when the caller supplies their own `fetch`, uses fetch.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** Error answers are read whole before the upload is stopped; they are small, but cap them. */
const MAX_ERROR_BODY = 1024 * 1024;

export interface UploadInit {
  method: string;
  headers: Record<string, string>;
  body: ReadableStream<Uint8Array>;
  signal?: AbortSignal | undefined;
}

/**
 * Sends `init.body` as a chunked request and resolves with the answer as a `Response`. A
 * success answer's body streams; an error answer (which a server may send before reading the
 * whole upload) is read first, then the rest of the upload is abandoned.
 */
export function uploadStream(url: string, init: UploadInit): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const target = new URL(url);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(target, { method: init.method, headers: init.headers, ...(init.signal ? { signal: init.signal } : {}) });
    const source = Readable.fromWeb(init.body as WebReadableStream<Uint8Array>);
    let answered = false;

    req.on('response', (res: IncomingMessage) => {
      answered = true;
      const status = res.statusCode ?? 0;
      if (status < 300) {
        resolve(toResponse(res, Readable.toWeb(res) as ReadableStream<Uint8Array>));
        return;
      }
      readCapped(res)
        .then((text) => {
          resolve(toResponse(res, text));
          // The server has said no: stop reading the file. (Errors from here on are moot.)
          source.destroy();
        })
        .catch(reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    pipeline(source, req).catch((err: unknown) => {
      if (!answered) reject(err);
    });
  });
}

function toResponse(res: IncomingMessage, body: ReadableStream<Uint8Array> | string): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  const status = res.statusCode ?? 0;
  // A Response may not carry a body for these statuses.
  const nullBody = status === 204 || status === 205 || status === 304;
  return new Response(nullBody ? null : body, { status, statusText: res.statusMessage ?? '', headers });
}

async function readCapped(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    if (size < MAX_ERROR_BODY) chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
}
