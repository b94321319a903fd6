/** Light checks of base64 payloads: only the first bytes are decoded, so a large recording costs nothing here. */

const DATA_URL = /^data:[^,]*;base64,/i;

/** Removes a `data:<mime>;base64,` prefix, which browsers and some clients add. */
export function stripDataUrl(s: string): string {
  const m = DATA_URL.exec(s.slice(0, 128));
  return m === null ? s : s.slice(m[0].length);
}

/**
 * Decodes about the first `bytes` bytes of a base64 string (standard or URL alphabet, line breaks
 * allowed). Returns null when the string has no base64 content at all.
 */
export function decodeBase64Prefix(s: string, bytes: number): Buffer | null {
  // 4 characters carry 3 bytes; take a little more to absorb line breaks and padding.
  const chars = Math.ceil(bytes / 3) * 4 + 64;
  const head = stripDataUrl(s.trimStart()).slice(0, chars).replace(/\s+/g, '');
  const aligned = head.slice(0, head.length - (head.length % 4));
  if (aligned.length === 0) return null;
  const buf = Buffer.from(aligned, aligned.includes('-') || aligned.includes('_') ? 'base64url' : 'base64');
  return buf.length === 0 ? null : buf;
}
