/**
 * embedding: a pair that means the same (`input.text` + `input.positive`), or a scored pair
 * (`input.text_a` + `input.text_b` + `expected_output.score` 0–5). A positive pair needs no label: the
 * input itself says the two texts match.
 */
import { describe, fieldList, textField, type Extraction, type Extractor } from './common.js';

const MAX_SCORE = 5;

export const embeddingExtractor: Extractor = {
  modelType: 'embedding',
  extract(input, lookup): Extraction {
    if (input?.text_a !== undefined || input?.text_b !== undefined) {
      const a = textField(input, ['text_a']);
      if ('reason' in a) return { status: 'invalid', reason: a.reason };
      const b = textField(input, ['text_b']);
      if ('reason' in b) return { status: 'invalid', reason: b.reason };
      const found = lookup(['score']);
      if (found === undefined) return { status: 'no_label', wanted: fieldList('expected_output', ['score']) };
      const score = found.value;
      if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > MAX_SCORE) {
        return { status: 'invalid', reason: `${found.path} must be a number from 0 to ${MAX_SCORE}, got ${describe(score)}` };
      }
      return { status: 'ok', input: { text_a: a.text, text_b: b.text }, score };
    }
    const text = textField(input, ['text']);
    if ('reason' in text) {
      return { status: 'invalid', reason: `${text.reason} (an embedding pair needs input.text + input.positive, or input.text_a + input.text_b)` };
    }
    const positive = textField(input, ['positive']);
    if ('reason' in positive) return { status: 'invalid', reason: positive.reason };
    return { status: 'ok', input: { text: text.text, positive: positive.text } };
  },
};
