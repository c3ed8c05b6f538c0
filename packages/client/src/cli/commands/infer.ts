/** `maas infer MODEL`: one synchronous KServe v2 inference. */
import { listOpt, stringOpt, UsageError, versionOpt, type Command } from '../command.js';
import { formatJson } from '../format.js';
import { outputsFromArgs, readJsonFile, tensorsFromArgs } from '../inputs.js';
import type { RequestedOutput, Tensor } from '../../types.js';

export const infer: Command = {
  name: 'infer',
  summary: 'run one inference and print the KServe v2 response (with job_id: the X-Job-Id header)',
  usage: 'MODEL (--input NAME=JSON ... | --data FILE) [--version V] [--output NAME[:K] ...]',
  args: { min: 1 },
  options: {
    input: { type: 'string', multiple: true, value: 'NAME=JSON', help: 'an input tensor; datatype from the model, one row may omit the batch dimension' },
    data: { type: 'string', value: 'FILE', help: 'a v2 request body {"inputs": [...], "outputs"?: [...]} (- for stdin)' },
    version: { type: 'string', value: 'V', help: 'model version (default: the newest served)' },
    output: { type: 'string', multiple: true, value: 'NAME[:K]', help: 'outputs to return; NAME:K asks for the top-K classes' },
  },
  details: [
    'Examples:',
    '  maas infer penguins --input \'features=[39.1,18.7,181,3750]\' --output label --output probabilities:2',
    '  maas infer mlp --data request.json',
  ].join('\n'),
  async run(ctx) {
    const model = ctx.args[0]!;
    const version = versionOpt(ctx);
    const pairs = listOpt(ctx, 'input');
    const dataFile = stringOpt(ctx, 'data');
    if (!pairs.length === !dataFile) throw new UsageError('give the inputs with --input NAME=JSON or --data FILE (one of the two)');
    let inputs: Tensor[];
    let outputs: RequestedOutput[] | undefined = outputsFromArgs(listOpt(ctx, 'output'));
    let id: string | undefined;
    let parameters: Record<string, unknown> | undefined;
    if (dataFile) {
      const body = await readJsonFile(dataFile, ctx.io.stdin);
      if (!Array.isArray(body['inputs'])) throw new UsageError(`${dataFile} must hold a v2 request: {"inputs": [tensor, ...]}`);
      inputs = body['inputs'] as Tensor[];
      outputs ??= body['outputs'] as RequestedOutput[] | undefined;
      id = typeof body['id'] === 'string' ? body['id'] : undefined;
      parameters = body['parameters'] as Record<string, unknown> | undefined;
    } else {
      const meta = await ctx.client().models.get(model, { version, signal: ctx.io.signal });
      inputs = tensorsFromArgs(pairs, meta.inputs, model);
    }
    const res = await ctx.client().infer(model, inputs, { version, outputs, id, parameters, signal: ctx.io.signal });
    ctx.io.stdout.write(`${formatJson(res)}\n`);
  },
};
