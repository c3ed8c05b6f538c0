import { describe, expect, it } from 'vitest';
import { withoutSampleInterval } from './process-metrics.js';

describe('withoutSampleInterval', () => {
  it("takes the 100 ms sampling interval off the event-loop delay summaries (an idle process read 0.1 s of lag), and leaves every other series", () => {
    const metrics = [
      { name: 'maas_api_nodejs_eventloop_lag_p99_seconds', type: 'gauge', values: [{ value: 0.1015 }] },
      { name: 'maas_worker_nodejs_eventloop_lag_min_seconds', type: 'gauge', values: [{ value: 0.0995, labels: { worker: 'w' } }] },
      { name: 'maas_api_nodejs_eventloop_lag_seconds', type: 'gauge', values: [{ value: 0.002 }] },
      { name: 'maas_api_nodejs_eventloop_lag_stddev_seconds', type: 'gauge', values: [{ value: 0.001 }] },
    ];
    const out = withoutSampleInterval(metrics) as { values: { value: number }[] }[];
    expect(out.map((m) => m.values[0]!.value)).toEqual([expect.closeTo(0.0015, 6), 0, 0.002, 0.001]);
    expect(out[1]).toMatchObject({ values: [{ labels: { worker: 'w' } }] });
  });
});
