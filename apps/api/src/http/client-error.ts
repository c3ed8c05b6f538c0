/**
 * What Node's HTTP parser refuses before express sees a request (headers over the size limit,
 * a request line or framing that is not HTTP/1.1, a request too slow to arrive), answered as
 * `application/problem+json` like every other error, instead of Node's bare status line with
 * an empty body. There is no request or response object then: the answer is written to the
 * socket as it is, and the connection closed. The problem `type` is `about:blank` (RFC 9457
 * §4.2.1): these are HTTP's own statuses, not the service's problem types. The body also
 * carries `"error"` (the Open Inference Protocol's error body, as on every /v2 route): the
 * request's path is not known here, and a KServe client reads only that member.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** PURE: the status and detail for a parser error's code. */
export function clientErrorProblem(code: string | undefined): { status: number; title: string; detail: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, title: 'Request Header Fields Too Large', detail: 'the request line and headers exceed the server\'s limit (16 KB unless Node\'s --max-http-header-size says otherwise)' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, title: 'Content Too Large', detail: 'a chunk\'s extensions exceed the server\'s limit' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, title: 'Request Timeout', detail: 'the request did not arrive whole in time' };
    default:
      return { status: 400, title: 'Bad Request', detail: `the request is not valid HTTP/1.1 (${code ?? 'unparsable'})` };
  }
}

/** PURE: the problem+json body of one of HTTP's own statuses. */
const problemBody = (status: number, title: string, detail: string) => JSON.stringify({ type: 'about:blank', title, status, detail, error: detail });

/** PURE: the whole HTTP response for a parser error, closing the connection. */
export function clientErrorResponse(code: string | undefined): string {
  const { status, title, detail } = clientErrorProblem(code);
  const body = problemBody(status, title, detail);
  return `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * A request Node would refuse with an empty body: an HTTP/1.1 request without `Host` (RFC 9112
 * §3.2: a 400; the server is made with `requireHostHeader: false` so that it comes here).
 * Undefined for any other request.
 */
export function refusedRequestProblem(req: IncomingMessage): { status: number; title: string; detail: string } | undefined {
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined) {
    return { status: 400, title: 'Bad Request', detail: 'an HTTP/1.1 request needs a Host header' };
  }
  return undefined;
}

/** Answers `problem` on `res`, closing the connection (the request's body is not read). */
export function answerProblem(res: ServerResponse, { status, title, detail }: { status: number; title: string; detail: string }): void {
  const body = problemBody(status, title, detail);
  res.writeHead(status, { 'Content-Type': 'application/problem+json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' }).end(body);
}

/**
 * Answers parser errors on `server` as problems (a connection reset, or one with a response
 * under way, is only closed), and an `Expect` Node does not meet (anything but `100-continue`).
 */
export function answerClientErrors(server: Server): void {
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    answerProblem(res, { status: 417, title: 'Expectation Failed', detail: `the server meets no expectation but 100-continue (Expect: ${String(req.headers.expect).slice(0, 100)})` });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(err.code));
  });
}
