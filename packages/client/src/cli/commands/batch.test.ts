import { describe, expect, it } from 'vitest';
import { batchCommand } from './batch.js';

describe('batchCommand', () => {
  it('names the batch, and the --url and --out given, quoted for a shell', () => {
    expect(batchCommand('wait', 'b_1')).toBe('maas batch wait b_1');
    expect(batchCommand('wait', 'b_1', 'out/results.ndjson')).toBe('maas batch wait b_1 --out out/results.ndjson');
    expect(batchCommand('results', 'b_1', 'my results.ndjson', 'http://h:1')).toBe("maas batch results b_1 --url http://h:1 --out 'my results.ndjson'");
    expect(batchCommand('cancel', 'b_1', undefined, 'http://h:1/?a=1&b=2')).toBe("maas batch cancel b_1 --url 'http://h:1/?a=1&b=2'");
  });

  it('writes an --out starting with - as ./-…, the same file, so it is not read as an option', () => {
    expect(batchCommand('wait', 'b_1', '-out.ndjson')).toBe('maas batch wait b_1 --out ./-out.ndjson');
  });
});
