/**
 * A light check of a WAV header (RIFF/WAVE, PCM 16-bit, mono). Full decoding and features belong to
 * the voice trainer; here we only refuse what it could never read, with a reason naming the field.
 */
import { decodeBase64Prefix } from './base64.js';

/** Bytes decoded to find the `fmt ` chunk; JUNK/LIST chunks before it are rarely larger. */
const WAV_HEADER_SCAN_BYTES = 4096;
const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Sample rate of a valid header, or the reason it is not PCM16 mono WAV. */
export function checkWavBase64(b64: string, path: string): { sampleRate: number } | { reason: string } {
  const buf = decodeBase64Prefix(b64, WAV_HEADER_SCAN_BYTES);
  if (buf === null || buf.length < 12) return { reason: `${path} is not base64 WAV data (too short)` };
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    return { reason: `${path} is not a base64 WAV file (no RIFF/WAVE header)` };
  }
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      if (off + 8 + 16 > buf.length) return { reason: `${path} has a truncated fmt chunk` };
      const format = buf.readUInt16LE(off + 8);
      const channels = buf.readUInt16LE(off + 10);
      const sampleRate = buf.readUInt32LE(off + 12);
      const bits = buf.readUInt16LE(off + 22);
      if (format !== WAVE_FORMAT_PCM && format !== WAVE_FORMAT_EXTENSIBLE) {
        return { reason: `${path} must be PCM WAV, got audio format ${format}` };
      }
      if (channels !== 1) return { reason: `${path} must be mono, got ${channels} channels` };
      if (bits !== 16) return { reason: `${path} must be 16-bit PCM, got ${bits} bits per sample` };
      if (sampleRate === 0) return { reason: `${path} has sample rate 0` };
      return { sampleRate };
    }
    // Chunks are padded to an even size.
    off += 8 + size + (size % 2);
  }
  return { reason: `${path} has no fmt chunk in its first ${WAV_HEADER_SCAN_BYTES} bytes` };
}
