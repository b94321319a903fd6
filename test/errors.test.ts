import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../src/errors.js';

const catalogue = errors.listErrorCodes();

describe('error catalogue', () => {
  it('gives every code the TRN_ERR_<AREA>_<WHAT> form, once', () => {
    const codes = catalogue.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^TRN_ERR_[A-Z]+_[A-Z0-9_]+$/);
  });

  it('gives every code an HTTP status and a message template', () => {
    for (const e of catalogue) {
      expect(e.statusCode).toBeGreaterThanOrEqual(400);
      expect(e.statusCode).toBeLessThan(600);
      expect(e.template.length).toBeGreaterThan(0);
      const err = e('x', 'y', 'z');
      expect(err).toBeInstanceOf(errors.TrinityError);
      expect(err.code).toBe(e.code);
      expect(err.statusCode).toBe(e.statusCode);
    }
  });

  it('formats messages with the value received', () => {
    expect(errors.TrainingUnknownModelType('speech', 'nlu').message).toBe('unknown model_type "speech"; expected one of nlu');
    expect(errors.TrainingJobNotFound().message).toBe('Training job not found');
    expect(errors.TrainingStaleFencingToken.with({ seen: 9 }).extra).toEqual({ seen: 9 });
  });

  it('keeps the original error as cause', () => {
    const cause = new Error('disk full');
    expect(errors.StoreFailed.with({ cause }, 'write').cause).toBe(cause);
  });

  it('documents every code in docs/errors.md', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    for (const e of catalogue) expect(doc).toContain(e.code);
  });
});
