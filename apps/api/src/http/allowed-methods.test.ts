import { describe, expect, it } from 'vitest';
import { ROUTES } from '../openapi/routes.js';
import { allowedMethodsOf } from './allowed-methods.js';

const allowedMethods = allowedMethodsOf(ROUTES);

describe('allowedMethods', () => {
  it('names the methods a served path takes (HEAD beside GET, and OPTIONS)', () => {
    expect(allowedMethods('/v1/jobs/job_x')).toEqual(['GET', 'HEAD', 'OPTIONS']);
    expect(allowedMethods('/v2/models/penguins/infer')).toEqual(['POST', 'OPTIONS']);
    expect(allowedMethods('/v1/jobs')).toEqual(expect.arrayContaining(['POST', 'OPTIONS']));
    // a path two patterns match: the model named "stats" and the statistics of every model
    expect(allowedMethods('/v2/models/stats')).toEqual(['GET', 'HEAD', 'OPTIONS']);
  });

  it('is undefined for a path no route serves (a 404), also one segment longer or shorter', () => {
    expect(allowedMethods('/v1/nothing')).toBeUndefined();
    expect(allowedMethods('/v1/jobs/job_x/extra/more')).toBeUndefined();
    expect(allowedMethods('/v2/models/penguins/versions')).toBeUndefined();
  });

  it('matches paths as express routes them: regardless of case, with or without a trailing slash', () => {
    expect(allowedMethods('/V1/Jobs/job_x')).toEqual(['GET', 'HEAD', 'OPTIONS']);
    expect(allowedMethods('/v1/jobs/job_x/')).toEqual(['GET', 'HEAD', 'OPTIONS']);
  });

  it('answers the same from its memory of recent paths, also after more paths than it keeps', () => {
    const fresh = allowedMethodsOf(ROUTES);
    expect(fresh('/v1/jobs/job_0')).toEqual(['GET', 'HEAD', 'OPTIONS']);
    for (let i = 0; i < 3000; i++) fresh(i % 2 ? `/v1/jobs/job_${i}` : `/nothing/${i}`);
    expect(fresh('/v1/jobs/job_0')).toEqual(['GET', 'HEAD', 'OPTIONS']);
    expect(fresh('/nothing/2')).toBeUndefined();
    expect(fresh('/v2/models/penguins/infer')).toBe(fresh('/v2/models/penguins/infer')); // the same answer, kept
  });
});
