/** `maas models`: what the cluster serves, as a table (or JSON with --json). */
import type { TensorSpec } from '../../types.js';
import { flag, type Command } from '../command.js';
import { formatJson, formatTable } from '../format.js';

const signature = (ts: TensorSpec[]) => ts.map((t) => `${t.name} ${t.datatype}[${t.shape.join(',')}]`).join(', ');

export const models: Command = {
  name: 'models',
  summary: 'list the served models, their inputs and outputs, and live workers',
  usage: '[--json]',
  options: { json: { type: 'boolean', help: 'print the JSON listing instead of a table' } },
  async run(ctx) {
    const list = await ctx.client().models.list({ signal: ctx.io.signal });
    if (flag(ctx, 'json')) {
      ctx.io.stdout.write(`${formatJson(list)}\n`);
      return;
    }
    if (!list.length) {
      ctx.io.stderr.write('no models in the repository\n');
      return;
    }
    const rows = list.map((m) => [
      m.name,
      m.versions.join(','),
      signature(m.inputs),
      signature(m.outputs),
      m.max_batch_size ? String(m.max_batch_size) : '-',
      m.ready ? 'yes' : 'no',
      String(m.workers),
    ]);
    ctx.io.stdout.write(`${formatTable(['MODEL', 'VERSIONS', 'INPUTS', 'OUTPUTS', 'MAX BATCH', 'READY', 'WORKERS'], rows)}\n`);
  },
};
