/**
 * Answers a document with `outputs` (a v2 infer response, a job object) as JSON, or framed by
 * the binary tensor extension when the request asked for any of its outputs in binary.
 */
import type { Response } from 'express';
import type { OutputTensor } from '@maas/shared';
import { frameResponse, HEADER_LENGTH } from '../binary/framing.js';

export function sendOutputs<T extends { outputs: OutputTensor[] | null }>(res: Response, status: number, doc: T, binary: (name: string) => boolean): void {
  const framed = frameResponse(doc, binary);
  res.status(status);
  if (framed.headerLength === undefined) {
    res.type('application/json').send(framed.body);
    return;
  }
  res.setHeader(HEADER_LENGTH, String(framed.headerLength));
  res.type('application/octet-stream').send(framed.body);
}
