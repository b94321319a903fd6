import { describe, expect, it } from 'vitest';
import type { ModelType } from '../../src/model-types.js';
import { builtModelTypes, getTrainerModule } from '../../src/models/index.js';
import { nluTrainerModule } from '../../src/models/nlu/trainer.js';

describe('getTrainerModule', () => {
  it('returns the nlu trainer module for nlu', () => {
    expect(getTrainerModule('nlu')).toBe(nluTrainerModule);
    expect(builtModelTypes()).toContain('nlu');
    expect(builtModelTypes()).toEqual([...builtModelTypes()].sort());
  });

  it('throws TRN_ERR_TRAINING_UNKNOWN_MODEL_TYPE listing the built model types for one without a trainer', () => {
    expect(() => getTrainerModule('telepathy' as ModelType)).toThrow(
      expect.objectContaining({ code: 'TRN_ERR_TRAINING_UNKNOWN_MODEL_TYPE', statusCode: 400, message: `unknown model_type "telepathy"; expected one of ${builtModelTypes().join(', ')}` }),
    );
  });
});
