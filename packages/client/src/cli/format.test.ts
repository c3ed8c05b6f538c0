import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { formatBytes, formatCount, formatDuration, formatJson, formatTable, shellQuote } from './format.js';

describe('formatJson', () => {
  const job = { id: 'job_1', status: 'succeeded', outputs: [{ name: 'label', shape: [2], data: [0, 2] }], error: null, missing: undefined, metadata: {} };

  it('is valid JSON equal to the value', () => {
    expect(JSON.parse(formatJson(job))).toEqual(JSON.parse(JSON.stringify(job)));
  });

  it('writes an INT64 past 2^53 (a bigint) as its exact digits', () => {
    const out = formatJson({ outputs: [{ name: 'id', datatype: 'INT64', data: [9007199254740993n, 1] }], n: 18446744073709551615n });
    expect(out).toContain('[9007199254740993, 1]');
    expect(out).toContain('"n": 18446744073709551615');
  });

  it('keeps arrays of plain values on one line', () => {
    expect(formatJson(job)).toBe(
      [
        '{',
        '  "id": "job_1",',
        '  "status": "succeeded",',
        '  "outputs": [',
        '    {',
        '      "name": "label",',
        '      "shape": [2],',
        '      "data": [0, 2]',
        '    }',
        '  ],',
        '  "error": null,',
        '  "metadata": {}',
        '}',
      ].join('\n'),
    );
    expect(formatJson([])).toBe('[]');
    expect(formatJson('x')).toBe('"x"');
  });
});

describe('formatTable', () => {
  it('pads columns to the widest cell', () => {
    expect(formatTable(['MODEL', 'READY'], [['penguins', 'yes'], ['mlp', 'no']])).toBe('MODEL     READY\npenguins  yes\nmlp       no');
  });
});

describe('numbers, durations, sizes', () => {
  it('formats them for people', () => {
    expect(formatCount(1_000_000)).toBe('1,000,000');
    expect(formatCount(12_300.4)).toBe('12,300');
    expect(formatDuration(39.4)).toBe('39s');
    expect(formatDuration(245)).toBe('4m05s');
    expect(formatDuration(7380)).toBe('2h03m');
    expect(formatDuration(Infinity)).toBe('?');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(14_200_000)).toBe('14.2 MB');
  });
});

describe('shellQuote', () => {
  it('leaves a plain path bare and quotes anything a shell would read otherwise', () => {
    expect(shellQuote('results/out-1.ndjson')).toBe('results/out-1.ndjson');
    expect(shellQuote('=ls')).toBe("'=ls'"); // zsh would read =ls as ls's path
    expect(shellQuote('my results.ndjson')).toBe("'my results.ndjson'");
    expect(shellQuote("it's $HOME/*.ndjson")).toBe(`'it'\\''s $HOME/*.ndjson'`);
    expect(shellQuote('')).toBe("''");
  });

  it('is read back by sh as the word it was', () => {
    for (const word of ["it's $HOME/*.ndjson", 'a "b" `c` \\ d;e|f&g', 'ünïcode ✓', '']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' })).toBe(word);
    }
  });
});
