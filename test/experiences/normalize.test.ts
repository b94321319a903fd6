import { describe, expect, it } from 'vitest';
import { canonicalJson, contentId, isUsable, normalizeExperience, splitFor, unusableReason, type NormalizedExperience } from '../../src/experiences/index.js';
import { nlu } from './helpers.js';

function norm(raw: unknown, defaultModelType?: unknown): NormalizedExperience {
  const res = normalizeExperience(raw, { defaultModelType });
  if (!res.ok) throw new Error(`expected ok, got ${res.error}`);
  return res.experience;
}

describe('normalizeExperience', () => {
  it('uses the experience id, else the SHA-256 of its canonical JSON (key order does not matter)', () => {
    expect(norm({ ...nlu('hi', 'Greet'), id: 'abc' }).id).toBe('abc');
    const a = norm({ type: 'command', input: { text: 'hi' }, expected_output: { intent: 'Greet' } });
    const b = norm({ expected_output: { intent: 'Greet' }, input: { text: 'hi' }, type: 'command' });
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.id).toBe(contentId({ input: { text: 'hi' }, type: 'command', expected_output: { intent: 'Greet' } }));
  });

  it('maps type to model type and lets model_type (then a batch default) override it', () => {
    expect(norm(nlu('x', 'y')).modelType).toBe('nlu');
    expect(norm({ type: 'interaction', input: { text: 'x' }, expected_output: { intent: 'y' } }).modelType).toBe('nlu');
    expect(norm({ type: 'voice_auth', input: {} }).modelType).toBe('voice');
    expect(norm({ type: 'pair', input: {} }).modelType).toBe('embedding');
    expect(norm({ type: 'command', model_type: 'embedding', input: { text: 'a', positive: 'b' } }).modelType).toBe('embedding');
    expect(norm({ input: { text: 'a' }, expected_output: { intent: 'b' } }, 'nlu').modelType).toBe('nlu');
    expect(norm({ model_type: 'nlu', input: { text: 'a' }, expected_output: { intent: 'b' } }, 'voice').modelType).toBe('nlu');
  });

  it('keeps an unknown type or model_type as unusable, naming it', () => {
    const e = norm({ type: 'telepathy', input: { text: 'x' } });
    expect(e).toMatchObject({ kind: 'unusable', modelType: null, example: null });
    expect(e.reason).toContain('"telepathy"');
    expect(norm({ model_type: 'smell', input: {} }).reason).toContain('model_type "smell"');
    expect(norm({ input: { text: 'x' } }).reason).toBe('neither model_type nor type is given');
  });

  it('takes the label from expected_output first, with aliases', () => {
    expect(norm(nlu('play jazz', 'PlayMusic')).example).toEqual({ id: expect.any(String), input: { text: 'play jazz' }, label: 'PlayMusic' });
    const e = norm({ type: 'command', input: { query: 'q' }, expected_output: { label: 'L' }, actual_output: { intent: 'Other' }, success: true });
    expect(e.example?.label).toBe('L');
    expect(e.example?.input).toEqual({ text: 'q' });
    expect(norm({ type: 'command', input: { utterance: 'u' }, expected_output: 'Bare' }).example?.label).toBe('Bare');
  });

  it('falls back to actual_output, then output, only when success is true', () => {
    expect(norm({ type: 'command', input: { text: 't' }, actual_output: { intent: 'A' }, success: true }).example?.label).toBe('A');
    expect(norm({ type: 'command', input: { text: 't' }, output: { intent: 'O' }, success: true }).example?.label).toBe('O');
    const noSuccess = norm({ type: 'command', input: { text: 't' }, actual_output: { intent: 'A' } });
    expect(noSuccess.kind).toBe('unusable');
    expect(noSuccess.reason).toContain('expected_output.intent');
    expect(noSuccess.reason).toContain('only when success is true');
  });

  it('treats success false with a label as a correction that is trained on', () => {
    const e = norm({ type: 'command', input: { text: 't' }, expected_output: { intent: 'Right' }, actual_output: { intent: 'Wrong' }, success: false });
    expect(e.kind).toBe('correction');
    expect(e.example?.label).toBe('Right');
    expect(isUsable(e, 0.3)).toBe(true);
  });

  it('treats success false without a label as negative feedback: kept, not trained on', () => {
    const e = norm({ type: 'command', input: { text: 't' }, actual_output: { intent: 'Wrong' }, success: false });
    expect(e.kind).toBe('negative');
    expect(e.example).toBeNull();
    expect(e.reason).toContain('negative feedback');
    expect(isUsable(e, 0)).toBe(false);
  });

  it('keeps low quality_score experiences but does not count them usable', () => {
    const low = norm(nlu('t', 'I', { quality_score: 0.1 }));
    expect(low.kind).toBe('example');
    expect(low.quality).toBe(0.1);
    expect(isUsable(low, 0.3)).toBe(false);
    expect(unusableReason(low, 0.3)).toBe('quality_score 0.1 is below the minimum 0.3');
    expect(isUsable(norm(nlu('t', 'I', { quality_score: 0.3 })), 0.3)).toBe(true);
    expect(norm(nlu('t', 'I', { metadata: { quality_score: 0.2 } })).quality).toBe(0.2);
    expect(norm(nlu('t', 'I', { quality_score: 'high' })).reason).toBe('quality_score must be a number, got "high"');
  });

  it('names the missing field when nlu input is absent or empty', () => {
    expect(norm({ type: 'command', expected_output: { intent: 'I' } }).reason).toBe('input.text (or input.query, input.utterance) is missing');
    expect(norm({ type: 'command', input: { text: '  ' }, expected_output: { intent: 'I' } }).reason).toBe('input.text must be a non-empty string, got "  "');
    expect(norm({ type: 'command', input: { text: 't' }, expected_output: { intent: 7 } }).example?.label).toBe('7');
    expect(norm({ type: 'command', input: { text: 't' }, expected_output: { intent: [] } }).reason).toBe('expected_output.intent must be a non-empty string, got an array of 0');
  });

  it('refuses what is not a JSON object, or carries a bad id, as an item error', () => {
    for (const bad of [null, 3, 'text', [1, 2], true]) expect(normalizeExperience(bad).ok).toBe(false);
    const res = normalizeExperience({ ...nlu('t', 'I'), id: 42 });
    expect(res).toEqual({ ok: false, error: 'id must be a non-empty string of at most 256 characters, got 42' });
  });

  it('keeps an object that fits no trainer as unusable, never dropping it', () => {
    const e = norm({ type: 'vision', input: { text: 'not an image' }, expected_output: { label: 'cat' } });
    expect(e.kind).toBe('unusable');
    expect(e.reason).toBe('input.image (or input.pixels with width and height) is missing');
  });
});

describe('splitFor', () => {
  it('puts about 10% on the validation side, stable per id', () => {
    let validation = 0;
    for (let i = 0; i < 10_000; i++) if (splitFor(`id-${i}`) === 'validation') validation++;
    expect(validation).toBeGreaterThan(900);
    expect(validation).toBeLessThan(1100);
    expect(splitFor('id-1')).toBe(splitFor('id-1'));
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });
});

describe('untrusted names and shapes (issue 14)', () => {
  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'])('keeps type %j as an unknown type, unusable', (type) => {
    const e = norm({ type, input: { text: 'x' }, expected_output: { intent: 'A' } });
    expect(e.modelType).toBeNull();
    expect(e.reason).toMatch(new RegExp(`^type "${type}" maps to no model type`));
  });

  it('refuses an experience nested deeper than 64 levels, however deep, with a reason', () => {
    const deep = JSON.parse(`{"type":"command","input":{"text":"x","extra":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`) as unknown;
    expect(normalizeExperience(deep)).toEqual({ ok: false, error: 'an experience may nest objects and arrays at most 64 levels deep' });
    expect(normalizeExperience({ ...nlu('x', 'A'), id: 'with-id', extra: deep })).toMatchObject({ ok: false });
    // The experience is level 0: 63 arrays inside it are fine, 64 are one too many.
    let inside: unknown = 'leaf';
    for (let i = 0; i < 63; i++) inside = [inside];
    expect(normalizeExperience({ ...nlu('x', 'A'), extra: inside }).ok).toBe(true);
    expect(normalizeExperience({ ...nlu('x', 'A'), extra: [inside] }).ok).toBe(false);
  });

  it('hashes a "__proto__" key as data, so it changes the content id', () => {
    const withKey = JSON.parse('{"type":"command","__proto__":{"a":1},"input":{"text":"x"}}') as unknown;
    expect(canonicalJson(withKey)).toBe('{"__proto__":{"a":1},"input":{"text":"x"},"type":"command"}');
    expect(contentId(withKey)).not.toBe(contentId({ type: 'command', input: { text: 'x' } }));
  });
});
