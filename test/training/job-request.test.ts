import { describe, expect, it } from 'vitest';
import { MODEL_TYPES } from '../../src/model-types.js';
import { parseStartRequest } from '../../src/training/job-request.js';

const parse = (body: Record<string, unknown>) => parseStartRequest(body, { checkpointInterval: 1 });

describe('parseStartRequest epochs', () => {
  it('gives a start without epochs 10, whatever the type (the contract pins `epochs?: 10`; JARVIS clients rely on it)', () => {
    for (const type of MODEL_TYPES) expect(parse({ model_type: type }).epochs).toBe(10);
  });

  it('keeps the epochs a start names', () => {
    expect(parse({ model_type: 'nlu', epochs: 5 }).epochs).toBe(5);
  });
});
