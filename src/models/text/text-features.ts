/**
 * The fastText-style text featuriser shared by the nlu trainer and its predictor: lower-cased word
 * unigrams, word n-grams and character n-grams of each word with boundary markers, each hashed into a
 * fixed bucket space. Training and serving must produce the very same bucket ids, so the settings travel
 * with the exported model and this file is the only place that turns text into ids.
 */

/** Featuriser settings; stored in every exported model and checkpoint. */
export interface TextFeatureConfig {
  /** log2 of the number of hash buckets. Default 20 (1,048,576 buckets; only buckets seen in training get a row). */
  hashBits: number;
  /** Longest word n-gram; 1 = unigrams only. Default 2 (unigrams and bigrams). */
  wordNgrams: number;
  /** Shortest character n-gram, in code points, counting the `<` `>` word markers. Default 3. */
  charMinN: number;
  /** Longest character n-gram; 0 turns character n-grams off. Default 5. */
  charMaxN: number;
}

export const DEFAULT_TEXT_FEATURES: Readonly<TextFeatureConfig> = Object.freeze({
  hashBits: 20,
  wordNgrams: 2,
  charMinN: 3,
  charMaxN: 5,
});

/** Bounds that keep the lookup table (4 bytes per bucket) and the per-text work sane. */
const MIN_HASH_BITS = 10;
const MAX_HASH_BITS = 24;
const MAX_WORD_NGRAMS = 4;
const MAX_CHAR_N = 8;

/** Returns the reason the config is unusable, or null. Used for options and for files read back from disk. */
export function checkTextFeatureConfig(c: TextFeatureConfig): string | null {
  const int = (v: unknown, lo: number, hi: number) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  if (!int(c.hashBits, MIN_HASH_BITS, MAX_HASH_BITS)) return `hashBits must be an integer ${MIN_HASH_BITS}-${MAX_HASH_BITS}, got ${String(c.hashBits)}`;
  if (!int(c.wordNgrams, 1, MAX_WORD_NGRAMS)) return `wordNgrams must be an integer 1-${MAX_WORD_NGRAMS}, got ${String(c.wordNgrams)}`;
  if (!int(c.charMaxN, 0, MAX_CHAR_N)) return `charMaxN must be an integer 0-${MAX_CHAR_N}, got ${String(c.charMaxN)}`;
  if (c.charMaxN > 0 && !int(c.charMinN, 1, c.charMaxN)) return `charMinN must be an integer 1-${c.charMaxN}, got ${String(c.charMinN)}`;
  return null;
}

// Separate FNV offset bases per feature kind, so the word "the" and the trigram "the" are different features.
// Exported with mix() and finish() for text-feature-hasher.ts, serving's allocation-free twin of hashFeatures.
export const SEED_WORD = 0x811c9dc5;
export const SEED_NGRAM = 0x050c5d1f;
export const SEED_CHAR = 0x2f1d3a77;
const FNV_PRIME = 16777619;
/** Separates words inside a word n-gram; not a code point any token can contain. */
export const WORD_JOINER = 0x1f;
export const BOW = 0x3c; // '<'
export const EOW = 0x3e; // '>'

/** The code points words are made of: letters and digits. */
const WORD_CHAR = String.raw`[\p{L}\p{N}]`;
/** Letters, digits and inner apostrophes ("i'd", "don't"); everything else separates words. */
const TOKEN_RE = new RegExp(`${WORD_CHAR}+(?:['’]${WORD_CHAR}+)*`, 'gu');
/** One code point of a word (TOKEN_RE's class), for scanners that tokenise without the regex. */
export const WORD_CHAR_RE = new RegExp(`^${WORD_CHAR}$`, 'u');

/** Lower-cased, NFKC-normalised words of a text, as arrays of code points. */
export function tokenize(text: string): number[][] {
  const words: number[][] = [];
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(TOKEN_RE)) {
    const cps: number[] = [];
    for (const ch of m[0]) cps.push(ch === '’' ? 0x27 : (ch.codePointAt(0) as number));
    words.push(cps);
  }
  return words;
}

/** FNV-1a step over one code point (as up to three bytes, so any code point mixes fully). */
export function mix(h: number, cp: number): number {
  h = Math.imul(h ^ (cp & 0xff), FNV_PRIME);
  if (cp > 0xff) h = Math.imul(h ^ ((cp >>> 8) & 0xff), FNV_PRIME);
  if (cp > 0xffff) h = Math.imul(h ^ (cp >>> 16), FNV_PRIME);
  return h;
}

/** murmur3's finaliser: FNV's low bits are weak, and we keep only the low `hashBits`. */
export function finish(h: number, mask: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) & mask;
}

/**
 * Appends the bucket id of every feature of `text` to `out` and returns `out`: word unigrams, then word
 * n-grams, then character n-grams. Repeats are kept: a repeated feature counts again, as in fastText.
 */
export function hashFeatures(text: string, config: TextFeatureConfig, out: number[] = []): number[] {
  const mask = (1 << config.hashBits) - 1;
  const words = tokenize(text);
  for (const w of words) {
    let h = SEED_WORD;
    for (const cp of w) h = mix(h, cp);
    out.push(finish(h, mask));
  }
  for (let n = 2; n <= config.wordNgrams; n++) {
    for (let i = 0; i + n <= words.length; i++) {
      let h = SEED_NGRAM;
      for (let j = i; j < i + n; j++) {
        if (j > i) h = mix(h, WORD_JOINER);
        for (const cp of words[j]) h = mix(h, cp);
      }
      out.push(finish(h, mask));
    }
  }
  if (config.charMaxN > 0) {
    for (const w of words) {
      const marked = [BOW, ...w, EOW];
      for (let i = 0; i < marked.length; i++) {
        let h = SEED_CHAR;
        for (let j = i; j < marked.length && j - i < config.charMaxN; j++) {
          h = mix(h, marked[j]);
          if (j - i + 1 >= config.charMinN) out.push(finish(h, mask));
        }
      }
    }
  }
  return out;
}
