/** `maas jobs create|get|cancel`: asynchronous jobs. Each prints the job object as JSON. */
import { newIdempotencyKey } from '../../transport.js';
import type { Job, JobRequest, Tensor } from '../../types.js';
import { Interrupted, listOpt, secondsOpt, stringOpt, UsageError, versionOpt, type Command } from '../command.js';
import { EXIT_FAILED } from '../errors.js';
import { formatJson } from '../format.js';
import { outputsFromArgs, readJsonFile, tensorsFromArgs } from '../inputs.js';

/** A job printed as failed or canceled: the work failed (exit 1, as the help's footer says), though the call worked. */
const endedBadly = (status: string): boolean => status === 'failed' || status === 'canceled';

const waitOption = { type: 'string', value: 'N', help: 'wait up to N seconds for the job to finish (the server caps N)' } as const;

export const jobsCreate: Command = {
  name: 'jobs create',
  summary: 'queue a job and print it (with --wait, once it is done)',
  usage: '--model M (--data FILE | --input NAME=JSON ...) [--version V] [--wait N] [--idempotency-key K]',
  options: {
    model: { type: 'string', value: 'M', help: 'the model (overrides "model" in the file)' },
    data: { type: 'string', value: 'FILE', help: 'a job request {"model"?, "inputs", "outputs"?, "webhook"?, ...} (- for stdin)' },
    input: { type: 'string', multiple: true, value: 'NAME=JSON', help: 'an input tensor instead of --data; datatype from the model' },
    output: { type: 'string', multiple: true, value: 'NAME[:K]', help: 'outputs to return; NAME:K asks for the top-K classes' },
    version: { type: 'string', value: 'V', help: 'model version (default: the newest served)' },
    wait: waitOption,
    'idempotency-key': { type: 'string', value: 'K', help: 'the same key and request return the same job' },
  },
  details: [
    'Examples:',
    '  maas jobs create --model penguins --input \'features=[[39.1,18.7,181,3750]]\' --wait 10',
    '  maas jobs create --data request.json | jq -r .id',
  ].join('\n'),
  async run(ctx) {
    const dataFile = stringOpt(ctx, 'data');
    const pairs = listOpt(ctx, 'input');
    if (!pairs.length === !dataFile) throw new UsageError('give the inputs with --data FILE or --input NAME=JSON (one of the two)');
    const version = versionOpt(ctx);
    let req: JobRequest;
    if (dataFile) {
      const body = await readJsonFile(dataFile, ctx.io.stdin);
      const model = stringOpt(ctx, 'model') ?? body['model'];
      if (typeof model !== 'string' || !model) throw new UsageError(`--model is required (${dataFile} names no "model")`);
      req = { ...(body as Partial<JobRequest>), model } as JobRequest;
    } else {
      const model = stringOpt(ctx, 'model');
      if (!model) throw new UsageError('--model is required');
      const meta = await ctx.client().models.get(model, { version, signal: ctx.io.signal });
      const inputs: Tensor[] = tensorsFromArgs(pairs, meta.inputs, model);
      req = { model, inputs };
    }
    if (version) req.version = version;
    const outputs = outputsFromArgs(listOpt(ctx, 'output'));
    if (outputs) req.outputs = outputs;
    // A key of our own when none is given, so a create stopped before its answer (Ctrl-C during
    // --wait: the job may be queued) can be picked up with it instead of queued twice.
    const idempotencyKey = stringOpt(ctx, 'idempotency-key') ?? newIdempotencyKey('cli');
    let job: Job;
    try {
      job = await ctx.client().jobs.create(req, { wait: secondsOpt(ctx, 'wait'), idempotencyKey, signal: ctx.io.signal });
    } catch (err) {
      if (!ctx.io.signal.aborted) throw err;
      throw new Interrupted(`the job may have been queued; the same command with --idempotency-key ${idempotencyKey} prints it (while the server keeps the job) instead of queuing another`);
    }
    ctx.io.stdout.write(`${formatJson(job)}\n`);
    return endedBadly(job.status) ? EXIT_FAILED : 0;
  },
};

export const jobsGet: Command = {
  name: 'jobs get',
  summary: 'print a job (with --wait, once it is done or N seconds passed)',
  usage: 'ID [--wait N]',
  args: { min: 1 },
  options: { wait: waitOption },
  async run(ctx) {
    const job = await ctx.client().jobs.get(ctx.args[0]!, { wait: secondsOpt(ctx, 'wait'), signal: ctx.io.signal });
    ctx.io.stdout.write(`${formatJson(job)}\n`);
    return endedBadly(job.status) ? EXIT_FAILED : 0;
  },
};

export const jobsCancel: Command = {
  name: 'jobs cancel',
  summary: 'cancel a job (a queued job for sure; a running one may still finish) and print it',
  usage: 'ID',
  args: { min: 1 },
  async run(ctx) {
    const job = await ctx.client().jobs.cancel(ctx.args[0]!, { signal: ctx.io.signal });
    ctx.io.stdout.write(`${formatJson(job)}\n`);
  },
};
