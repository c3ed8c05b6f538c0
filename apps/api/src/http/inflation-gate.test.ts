import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { inflationGate, releaseInflation } from './inflation-gate.js';

const request = (encoding?: string) => ({ headers: encoding ? { 'content-encoding': encoding } : {} }) as unknown as IncomingMessage;

describe('inflationGate', () => {
  it('lets `slots` compressed bodies in at once; the next waits until one is read, or its response ends', () => {
    const gate = inflationGate(() => true, 2);
    const entered: number[] = [];
    const reqs = [0, 1, 2, 3].map(() => request('gzip'));
    const ress = reqs.map(() => new EventEmitter());
    reqs.forEach((req, i) => gate(req as Request, ress[i] as unknown as Response, (() => entered.push(i)) as NextFunction));
    expect(entered).toEqual([0, 1]);
    releaseInflation(reqs[0]!); // read
    expect(entered).toEqual([0, 1, 2]);
    releaseInflation(reqs[0]!); // a second release frees nothing more
    expect(entered).toEqual([0, 1, 2]);
    ress[1]!.emit('close'); // answered before its body was read (an error)
    expect(entered).toEqual([0, 1, 2, 3]);
  });

  it('a waiting client that leaves passes its turn on; plain bodies and bodies it does not read never wait', () => {
    const gate = inflationGate((req) => req.headers['x-read'] !== 'no', 1);
    const entered: string[] = [];
    const go = (name: string, req: IncomingMessage, res = new EventEmitter()) => {
      gate(req as Request, res as unknown as Response, (() => entered.push(name)) as NextFunction);
      return res;
    };
    const first = request('br');
    go('first', first);
    const left = go('left', request('gzip'));
    go('third', request('deflate'));
    go('plain', request());
    go('identity', request('identity'));
    go('streamed', { headers: { 'content-encoding': 'gzip', 'x-read': 'no' } } as unknown as IncomingMessage);
    expect(entered).toEqual(['first', 'plain', 'identity', 'streamed']);
    left.emit('close');
    releaseInflation(first);
    expect(entered).toEqual(['first', 'plain', 'identity', 'streamed', 'third']);
  });
});
