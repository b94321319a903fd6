import { describe, expect, it } from 'vitest';
import { NLU_DEFAULTS } from '../../src/models/nlu/options.js';
import { VISION_DEFAULTS } from '../../src/models/vision/options.js';
import { DEFAULT_EPOCHS, parseStartRequest } from '../../src/training/job-request.js';

const parse = (body: Record<string, unknown>) => parseStartRequest(body, { checkpointInterval: 1 });

describe('parseStartRequest epochs', () => {
  it('gives a start without epochs its model type default: nlu and vision their own, the others DEFAULT_EPOCHS', () => {
    expect(parse({ model_type: 'nlu' }).epochs).toBe(NLU_DEFAULTS.epochs);
    expect(parse({ model_type: 'vision' }).epochs).toBe(VISION_DEFAULTS.epochs);
    expect(parse({ model_type: 'voice' }).epochs).toBe(DEFAULT_EPOCHS);
    expect(parse({ model_type: 'embedding' }).epochs).toBe(DEFAULT_EPOCHS);
    expect(NLU_DEFAULTS.epochs).not.toBe(DEFAULT_EPOCHS);
  });

  it('keeps the epochs a start names', () => {
    expect(parse({ model_type: 'nlu', epochs: 12 }).epochs).toBe(12);
  });
});
