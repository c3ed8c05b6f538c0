import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BoolEnv, CsvEnv, hostPort, intEnv, ListenHostEnv, numberEnv, parseEnv, PortEnv } from './env.js';
import { ConfigError } from './errors.js';

describe('BoolEnv', () => {
  it.each(['false', 'FALSE', ' False ', '0', 'no', 'off', ''])('%j → false', (s) => {
    expect(BoolEnv.parse(s)).toBe(false);
  });

  it.each(['true', 'TRUE', ' true ', '1', 'yes', 'on', 'On'])('%j → true', (s) => {
    expect(BoolEnv.parse(s)).toBe(true);
  });

  it('rejects anything else instead of guessing', () => {
    for (const s of ['maybe', 'tru', '2', 'y']) expect(BoolEnv.safeParse(s).success, s).toBe(false);
    expect(BoolEnv.safeParse('maybe').error?.issues[0]?.message).toBe('expected true or false (also 1/0, yes/no, on/off)');
  });

  it('accepts real booleans (defaults)', () => {
    expect(BoolEnv.parse(false)).toBe(false);
    expect(BoolEnv.default(false).parse(undefined)).toBe(false);
  });
});

describe('CsvEnv', () => {
  it('splits on commas, trims, drops blanks', () => {
    expect(CsvEnv.parse('a, b ,,c,')).toEqual(['a', 'b', 'c']);
  });

  it('an empty or blank string is an empty list', () => {
    expect(CsvEnv.parse('')).toEqual([]);
    expect(CsvEnv.parse(' , ')).toEqual([]);
  });

  it('keeps entries containing colons (name:version)', () => {
    expect(CsvEnv.parse('penguins:2,mlp')).toEqual(['penguins:2', 'mlp']);
  });
});

describe('intEnv / PortEnv', () => {
  it('reads integers from strings within bounds', () => {
    expect(intEnv(1, 10).parse('7')).toBe(7);
    expect(PortEnv.parse('8080')).toBe(8080);
    expect(PortEnv.parse('0')).toBe(0);
  });

  it('rejects out-of-range, fractional and non-numeric values', () => {
    expect(intEnv(1, 10).safeParse('0').success).toBe(false);
    expect(intEnv(1, 10).safeParse('11').success).toBe(false);
    expect(intEnv(1, 10).safeParse('2.5').success).toBe(false);
    expect(PortEnv.safeParse('65536').success).toBe(false);
    expect(PortEnv.safeParse('http').success).toBe(false);
  });
});

describe('parseEnv', () => {
  const Schema = z.object({
    PORT: PortEnv.default(8080),
    DEBUG: BoolEnv.default(false),
    NAMES: CsvEnv.default([]),
    MODE: z.enum(['a', 'b']).default('a'),
  });

  it('applies defaults and conversions', () => {
    expect(parseEnv(Schema, {})).toEqual({ PORT: 8080, DEBUG: false, NAMES: [], MODE: 'a' });
    expect(parseEnv(Schema, { PORT: '9000', DEBUG: 'false', NAMES: 'x,y', MODE: 'b' })).toEqual({ PORT: 9000, DEBUG: false, NAMES: ['x', 'y'], MODE: 'b' });
  });

  it('reads a variable set to nothing or blanks as unset: its default applies', () => {
    expect(parseEnv(Schema, { PORT: '', DEBUG: ' ', NAMES: '', MODE: '' })).toEqual({ PORT: 8080, DEBUG: false, NAMES: [], MODE: 'a' });
  });

  it('ignores unrelated variables (process.env holds many)', () => {
    expect(parseEnv(Schema, { PATH: '/bin', HOME: '/root' }).PORT).toBe(8080);
  });

  it('throws a ConfigError listing every issue by variable name', () => {
    let error: unknown;
    try {
      parseEnv(Schema, { PORT: '70000', DEBUG: 'perhaps', MODE: 'c' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^PORT: /);
    expect(problems[1]).toMatch(/^DEBUG: /);
    expect(problems[2]).toMatch(/^MODE: /);
    expect((error as ConfigError).message).toContain('Invalid configuration:');
    for (const p of problems) expect((error as ConfigError).message).toContain(p);
  });

  it('labels a root-level issue as (env)', () => {
    const Refined = z.object({ A: z.string().optional() }).refine((e) => e.A !== undefined, 'A is required');
    expect(() => parseEnv(Refined, {})).toThrow(ConfigError);
    try {
      parseEnv(Refined, {});
    } catch (err) {
      expect((err as ConfigError).problems).toEqual(['(env): A is required']);
    }
  });
});

describe('numbers in decimal notation only', () => {
  it('reads decimals and refuses hex, exponents and Infinity (z.coerce.number read them)', () => {
    const schema = z.object({ PORT: PortEnv.default(8080), RATE: numberEnv().default(0.5), N: intEnv(1, 10).optional() });
    expect(parseEnv(schema, { PORT: ' 7300 ', RATE: '2.5', N: '+3' })).toEqual({ PORT: 7300, RATE: 2.5, N: 3 });
    expect(parseEnv(schema, { RATE: '.25' })).toEqual({ PORT: 8080, RATE: 0.25 });
    for (const bad of ['0x1F9B', '1e3', 'Infinity', '12abc', '1_000']) {
      expect(() => parseEnv(schema, { PORT: bad })).toThrow(new RegExp(`PORT: a decimal number, not '${bad}'`));
    }
    expect(() => parseEnv(schema, { N: '2.5' })).toThrow(/N: a whole number, not '2.5'/);
  });

  it('a number out of its range says the range, not that it is no number', () => {
    const schema = z.object({ PORT: PortEnv.optional(), N: intEnv(60, 600).optional(), R: numberEnv((n) => n.positive().max(4096)).optional() });
    expect(() => parseEnv(schema, { PORT: '70000' })).toThrow(/PORT: at most 65535, not '70000'/);
    expect(() => parseEnv(schema, { N: '30' })).toThrow(/N: at least 60, not '30'/);
    expect(() => parseEnv(schema, { R: '-1' })).toThrow(/R: more than 0, not '-1'/);
    expect(() => parseEnv(schema, { R: '5000' })).toThrow(/R: at most 4096, not '5000'/);
  });
});

describe('ListenHostEnv and hostPort', () => {
  it.each([
    ['0.0.0.0', '0.0.0.0', '0.0.0.0:8080'],
    ['localhost', 'localhost', 'localhost:8080'],
    ['::', '::', '[::]:8080'],
    ['[::]', '::', '[::]:8080'],
    ['[::1]', '::1', '[::1]:8080'],
  ])('%j listens on %j, written %j', (given, bare, written) => {
    const host = ListenHostEnv.parse(given);
    expect(host).toBe(bare);
    expect(hostPort(host, 8080)).toBe(written);
  });

  it('refuses an empty host', () => {
    expect(() => parseEnv(z.object({ HOST: ListenHostEnv }), { HOST: '' })).toThrow(/HOST/);
  });
});
