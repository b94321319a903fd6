/**
 * Newline-delimited JSON, the stream framing the original JARVIS client reads (CONTRACT §3 "Streams").
 * Generic: it yields parsed values; job-events.ts turns job stream lines into typed events.
 */
import { StreamParseError } from './errors.js';

export interface NdjsonOptions {
  /** Characters one line may hold before the stream is rejected. Default 4 MiB. */
  maxLineChars?: number;
}

/** Same bound as SSE: a line this long is a broken stream, not a job event. */
export const MAX_NDJSON_LINE_CHARS = 4 * 1024 * 1024;

/**
 * Yields the parsed JSON value of each non-blank line of `source`, in order. `\r\n` endings are accepted.
 * A last line without a newline is parsed too: fetch reports a connection cut mid-body as an error, so
 * reaching the end means the server closed the stream on purpose.
 */
export async function* ndjsonLines(source: AsyncIterable<Uint8Array | string>, opts: NdjsonOptions = {}): AsyncGenerator<unknown> {
  const max = opts.maxLineChars ?? MAX_NDJSON_LINE_CHARS;
  const decoder = new TextDecoder();
  let buffer = '';
  let lineNo = 0;
  const parse = (line: string): unknown => {
    try {
      return JSON.parse(line);
    } catch (err) {
      throw new StreamParseError('ndjson', `line ${lineNo} is not JSON: ${JSON.stringify(line.slice(0, 120))}`, err);
    }
  };
  for await (const chunk of source) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      lineNo++;
      if (line.trim() !== '') yield parse(line);
    }
    if (buffer.length > max) throw new StreamParseError('ndjson', `line ${lineNo + 1} is longer than ${max} characters`);
  }
  buffer += decoder.decode();
  lineNo++;
  if (buffer.trim() !== '') yield parse(buffer.replace(/\r$/, ''));
}
