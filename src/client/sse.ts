/**
 * Server-Sent Events parsing, in one place for the CLI, jarvis and the tests (DESIGN: eventsource-parser).
 * Framing only: ids, names and data stay strings here; job-events.ts gives them meaning.
 */
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import { StreamParseError } from './errors.js';

export interface SseMessage {
  /** The `id:` field, if the event had one. */
  id: string | undefined;
  /** The `event:` field; undefined means the default `message`. */
  event: string | undefined;
  /** The `data:` lines joined with `\n`. */
  data: string;
}

export interface ReadSseOptions {
  /** Comment lines (`: keep-alive`), e.g. to note that the connection is alive. */
  onComment?: (comment: string) => void;
  /** The server's `retry:` hint in ms. */
  onRetry?: (ms: number) => void;
  /** Characters one unfinished event may buffer before the stream is rejected. Default 4 MiB. */
  maxBufferChars?: number;
}

/** Job events are a few hundred bytes; anything near this is a broken or hostile stream. */
export const MAX_SSE_BUFFER_CHARS = 4 * 1024 * 1024;

/**
 * Yields each complete event of `source` (a fetch body or any byte/string iterable), in order.
 * An event cut off by the end of the stream is dropped, as the SSE specification says, so a dropped
 * connection never yields half an event. Unknown fields and bad `retry:` values are ignored (also per spec).
 */
export async function* readSse(source: AsyncIterable<Uint8Array | string>, opts: ReadSseOptions = {}): AsyncGenerator<SseMessage> {
  const ready: SseMessage[] = [];
  let fatal: ParseError | undefined;
  const parser = createParser({
    onEvent: (m: EventSourceMessage) => ready.push({ id: m.id, event: m.event, data: m.data }),
    onComment: opts.onComment,
    onRetry: opts.onRetry,
    onError: (e: ParseError) => {
      if (e.type === 'max-buffer-size-exceeded') fatal = e;
    },
    maxBufferSize: opts.maxBufferChars ?? MAX_SSE_BUFFER_CHARS,
  });
  const decoder = new TextDecoder();
  for await (const chunk of source) {
    parser.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    if (fatal) throw new StreamParseError('sse', fatal.message, fatal);
    while (ready.length > 0) yield ready.shift()!;
  }
  const tail = decoder.decode();
  if (tail) parser.feed(tail);
  while (ready.length > 0) yield ready.shift()!;
}
