import { PassThrough } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MalformedBodyError, PayloadTooLargeError, type AppError } from '@maas/shared';
import { contentCodings, decodedBody, inflateWhole, MAX_CODINGS, undoOrder } from './body-encoding.js';

const of = (value?: string | string[]) => contentCodings({ headers: value === undefined ? {} : { 'content-encoding': value } });

describe('contentCodings', () => {
  it('is none when none is given, empty, or identity', () => {
    expect(of()).toEqual([]);
    expect(of('')).toEqual([]);
    expect(of(' Identity ')).toEqual([]);
  });
  it('reads one coding in any case', () => {
    expect(of('GZip')).toEqual(['gzip']);
    expect(of('br')).toEqual(['br']);
  });
  it('leaves identity out of a list (RFC 9110 §8.4), in a header or repeated headers', () => {
    expect(of('gzip, identity')).toEqual(['gzip']);
    expect(of('identity,gzip')).toEqual(['gzip']);
    expect(of(['identity', 'deflate'])).toEqual(['deflate']);
    expect(of('identity, identity')).toEqual([]);
  });
  it('keeps stacked codings in the order they were applied', () => {
    expect(of('gzip, br')).toEqual(['gzip', 'br']);
    expect(of(['deflate', 'gzip'])).toEqual(['deflate', 'gzip']);
  });
});

describe('undoOrder', () => {
  it('undoes the last coding applied first', () => {
    expect(undoOrder([])).toEqual([]);
    expect(undoOrder(['gzip'])).toEqual(['gzip']);
    expect(undoOrder(['gzip', 'br', 'deflate'])).toEqual(['deflate', 'br', 'gzip']);
  });
  it(`a 415 for a coding not read, or for more than ${MAX_CODINGS} stacked, naming the cap`, () => {
    const refusal = (codings: string[]) => {
      try {
        undoOrder(codings);
      } catch (err) {
        return err as AppError;
      }
      throw new Error('no refusal');
    };
    expect(refusal(['gzip', 'zstd'])).toMatchObject({ status: 415, message: expect.stringContaining('gzip, zstd is not supported') });
    expect(refusal(['toString'])).toMatchObject({ status: 415 }); // not an Object.prototype name
    const four = refusal(['gzip', 'gzip', 'gzip', 'gzip']);
    expect(four).toMatchObject({ status: 415, message: expect.stringContaining(`at most ${MAX_CODINGS}`) });
  });
});

const text = Buffer.from('{"custom_id":"r0","inputs":{"input":[1,2,3]}}\n'.repeat(100));
/** A gzip member whose header carries a file name of `n` bytes and no content: gunzip eats it whole and yields nothing. */
function gzipNamed(n: number): Buffer {
  const plain = gzipSync(Buffer.alloc(0));
  const header = Buffer.from(plain.subarray(0, 10));
  header[3] = header[3]! | 0x08; // FNAME
  return Buffer.concat([header, Buffer.alloc(n, 0x61), Buffer.from([0]), plain.subarray(10)]);
}

describe('inflateWhole', () => {
  it('undoes stacked codings, last applied first', async () => {
    const body = brotliCompressSync(gzipSync(deflateSync(text))); // deflate, gzip, br
    expect(await inflateWhole(body, undoOrder(['deflate', 'gzip', 'br']), 1 << 20)).toEqual(text);
    expect(await inflateWhole(gzipSync(gzipSync(text)), ['gzip', 'gzip'], 1 << 20)).toEqual(text);
  });
  it('a 413 for a final body past the limit, and for an intermediate one (a coding that inflates to what the next eats)', async () => {
    await expect(inflateWhole(gzipSync(gzipSync(Buffer.alloc(4 << 20))), ['gzip', 'gzip'], 1 << 20, 'MAX_BODY_MB')).rejects.toThrow(/decompressed body exceeds 1048576 bytes \(MAX_BODY_MB\)/);
    const err = await inflateWhole(gzipSync(gzipNamed(2 << 20)), ['gzip', 'gzip'], 1 << 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as Error).message).toMatch(/once its gzip coding is undone/);
  });
  it('a 400 for a corrupt layer', async () => {
    const inner = gzipSync(text);
    inner[inner.length - 6] = inner[inner.length - 6]! ^ 0xff; // the CRC
    await expect(inflateWhole(gzipSync(inner), ['gzip', 'gzip'], 1 << 20)).rejects.toBeInstanceOf(MalformedBodyError);
  });
});

/** A request of `body` with Content-Encoding `encoding`, as decodedBody reads one. */
function request(body: Buffer, encoding: string) {
  const req = Object.assign(new PassThrough(), { headers: { 'content-encoding': encoding }, complete: false });
  req.on('end', () => (req.complete = true));
  req.end(body);
  return req;
}
async function read(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

describe('decodedBody (streamed)', () => {
  it('undoes stacked codings, last applied first', async () => {
    expect(await read(decodedBody(request(gzipSync(gzipSync(text)), 'gzip, gzip'), 1 << 20))).toEqual(text);
    expect(await read(decodedBody(request(gzipSync(brotliCompressSync(text)), 'br, gzip'), 1 << 20))).toEqual(text);
    expect(await read(decodedBody(request(gzipSync(text), 'gzip'), 1 << 20))).toEqual(text);
  });
  it(`a 415 before reading for more than ${MAX_CODINGS} codings`, () => {
    expect(() => decodedBody(request(text, 'gzip, gzip, gzip, gzip'), 1 << 20)).toThrow(/at most 3/);
  });
  it('a 413 for a final body past the limit, and for an intermediate one', async () => {
    await expect(read(decodedBody(request(gzipSync(gzipSync(Buffer.alloc(4 << 20))), 'gzip, gzip'), 1 << 20))).rejects.toThrow(/decompressed body exceeds/);
    await expect(read(decodedBody(request(gzipSync(gzipNamed(2 << 20)), 'gzip, gzip'), 1 << 20))).rejects.toThrow(/once its gzip coding is undone/);
  });
  it('a 400 for a corrupt layer', async () => {
    const inner = gzipSync(text);
    inner[inner.length - 6] = inner[inner.length - 6]! ^ 0xff;
    await expect(read(decodedBody(request(gzipSync(inner), 'gzip, gzip'), 1 << 20))).rejects.toBeInstanceOf(MalformedBodyError);
  });
});

describe('DecodedBody: the rest of a body its consumer stopped reading', () => {
  /** Reads the first piece of `body`, then stops (as an upload does at a line too long). */
  async function stopEarly(body: AsyncIterable<Buffer>): Promise<void> {
    for await (const piece of body) {
      expect(piece.length).toBeGreaterThan(0);
      break;
    }
  }
  const long = Buffer.alloc(4 << 20, 0x61); // one line of 4 MB: inflates past any first piece
  const corrupted = (b: Buffer) => {
    const c = Buffer.from(b);
    c[c.length - 6] = c[c.length - 6]! ^ 0xff; // gzip's CRC: known only at the end
    return c;
  };

  it('corruptRest reads on and names a corrupt body a 400; a sound one is not', async () => {
    const bad = decodedBody(request(corrupted(gzipSync(long)), 'gzip'), 64 << 20);
    await stopEarly(bad);
    const err = await bad.corruptRest(5000);
    expect(err).toBeInstanceOf(MalformedBodyError);
    expect(err!.message).toMatch(/gzip body is corrupt or truncated/);
    const good = decodedBody(request(gzipSync(long), 'gzip'), 64 << 20);
    await stopEarly(good);
    expect(await good.corruptRest(5000)).toBeUndefined();
  });

  it('is bounded: by maxBytes of output, by the probe\'s bytes, by its time, and a body not compressed is never read on', async () => {
    const big = decodedBody(request(corrupted(gzipSync(long)), 'gzip'), 1 << 20);
    await stopEarly(big);
    expect(await big.corruptRest(5000)).toBeUndefined(); // 1 MB out, then it gives up: the 413 stands
    // And by the probe's own bytes (CORRUPT_PROBE_BYTES): a bomb's rest is not inflated whole, so
    // a fault past them (gzip's checksum, 64 MB on) is not reached and the 413 stands.
    const bomb = decodedBody(request(corrupted(gzipSync(Buffer.alloc(64 << 20))), 'gzip'), 2 ** 32);
    await stopEarly(bomb);
    expect(await bomb.corruptRest(5000)).toBeUndefined();
    const near = decodedBody(request(corrupted(gzipSync(Buffer.alloc(8 << 20))), 'gzip'), 2 ** 32);
    await stopEarly(near);
    expect(await near.corruptRest(5000)).toBeInstanceOf(MalformedBodyError); // within them: found
    const slow = Object.assign(new PassThrough(), { headers: { 'content-encoding': 'gzip' }, complete: false });
    const gz = gzipSync(long);
    slow.write(gz.subarray(0, gz.length >> 1)); // the rest never comes
    const waiting = decodedBody(slow, 64 << 20);
    await stopEarly(waiting);
    const t0 = Date.now();
    expect(await waiting.corruptRest(200)).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(1000);
    const plain = decodedBody(request(long, 'identity'), 64 << 20);
    await stopEarly(plain);
    expect(await plain.corruptRest(5000)).toBeUndefined();
  });
});
