import { describe, expect, it } from 'vitest';
import { finalFlagged } from './stream-infer.js';

describe('finalFlagged', () => {
  const response = { model_name: 'm', id: 'r', parameters: {} };
  it("marks the response final when the request asks for Triton's final-response flag (enable_empty_final_response)", () => {
    const asked = finalFlagged({ parameters: { triton_enable_empty_final_response: { parameter_choice: 'bool_param', bool_param: true } } });
    expect(asked(response)).toEqual({ model_name: 'm', id: 'r', parameters: { triton_final_response: { bool_param: true } } });
    expect(asked({ id: 'e' })).toEqual({ id: 'e', parameters: { triton_final_response: { bool_param: true } } }); // a failed request's response too
  });
  it('leaves the response alone otherwise', () => {
    expect(finalFlagged({})(response)).toBe(response);
    expect(finalFlagged({ parameters: { triton_enable_empty_final_response: { parameter_choice: 'bool_param', bool_param: false } } })(response)).toBe(response);
  });
});
