/**
 * Serving's featuriser: the bucket ids hashFeatures (text-features.ts) gives, in the same order, written
 * into buffers kept from one text to the next. A prediction hashes one short text, so the arrays per word,
 * the regex match objects and the growing id list of hashFeatures cost more than the hashing itself.
 * Training keeps hashFeatures; test/training/text-feature-hasher.test.ts checks the two agree id for id.
 */
import { BOW, EOW, SEED_CHAR, SEED_NGRAM, SEED_WORD, WORD_CHAR_RE, WORD_JOINER, finish, mix, type TextFeatureConfig } from './text-features.js';

const APOSTROPHE = 0x27;
/** The typographic apostrophe TOKEN_RE also joins words with; tokens carry it as APOSTROPHE. */
const RIGHT_QUOTE = 0x2019;

/** Is a code point a word character (TOKEN_RE's class)? Cached per BMP code point: 0 unknown, 1 yes, 2 no. */
const bmpClass = new Uint8Array(0x10000);
function isWordChar(cp: number): boolean {
  if (cp < 0x10000) {
    let c = bmpClass[cp];
    if (c === 0) bmpClass[cp] = c = WORD_CHAR_RE.test(String.fromCharCode(cp)) ? 1 : 2;
    return c === 1;
  }
  return WORD_CHAR_RE.test(String.fromCodePoint(cp));
}

function grown(a: Int32Array, need: number): Int32Array {
  if (a.length >= need) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

export class TextFeatureHasher {
  private readonly mask: number;
  /** The text's code points, then reused for its words: each word as BOW, its code points, EOW. */
  private text: Int32Array = new Int32Array(256);
  private marked: Int32Array = new Int32Array(256);
  /** Word i is marked[starts[i] .. starts[i + 1]), markers included. */
  private starts: Int32Array = new Int32Array(64);
  private words = 0;
  /** The ids of the last text hashed: ids[0 .. count). */
  ids: Int32Array = new Int32Array(1024);

  constructor(readonly config: TextFeatureConfig) {
    this.mask = (1 << config.hashBits) - 1;
  }

  /** Words of the last text hashed: its first `wordCount` ids are their unigrams (hashFeatures' order). */
  get wordCount(): number {
    return this.words;
  }

  /** Hashes `text` into `ids` and returns how many there are; the ids stay valid until the next call. */
  hash(text: string): number {
    this.tokenize(text);
    const { config, mask, marked, starts, words } = this;
    const maxN = config.charMaxN;
    // Each word gives one unigram, at most one word n-gram per n, and at most maxN n-grams per marked position.
    this.ids = grown(this.ids, words * config.wordNgrams + (maxN > 0 ? starts[words] * maxN : 0));
    const ids = this.ids;
    let count = 0;
    for (let w = 0; w < words; w++) {
      let h = SEED_WORD;
      for (let k = starts[w] + 1; k < starts[w + 1] - 1; k++) h = mix(h, marked[k]);
      ids[count++] = finish(h, mask);
    }
    for (let n = 2; n <= config.wordNgrams; n++) {
      for (let i = 0; i + n <= words; i++) {
        let h = SEED_NGRAM;
        for (let j = i; j < i + n; j++) {
          if (j > i) h = mix(h, WORD_JOINER);
          for (let k = starts[j] + 1; k < starts[j + 1] - 1; k++) h = mix(h, marked[k]);
        }
        ids[count++] = finish(h, mask);
      }
    }
    if (maxN > 0) {
      const minN = config.charMinN;
      for (let w = 0; w < words; w++) {
        const end = starts[w + 1];
        for (let i = starts[w]; i < end; i++) {
          let h = SEED_CHAR;
          for (let j = i; j < end && j - i < maxN; j++) {
            h = mix(h, marked[j]);
            if (j - i + 1 >= minN) ids[count++] = finish(h, mask);
          }
        }
      }
    }
    return count;
  }

  /**
   * The words of tokenize() (text-features.ts) without its regex: NFKC, lower case, then runs of word
   * characters joined by single apostrophes, exactly what TOKEN_RE matches, into `marked`/`starts`.
   */
  private tokenize(raw: string): void {
    const s = raw.normalize('NFKC').toLowerCase();
    // Code points first (lone surrogates stay as they are, as `for…of` over a string gives them).
    this.text = grown(this.text, s.length);
    const text = this.text;
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const lo = s.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        }
      }
      text[n++] = c;
    }
    // A word of m code points takes m + 2 marked slots, and words are separated, so 2n + 2 always fits.
    this.marked = grown(this.marked, 2 * n + 2);
    this.starts = grown(this.starts, n + 2);
    const { marked, starts } = this;
    let words = 0;
    let at = 0;
    for (let k = 0; k < n; ) {
      if (!isWordChar(text[k])) {
        k++;
        continue;
      }
      starts[words++] = at;
      marked[at++] = BOW;
      for (;;) {
        while (k < n && isWordChar(text[k])) marked[at++] = text[k++];
        if (k + 1 < n && (text[k] === APOSTROPHE || text[k] === RIGHT_QUOTE) && isWordChar(text[k + 1])) {
          marked[at++] = APOSTROPHE;
          k++;
        } else break;
      }
      marked[at++] = EOW;
    }
    starts[words] = at;
    this.words = words;
  }
}
