import { describe, expect, it } from 'vitest';
import { boardData, boardReturnValue } from './board-view.js';

describe('the queue board shows no tenant data', () => {
  it("keeps an inference job's shape (model, rows, tensor names, datatypes, shapes) and withholds its values, metadata and webhook path", () => {
    const shown = JSON.stringify(boardData({
      v: 3, model: 'mlp', version: 1, tenant: 'alice', rows: 2, priority: 1,
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: 'b64:SElWIHBvc2l0aXZl' }],
      outputs: [{ name: 'probs', parameters: { classification: 1 } }],
      metadata: { patient: 'John Doe' },
      members: [{ id: 'job_a', rows: 1, metadata: { patient: 'Jane Roe' } }],
      webhook: { url: 'https://hooks.example.com/in/abc?token=s3cret', events: ['completed'] },
      batch: { id: 'batch_x', chunk: 3, lines: 10, retentionSeconds: 60 },
    }));
    for (const secret of ['SElWIHBvc2l0aXZl', 'John Doe', 'Jane Roe', 's3cret', '/in/abc']) expect(shown).not.toContain(secret);
    expect(JSON.parse(shown)).toMatchObject({
      model: 'mlp', tenant: 'alice', rows: 2,
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4] }],
      outputs: [{ name: 'probs' }],
      metadata: '[withheld]',
      members: [{ id: 'job_a', rows: 1 }],
      webhook: { url: 'https://hooks.example.com [withheld]', events: ['completed'] },
      batch: { id: 'batch_x', chunk: 3 },
    });
  });

  it("withholds a webhook delivery's body and its URL's path and query", () => {
    const shown = boardData({ v: 1, msg_id: 'msg_1', tenant: 'bob', subject: 'job_a', type: 'job.completed', url: 'http://10.0.0.1:9000/x?k=1', body: '{"data":{"outputs":[1]}}', keep_s: 60 });
    expect(shown).toEqual({ v: 1, msg_id: 'msg_1', tenant: 'bob', subject: 'job_a', type: 'job.completed', url: 'http://10.0.0.1:9000 [withheld]', body: '[withheld]', keep_s: 60 });
  });

  it("shows a result's timings and shapes, not its outputs", () => {
    const shown = boardReturnValue({ v: 3, outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: 'b64:AAAA' }], started: 1, completed: 2, batch_size: 4 });
    expect(shown).toEqual({ v: 3, outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2] }], started: 1, completed: 2, batch_size: 4 });
    expect(boardReturnValue(null)).toBeNull();
    expect(boardData('text')).toBe('[withheld]');
  });
});
