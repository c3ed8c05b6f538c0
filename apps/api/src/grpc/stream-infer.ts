/**
 * `ModelStreamInfer`: a stream of ModelInferRequests answered by a stream of
 * ModelStreamInferResponses (Triton's streaming extension; tritonclient's `start_stream` and
 * `async_stream_infer`, perf_analyzer's `--streaming`). Each request is a job as ModelInfer's
 * is, and runs as soon as it arrives (requests of one stream micro-batch together like any
 * others); each gets one response, in the order the requests came, as Triton answers a model
 * that is not decoupled. A request that fails does not end the stream: its response carries
 * `error_message` (and `infer_response` with its id and model, so a client can tell which one
 * failed); an undecodable message likewise. A request that asks for Triton's final-response
 * flag gets it on that response (finalFlagged).
 *
 * The key is checked once, when the stream opens (UNAUTHENTICATED or PERMISSION_DENIED end it
 * before any request); the tenant's rate limit counts each request. The stream's deadline
 * bounds each request's wait. At most MAX_IN_FLIGHT requests of a stream wait for their
 * answer; past that the stream is not read (HTTP/2 flow control holds the client back) until
 * answers have gone out. A stream the client cancels is answered no more (its jobs go on, as a
 * cancelled ModelInfer's do). When the API stops, each open stream answers what it has taken
 * (requests still unread then get the `shutting-down` error) and ends: OK when the client had
 * sent its last request, else UNAVAILABLE (whatever it sent later was not taken: it resends
 * those on another stream). A message that cannot be decompressed, or decompresses past
 * MAX_BODY_MB, fails alone (inflation.ts); one whose frame says it is larger than MAX_BODY_MB
 * ends the stream (RESOURCE_EXHAUSTED, grpc-js's check before any byte is read), and answers
 * not yet written are lost with it.
 */
import { status as Status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Deps } from '../deps.js';
import { Stop } from '../services/stop-signal.js';
import { AppError } from '@maas/shared';
import { MalformedMessage } from './proto.js';
import { authorizationOf, callerOf, errorStatus, limitOf, malformed } from './calls.js';
import { parameterValue, type GrpcInferRequest } from './tensors.js';

/**
 * PURE: a response as the request asked for it. A request with Triton's
 * `triton_enable_empty_final_response` (tritonclient's `enable_empty_final_response=True`,
 * which clients written for decoupled models send to know when a request is done) gets
 * `triton_final_response: true` on its response, which is its last (the one it gets here).
 */
export function finalFlagged(req: Partial<GrpcInferRequest>): (response: object) => object {
  if (parameterValue(req.parameters?.['triton_enable_empty_final_response']) !== true) return (response) => response;
  return (response) => {
    const own = (response as { parameters?: Record<string, unknown> }).parameters;
    return { ...response, parameters: { ...own, triton_final_response: { bool_param: true } } };
  };
}

/** Requests of one stream waiting for their answer at once, beyond which the stream is not read. */
export const MAX_IN_FLIGHT = 256;

type Infer = (req: GrpcInferRequest, tenant: string, limit: { timeoutMs?: number; signal: Stop }) => Promise<unknown>;

/** The open streams, so that a stop can end them (GrpcFrontDoor.close). */
export class OpenStreams {
  private readonly closers = new Set<() => void>();
  private stopping = false;

  add(close: () => void): () => void {
    if (this.stopping) queueMicrotask(close);
    this.closers.add(close);
    return () => this.closers.delete(close);
  }

  /** Every open stream answers what it has taken, then ends. */
  closeAll(): void {
    this.stopping = true;
    for (const close of [...this.closers]) close();
  }
}

export function streamInfer(deps: Deps, infer: Infer, open: OpenStreams) {
  const resolve = callerOf(deps);
  return (call: ServerDuplexStream<Record<string, unknown>, unknown>) => {
    let tenant: string;
    try {
      tenant = resolve(authorizationOf(call.metadata));
    } catch (err) {
      call.emit('error', errorStatus(deps, err));
      return;
    }
    const cancelled = new Stop();
    const deadline = call.getDeadline();
    let answered = Promise.resolve(); // responses go out in the order the requests came
    let inFlight = 0;
    let closing = false; // the API is stopping
    let clientDone = false; // the client has sent its last request
    let ended = false;
    /** Once every request taken is answered: OK when the client had sent its last, else UNAVAILABLE. */
    const finish = () => {
      if (!clientDone && !closing) return;
      void answered.then(() => {
        if (ended) return;
        ended = true;
        forget();
        if (cancelled.aborted) return;
        if (clientDone) call.end();
        // The client may still be sending: what it sent after this has no answer, and the
        // status tells it so (grpc-js sends the answers written before it first).
        else call.emit('error', { code: Status.UNAVAILABLE, details: 'the API is stopping: requests this stream did not answer were not taken; send them on another stream' });
      });
    };
    const forget = open.add(() => {
      closing = true;
      call.resume(); // what waits unread is answered `shutting-down` now, not left unanswered
      finish();
    });
    call.once('cancelled', () => {
      cancelled.stop();
      forget();
    });

    /** Once the call takes writes again, or is gone (no listener left behind either way). */
    const writable = () => new Promise<void>((resolve) => {
      const done = () => {
        call.off('drain', done);
        call.off('cancelled', done);
        resolve();
      };
      call.on('drain', done);
      call.on('cancelled', done);
    });

    const answer = async (req: unknown): Promise<object> => {
      if (req instanceof MalformedMessage) throw malformed(req);
      if (closing) throw new AppError('shutting-down', 'the API is stopping: open another stream');
      await deps.rateLimit(tenant);
      return (await infer(req as GrpcInferRequest, tenant, limitOf(cancelled, deadline))) as object;
    };

    call.on('data', (req: unknown) => {
      inFlight++;
      if (inFlight >= MAX_IN_FLIGHT) call.pause();
      const head: Partial<GrpcInferRequest> = req instanceof MalformedMessage ? {} : (req as GrpcInferRequest);
      const flagged = finalFlagged(head);
      const response = answer(req).then(
        (infer_response) => ({ error_message: '', infer_response: flagged(infer_response) }),
        (err: unknown) => ({
          error_message: errorStatus(deps, err, tenant).details,
          infer_response: flagged({ model_name: head.model_name ?? '', model_version: head.model_version ?? '', id: head.id ?? '' }),
        }),
      );
      answered = answered.then(async () => {
        const message = await response;
        inFlight--;
        if (call.isPaused() && inFlight < MAX_IN_FLIGHT / 2) call.resume();
        if (cancelled.aborted || ended) return;
        if (!call.write(message)) await writable();
      });
    });
    call.on('end', () => {
      clientDone = true;
      finish();
    });
  };
}
