/**
 * Sticky routing (docs/prime-protocol.md): a session goes to the canary when
 * `fnv1a32(model_type + ":" + session_id) mod 10000 < canary_percentage × 100`, hashing the UTF-8 bytes.
 * Hashing the two parts in sequence equals hashing their concatenation, and encoding UTF-8 inline avoids a
 * string and a Buffer per request on the predict path.
 */

/** Buckets a percentage is split into: 0.01 % resolution. */
export const ROUTING_BUCKETS = 10_000;

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const COLON = 0x3a;

function step(h: number, byte: number): number {
  return Math.imul(h ^ byte, FNV_PRIME);
}

/** Continues an FNV-1a 32-bit hash over the UTF-8 encoding of `s` (lone surrogates encode as U+FFFD, like Buffer). */
function hashUtf8(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = step(h, c);
      continue;
    }
    if (c < 0x800) {
      h = step(step(h, 0xc0 | (c >> 6)), 0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        h = step(step(step(step(h, 0xf0 | (c >> 18)), 0x80 | ((c >> 12) & 0x3f)), 0x80 | ((c >> 6) & 0x3f)), 0x80 | (c & 0x3f));
        continue;
      }
      c = 0xfffd;
    }
    h = step(step(step(h, 0xe0 | (c >> 12)), 0x80 | ((c >> 6) & 0x3f)), 0x80 | (c & 0x3f));
  }
  return h;
}

/** FNV-1a 32-bit of the UTF-8 bytes of `s`, as an unsigned integer. */
export function fnv1a32(s: string): number {
  return hashUtf8(FNV_OFFSET_BASIS, s) >>> 0;
}

/** The routing bucket (0–9999) of a session for a model type. */
export function sessionBucket(modelType: string, sessionId: string): number {
  const h = hashUtf8(step(hashUtf8(FNV_OFFSET_BASIS, modelType), COLON), sessionId) >>> 0;
  return h % ROUTING_BUCKETS;
}

/**
 * Buckets below this go to the canary (`percentage` 0–100). For an integer bucket b, `b < p × 100` holds
 * exactly when `b < ceil(p × 100)`, so comparing with the limit is the protocol's formula to the last bit.
 */
export function canaryBucketLimit(percentage: number): number {
  return Math.ceil(percentage * (ROUTING_BUCKETS / 100));
}
