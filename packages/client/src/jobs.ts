/**
 * `/v1/jobs`: asynchronous inference. `create` queues, `get`/`wait` read (long-polling, so a
 * waiting client makes one request per `pollSeconds`, not one per interval tick), `run` is the
 * everyday "give me the result" call.
 */
import { MaasJobFailedError, MaasWaitTimeoutError } from './errors.js';
import { sleep, throughRestarts } from './time.js';
import { newIdempotencyKey, objectOf, type CallOptions, type Transport } from './transport.js';
import { refuseBinaryOutputs } from './json.js';
import { isTerminal, type Job, type JobRequest } from './types.js';

const JOB = objectOf('job');

export interface CreateJobOptions extends CallOptions {
  /**
   * The same key and body return the same job instead of a second one. When retries are on
   * and no key is given, one is generated, so a retried create can never queue the job twice.
   */
  idempotencyKey?: string | undefined;
  /** seconds to wait for the job to finish before answering (`Prefer: wait=N`) */
  wait?: number | undefined;
}

export interface GetJobOptions extends CallOptions {
  /** long-poll: answer as soon as the job ends, or after this many seconds */
  wait?: number | undefined;
}

export interface WaitOptions {
  /** give up (MaasWaitTimeoutError) after this long; default 5 minutes; Infinity waits forever */
  timeoutMs?: number | undefined;
  /** seconds per long-poll request; default 30 (the server caps it: MAX_WAIT_S, 55 s by default) */
  pollSeconds?: number | undefined;
  signal?: AbortSignal | undefined;
}

export type RunOptions = WaitOptions & Pick<CreateJobOptions, 'idempotencyKey'>;

/** A job that `run` returned: it succeeded, so its outputs are there. */
export type SucceededJob = Job & { status: 'succeeded'; outputs: NonNullable<Job['outputs']> };

export const DEFAULT_WAIT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_POLL_SECONDS = 30;

/** PURE: how long one long-poll may hold: `pollSeconds`, or what is left of a wait's time (to 0.1 s, at least 0.1), whichever is less. */
export const pollFor = (leftMs: number, pollSeconds: number): number => Math.min(pollSeconds, Math.max(0.1, Math.ceil(leftMs / 100) / 10));

export class Jobs {
  constructor(private readonly http: Transport) {}

  async create(req: JobRequest, opts: CreateJobOptions = {}): Promise<Job> {
    refuseBinaryOutputs(undefined, req.outputs);
    const key = opts.idempotencyKey ?? (this.http.retriesEnabled ? newIdempotencyKey() : undefined);
    const { body } = await this.http.json<Job>({
      method: 'POST',
      path: '/v1/jobs',
      expect: JOB,
      json: req,
      headers: { 'idempotency-key': key, prefer: opts.wait !== undefined ? `wait=${opts.wait}` : undefined },
      signal: opts.signal,
      timeoutMs: this.http.pollTimeoutMs(opts.wait, opts.timeoutMs),
    });
    return body;
  }

  async get(id: string, opts: GetJobOptions = {}): Promise<Job> {
    const { body } = await this.http.json<Job>({
      method: 'GET',
      path: `/v1/jobs/${encodeURIComponent(id)}`,
      expect: JOB,
      query: { wait: opts.wait },
      signal: opts.signal,
      timeoutMs: this.http.pollTimeoutMs(opts.wait, opts.timeoutMs),
    });
    return body;
  }

  /** Queued jobs are canceled for sure; a running one may still finish. Returns the job as it now stands. */
  async cancel(id: string, opts: CallOptions = {}): Promise<Job> {
    const { body } = await this.http.json<Job>({ method: 'POST', path: `/v1/jobs/${encodeURIComponent(id)}/cancel`, expect: JOB, ...opts });
    return body;
  }

  /**
   * Resolves with the job once it is terminal (succeeded, failed or canceled: check `status`).
   * Throws MaasWaitTimeoutError, carrying the job as last seen, when `timeoutMs` passes first.
   * An API that restarts meanwhile (connection refused, reset or closed mid-answer) is waited
   * for, up to a minute and never past `timeoutMs`.
   */
  async wait(id: string, opts: WaitOptions = {}): Promise<Job> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const pollSeconds = Math.max(1, opts.pollSeconds ?? DEFAULT_POLL_SECONDS);
    for (;;) {
      const started = Date.now();
      // The time left is read at each try: one made after riding out a restart asks for less.
      const job = await throughRestarts(() => this.get(id, { wait: pollFor(deadline - Date.now(), pollSeconds), signal: opts.signal }), deadline, opts.signal);
      if (isTerminal(job.status)) return job;
      if (Date.now() >= deadline) throw new MaasWaitTimeoutError(`job ${id} still ${job.status} after ${timeoutMs} ms`, job);
      // A server that does not long-poll (wait capped to 0) answers at once: do not spin.
      const took = Date.now() - started;
      if (took < 1000) await sleep(Math.min(1000 - took, deadline - Date.now()), opts.signal);
    }
  }

  /**
   * Create, wait, and return the succeeded job; throws MaasJobFailedError when it ends failed
   * or canceled. The create itself waits (`Prefer: wait`), so a quick job costs one request.
   * Carried through an API restart as `wait` is, the create too: it always sends an
   * Idempotency-Key (`idempotencyKey`, or one of its own), so sending it again is safe.
   */
  async run(req: JobRequest, opts: RunOptions = {}): Promise<SucceededJob> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const pollSeconds = Math.max(1, opts.pollSeconds ?? DEFAULT_POLL_SECONDS);
    // One key for every attempt: a create sent again after the API went away mid-answer (it may
    // have queued the job) gets the job it queued, not a second one.
    const idempotencyKey = opts.idempotencyKey ?? newIdempotencyKey();
    const first = await throughRestarts(() => this.create(req, {
      idempotencyKey,
      wait: pollFor(deadline - Date.now(), pollSeconds),
      signal: opts.signal,
    }), deadline, opts.signal);
    const job = isTerminal(first.status)
      ? first
      : await this.wait(first.id, { timeoutMs: Math.max(0, deadline - Date.now()), pollSeconds, signal: opts.signal }).catch((err: unknown) => {
          // Say the caller's timeout, not what was left of it after the create.
          if (err instanceof MaasWaitTimeoutError) throw new MaasWaitTimeoutError<Job>(`job ${first.id} still ${(err.last as Job).status} after ${timeoutMs} ms`, err.last as Job);
          throw err;
        });
    if (job.status !== 'succeeded') throw new MaasJobFailedError(job);
    return job as SucceededJob;
  }
}
